"""Plans and the engine's input checks: each input checked once, errors naming the engine's fields."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fmops.core.errors import FieldError
from fmops.evaluation import dataset_plans, evaluate, get_algorithm
from fmops.evaluation.algorithms import ModelCall
from fmops.evaluation.algorithms.qa_accuracy import QAAccuracy
from fmops.evaluation.plans import bad_record_policy, sample_size
from fmops.evaluation.prompts import PromptTemplate
from fmops.models import (
    Capabilities,
    CapabilityError,
    GenerateRequest,
    Model,
    ModelAPI,
    ModelResult,
    get_model,
)
from tests.conftest import EXAMPLES

QA = {"model_input": "question", "target_output": "answer"}


@pytest.mark.parametrize(("given", "size"), [(None, 100), ("all", None), (7, 7), ("7", 7)])
def test_sample_size(given: Any, size: int | None) -> None:
    assert sample_size(get_algorithm("qa_accuracy"), given) == size


@pytest.mark.parametrize("bad", [0, -3, "-3", "many", True, 1.5])
def test_a_bad_sample_size_names_the_field(bad: Any) -> None:
    with pytest.raises(FieldError) as caught:
        sample_size(get_algorithm("qa_accuracy"), bad)
    assert caught.value.fields == ("num_records",)
    assert str(caught.value).startswith("num_records expects a positive integer or 'all'")
    assert caught.value.spelled({"num_records": "--num-records"}).startswith("--num-records expects")


def test_bad_record_policy() -> None:
    assert bad_record_policy("skip") == "skip"
    with pytest.raises(FieldError, match="on_bad_record must be 'fail' or 'skip', got 'ignore'"):
        bad_record_policy("ignore")


def test_the_engine_checks_its_inputs_before_any_work(tmp_path: Path) -> None:
    data = str(EXAMPLES / "qa_outputs.jsonl")
    with pytest.raises(FieldError, match="on_bad_record"):
        evaluate("qa_accuracy", dataset=data, locations=QA, on_bad_record="ignore", output=tmp_path / "o")
    with pytest.raises(FieldError, match="model_args and prompt_template need model"):
        evaluate("qa_accuracy", dataset=data, locations=QA, model_args=["a=1"])
    with pytest.raises(FieldError, match="no dataset: pass dataset PATH or a data_config file"):
        evaluate("qa_accuracy")
    assert not (tmp_path / "o").exists()


def test_dataset_plans_carry_the_columns_and_template_of_each_dataset() -> None:
    algo = get_algorithm("factual_knowledge")
    [given] = dataset_plans(algo, EXAMPLES / "factual_outputs.jsonl", with_model=False)
    assert given.required_columns == algo.required_columns and given.template is None
    assert given.config.dataset_name == "factual_outputs"
    [builtin] = dataset_plans(algo, "world_trex", with_model=True)
    assert builtin.required_columns == algo.model_required_columns != algo.required_columns
    assert builtin.config.dataset_name == "world_trex" and builtin.template == "$model_input"


class _NoScores(ModelAPI):
    provider: ClassVar[str] = "noscores"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(score=False)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        return [ModelResult(text="x") for _ in requests]


class _LogProbQA(QAAccuracy):
    """Any algorithm (not only prompt_stereotyping) can say the model must score texts."""

    eval_name: ClassVar[str] = "logprob_qa"
    needs_model_scores: ClassVar[bool] = True

    def model_calls(self, record: dict[str, Any], template: PromptTemplate) -> list[ModelCall]:
        return [ModelCall("model_output", "score", template.render(record))]


def test_what_an_algorithm_needs_of_a_model_is_its_own_declaration() -> None:
    with pytest.raises(CapabilityError, match="logprob_qa needs log-probabilities"):
        evaluate(
            _LogProbQA(),
            model=Model(_NoScores("m")),
            dataset=str(EXAMPLES / "qa_outputs.jsonl"),
            locations=QA,
        )


def test_a_model_carries_the_spec_it_was_built_from() -> None:
    assert get_model("echo/e", ["latency=0"]).built_from == ("echo/e", ["latency=0"])
    assert get_model("echo/e", {"latency": 0}).built_from == ("echo/e", {"latency": 0})
    assert Model(_NoScores("m")).built_from is None  # made by hand: a Ray worker gets it pickled
