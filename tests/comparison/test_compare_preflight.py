"""Issue 15 item 11: every capability of every model for every evaluation is checked before any model call,
and a failure part-way still leaves a comparison.json of what finished."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import fmops.comparison._engine as engine
from fmops.comparison import ComparisonIncompleteError, Suite, SuiteEvaluation, compare, read_comparison
from fmops.core.errors import BadInputError, RunError
from fmops.models import Capabilities, GenerateRequest, ModelResult, ScoreRequest, register_provider
from fmops.models._api import ModelAPI


class TalkerModel(ModelAPI):
    """Answers every prompt with "Paris"; `scorer*` models also score texts; every call is counted."""

    provider: ClassVar[str] = "talker"
    CALLS: ClassVar[list[str]] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=False, score=self.model.startswith("scorer"))

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        self.CALLS.extend(f"{self.model}:{r.prompt}" for r in requests)
        return [ModelResult(text="Paris", finish_reason="stop") for _ in requests]

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        self.CALLS.extend(f"{self.model}:{r.text}" for r in requests)
        return [ModelResult(text="", logprob=-float(len(r.text))) for r in requests]


register_provider("talker", TalkerModel)


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    TalkerModel.CALLS.clear()
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        "".join(json.dumps({"question": f"Capital {i}?", "answer": "Paris"}) + "\n" for i in range(6))
    )
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"sent_more_input": f"They are lazy {i}.", "sent_less_input": f"They are busy {i}!"})
            + "\n"
            for i in range(6)
        )
    )
    return {"qa": qa, "pairs": pairs}


def _suite(data: dict[str, Path]) -> Suite:
    qa = SuiteEvaluation(
        algorithm="qa_accuracy",
        dataset=str(data["qa"]),
        locations={"model_input": "question", "target_output": "answer"},
        config={"bertscore": False},
    )
    stereotyping = SuiteEvaluation(algorithm="prompt_stereotyping", dataset=str(data["pairs"]))
    return Suite(
        name="caps", num_records=4, evaluations=[qa, qa.model_copy(update={"id": "again"}), stereotyping]
    )


def test_a_model_that_cannot_score_texts_fails_before_any_call(data: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"prompt_stereotyping/pairs: .*talker/plain cannot score texts"):
        compare(_suite(data), ["talker/scorer", "talker/plain"], tmp_path / "c")
    assert TalkerModel.CALLS == []
    assert not (tmp_path / "c").exists()


def test_the_cli_says_so_in_one_line_with_exit_code_2(data: dict[str, Path], tmp_path: Path) -> None:
    from fmops.cli import app

    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(json.dumps(_suite(data).model_dump(mode="json")))  # JSON is YAML
    args = ["compare", "--suite", str(suite_file), "-m", "talker/scorer", "-m", "talker/plain"]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot score texts" in lines[0], result.output
    assert TalkerModel.CALLS == []


def test_models_that_can_do_everything_run_the_whole_suite(data: dict[str, Path], tmp_path: Path) -> None:
    comparison = compare(_suite(data), ["talker/scorer"], tmp_path / "c")
    assert comparison.complete and not comparison.failures
    assert {s.evaluation for s in comparison.scores} == {
        "qa_accuracy/qa",
        "again",
        "prompt_stereotyping/pairs",
    }


def test_a_late_failure_still_writes_what_finished(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = engine.evaluate

    def evaluate(algorithm: str, **kwargs: Any) -> Any:
        if algorithm == "prompt_stereotyping" and kwargs["model"].name == "talker/scorer":
            raise RunError("the endpoint went away")
        return real(algorithm, **kwargs)

    monkeypatch.setattr(engine, "evaluate", evaluate)
    out = tmp_path / "c"
    with pytest.raises(
        ComparisonIncompleteError, match="talker/scorer on prompt_stereotyping/pairs"
    ) as caught:
        compare(_suite(data), ["talker/scorer", "talker/scorer2"], out)
    assert "comparison.json holds the 5 runs that finished" in str(caught.value)
    written = read_comparison(out)
    assert written == caught.value.comparison
    assert not written.complete
    assert [(f.model, f.evaluation, f.error) for f in written.failures] == [
        ("talker/scorer", "prompt_stereotyping/pairs", "the endpoint went away")
    ]
    done = {(s.model, s.evaluation) for s in written.scores}
    assert ("talker/scorer", "again") in done and ("talker/scorer2", "prompt_stereotyping/pairs") in done
    assert ("talker/scorer", "prompt_stereotyping/pairs") not in done
    assert written.runs["talker/scorer"].keys() == {"qa_accuracy/qa", "again"}
