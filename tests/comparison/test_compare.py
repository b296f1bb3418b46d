"""`compare`: the same records for every model, scores with intervals, paired tests, speed and cost,
and a suite checked whole before any model call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fmops.comparison import Suite, SuiteEvaluation, compare
from fmops.core.errors import BadInputError
from fmops.models import Capabilities, GenerateRequest, ModelResult, Prices, register_provider
from fmops.models._api import ModelAPI

RECORDS = 40


class OracleModel(ModelAPI):
    """Answers QA prompts from `ANSWERS`: `good` always right, `flaky` wrong on every other question,
    `twin` exactly as `good`; every prompt it is sent is counted in `CALLS`."""

    provider: ClassVar[str] = "oracle"
    ANSWERS: ClassVar[dict[str, str]] = {}
    CALLS: ClassVar[list[str]] = []
    default_prices = Prices(input_per_1k=0.5, output_per_1k=1.0)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=False)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        results = []
        for request in requests:
            prompt = request.prompt or ""
            self.CALLS.append(f"{self.model}:{prompt}")
            answer = self.ANSWERS.get(prompt, "no idea")
            number = int(prompt.rsplit(" ", 1)[-1].rstrip("?"))
            if self.model == "flaky" and number % 2:
                answer = "wrong"
            results.append(ModelResult(text=answer, finish_reason="stop", latency_s=0.01 * (1 + number % 3)))
        return results


register_provider("oracle", OracleModel)


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    rows = [
        {
            "question": f"What is the code of item {i}?",
            "answer": f"code{i}",
            "topic": ["odd", "even"][i % 2 == 0],
        }
        for i in range(60)
    ]
    OracleModel.ANSWERS.clear()
    OracleModel.ANSWERS.update({r["question"]: r["answer"] for r in rows})
    OracleModel.CALLS.clear()
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _suite(qa_file: Path, **changes: Any) -> Suite:
    evaluation = {
        "algorithm": "qa_accuracy",
        "dataset": str(qa_file),
        "locations": {"model_input": "question", "target_output": "answer", "category": "topic"},
        "config": {"bertscore": False},
        "prompt_template": "$model_input",
        **changes,
    }
    return Suite(name="t", num_records=RECORDS, evaluations=[SuiteEvaluation(**evaluation)])


def _records(out: Path, model: str) -> list[dict[str, Any]]:
    folder = out / "runs" / model.replace("/", "-") / "qa_accuracy-qa" / "records"
    return [json.loads(line) for path in folder.glob("*.jsonl") for line in path.read_text().splitlines()]


def test_every_model_runs_the_same_sampled_records(qa_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    compare(_suite(qa_file), ["oracle/good", "oracle/flaky"], out)
    good, flaky = _records(out, "oracle/good"), _records(out, "oracle/flaky")
    assert len(good) == len(flaky) == RECORDS
    assert [r["row"] for r in good] == [r["row"] for r in flaky]
    assert sorted(r["row"] for r in good) != list(range(RECORDS))  # sampled, not the first rows


def test_scores_come_with_intervals_and_differences_with_paired_tests(qa_file: Path, tmp_path: Path) -> None:
    comparison = compare(_suite(qa_file), ["oracle/good", "oracle/flaky", "oracle/twin"], tmp_path / "c")
    f1 = {s.model: s for s in comparison.scores if s.score == "f1_score"}
    assert f1["oracle/good"].value == 1.0 and f1["oracle/good"].ci_low == 1.0
    flaky = f1["oracle/flaky"]
    assert flaky.value is not None and flaky.ci_low is not None and flaky.ci_high is not None
    assert flaky.ci_low < flaky.value < flaky.ci_high and flaky.n == RECORDS
    assert 0.3 < flaky.value < 0.7
    tests = {
        (c.model_a, c.model_b): c
        for c in comparison.comparisons
        if c.score == "f1_score" and c.evaluation == "qa_accuracy/qa"
    }
    beyond = tests[("oracle/good", "oracle/flaky")]
    assert beyond.significant and beyond.p_value is not None and beyond.p_value < 0.001
    assert beyond.verdict == "oracle/good is better" and beyond.difference == pytest.approx(1 - flaky.value)
    same = tests[("oracle/good", "oracle/twin")]
    assert not same.significant and same.p_value == 1.0 and same.verdict == "within noise"
    assert (tmp_path / "c" / "comparison.json").is_file()


def test_performance_has_latency_tokens_and_cost(qa_file: Path, tmp_path: Path) -> None:
    comparison = compare(_suite(qa_file), ["oracle/good", "oracle/flaky"], tmp_path / "c")
    good = comparison.performance_of("oracle/good")
    assert good is not None
    assert good.records == good.calls == RECORDS and good.errors == 0
    assert good.latency_p50_s == pytest.approx(0.02) and good.latency_p95_s == pytest.approx(0.03)
    assert good.input_tokens > 0 and good.output_tokens > 0
    expected = (good.input_tokens * 0.5 + good.output_tokens * 1.0) / 1000
    assert good.cost == pytest.approx(expected)
    assert good.cost_per_1k_records == pytest.approx(expected / RECORDS * 1000)
    assert good.throughput_rps is not None and good.throughput_rps > 0


@pytest.mark.parametrize(
    ("change", "models", "message"),
    [
        ({}, ["nosuch/model"], "unknown model provider 'nosuch'"),
        ({"algorithm": "qa_accurracy"}, ["oracle/good"], "qa_accurracy"),
        (
            {"locations": {"model_input": "question", "target_output": "solution"}},
            ["oracle/good"],
            "solution",
        ),
        ({"prompt_template": "Q: $model_input ($difficulty)"}, ["oracle/good"], "difficulty"),
        ({"config": {"bertscore": False, "no_such_option": 1}}, ["oracle/good"], "no_such_option"),
    ],
)
def test_bad_suites_fail_before_any_model_call(
    qa_file: Path, tmp_path: Path, change: dict[str, Any], models: list[str], message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        compare(_suite(qa_file, **change), [*models, "oracle/twin"], tmp_path / "c")
    assert OracleModel.CALLS == []
    assert not (tmp_path / "c" / "comparison.json").exists()


def test_a_dataset_without_a_needed_column_names_the_evaluation(qa_file: Path, tmp_path: Path) -> None:
    rows = [{"question": f"q {i}"} for i in range(5)]  # QA needs a target
    no_target = tmp_path / "questions.jsonl"
    no_target.write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = _suite(qa_file, dataset=str(no_target), locations={"model_input": "question"})
    with pytest.raises(BadInputError, match=r"suite evaluation qa_accuracy/questions: .*target_output"):
        compare(suite, ["oracle/good"], tmp_path / "c")
    assert OracleModel.CALLS == []


def test_suite_files_are_checked_with_the_file_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("evaluations: [algorithm: qa_accuracy\n")
    with pytest.raises(BadInputError, match="broken.yaml: not valid YAML"):
        Suite.from_file(broken)
    extra = tmp_path / "extra.yaml"
    extra.write_text("evaluations:\n  - algorithm: qa_accuracy\n    datasett: x.jsonl\n")
    with pytest.raises(BadInputError, match=r"extra.yaml: evaluations.0.datasett"):
        Suite.from_file(extra)
    with pytest.raises(BadInputError, match="no such suite file"):
        Suite.from_file(tmp_path / "missing.yaml")


def test_model_lists_are_checked(qa_file: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no models"):
        compare(_suite(qa_file), [], tmp_path / "c")
    with pytest.raises(BadInputError, match="listed twice"):
        compare(_suite(qa_file), ["oracle/good", "oracle/good"], tmp_path / "c")


def test_suite_paths_are_relative_to_the_suite_file(qa_file: Path, tmp_path: Path) -> None:
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        "name: rel\nnum_records: 5\nmodels: [oracle/good]\nevaluations:\n"
        "  - algorithm: qa_accuracy\n    dataset: qa.jsonl\n"
        "    locations: {model_input: question, target_output: answer}\n    config: {bertscore: false}\n"
    )
    comparison = compare(suite_file, output=tmp_path / "c")  # models from the suite
    assert [m.name for m in comparison.models] == ["oracle/good"]
    assert comparison.suite.evaluations[0].dataset == str(qa_file)
