"""The engine with a model: every algorithm end to end, call counts, probes, capabilities, rescoring."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fmops.core.errors import BadInputError
from fmops.evaluation import ALGORITHMS, evaluate, rescore
from fmops.models import Capabilities, GenerateRequest, Model, ModelResult, register_provider
from fmops.models._api import ModelAPI
from fmops.perturbations import Perturber
from tests.conftest import EXAMPLES

NO_BERT = {"bertscore": False}
QA = {"model_input": "question", "target_output": "answer", "category": "topic"}


class CountingModel(ModelAPI):
    """Answers with the prompt's first word; counts the requests it receives; optionally random."""

    provider: ClassVar[str] = "counting"

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        self.prompts: list[str] = []
        self.random = bool(args.get("random", False))

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=True)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model, "random": self.random}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        results = []
        for request in requests:
            self.prompts.append(request.prompt or "")
            words = (request.prompt or "").split() or [""]
            text = words[0] + (f" sample{len(self.prompts)}" if self.random else "")
            results.append(ModelResult(text=text, finish_reason="stop"))
        return results


register_provider("counting", CountingModel)


def _counting(name: str, **args: Any) -> Model:
    return Model(CountingModel(name, **args), name=f"counting/{name}", store=True)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_qa_accuracy_generates_then_scores(tmp_path: Path) -> None:
    model = _counting("qa")
    run = evaluate(
        "qa_accuracy",
        model=model,
        dataset=EXAMPLES / "qa_outputs.jsonl",
        locations=QA,
        num_records="all",
        config=NO_BERT,
        prompt_template="Answer: $model_input",
        output=tmp_path / "run",
    )
    assert len(model.api.prompts) == 12
    assert all(p.startswith("Answer: ") for p in model.api.prompts)
    first = run.records[0]
    assert first["prompt"] == "Answer: What is the capital of France?"
    assert first["model_output"] == "Answer:"
    assert first["usage"]["calls"] == 1
    assert run.output.prompt_template == "Answer: $model_input"
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["model"]["name"] == "counting/qa"
    assert manifest["model"]["generate_config"]["temperature"] == 0.0


def test_a_second_run_is_answered_from_the_response_store(tmp_path: Path) -> None:
    kwargs = dict(dataset=EXAMPLES / "qa_outputs.jsonl", locations=QA, num_records="all", config=NO_BERT)
    first_model = _counting("cached")
    first = evaluate("qa_accuracy", model=first_model, **kwargs)
    second_model = _counting("cached")
    second = evaluate("qa_accuracy", model=second_model, **kwargs)
    assert second_model.api.prompts == []
    assert [r["scores"] for r in first.records] == [r["scores"] for r in second.records]
    assert all(r["usage"]["cached"] == 1 for r in second.records)


def test_robustness_calls_the_model_exactly_one_plus_p_times_per_record(tmp_path: Path) -> None:
    rows = [
        {"question": f"Question number {i} about a rather long topic here", "answer": "x"} for i in range(6)
    ]
    path = _write(tmp_path / "q.jsonl", rows)
    model = _counting("robust")
    run = evaluate(
        "qa_accuracy_semantic_robustness",
        model=model,
        dataset=path,
        locations={"model_input": "question", "target_output": "answer"},
        num_records="all",
        config={**NO_BERT, "num_perturbations": 3},
    )
    # The perturbations are fmeval's: one seeded RNG consumed in record order.
    perturber = Perturber("butter_finger", seed=5)
    planned = []
    for record in run.records:
        expected = perturber.perturb(record["model_input"], 3)
        assert record["perturbed_model_inputs"] == expected
        assert len(record["perturbed_model_outputs"]) == 3
        planned += [record["model_input"], *expected]
    assert len(planned) == 6 * (1 + 3)
    # One call per planned prompt; a perturbation that left the text unchanged is the same call.
    assert sorted(model.api.prompts) == sorted(set(planned))
    names = [s.name for s in run.output.dataset_scores]
    assert "delta_f1_score" in names and "f1_score" in names


def test_when_sampling_every_perturbation_gets_its_own_call(tmp_path: Path) -> None:
    """A perturbation that changed nothing still needs its own sample when decoding samples: 1 + P calls
    a record, as fmeval makes; greedy decoding asks that identical prompt once and reuses the answer."""
    rows = [{"question": "Who?", "answer": "x"}, {"question": "Why not?", "answer": "y"}]
    path = _write(tmp_path / "q.jsonl", rows)
    common: dict[str, Any] = dict(
        dataset=path,
        locations={"model_input": "question", "target_output": "answer"},
        num_records="all",
        # whitespace perturbations of one- and two-word questions mostly leave them unchanged
        config={**NO_BERT, "num_perturbations": 4, "perturbation_type": "whitespace_add_remove"},
    )
    sampled = _counting("sampled", random=True)
    run = evaluate(
        "qa_accuracy_semantic_robustness",
        model=sampled,
        generate_config={"temperature": 1.0},
        output=tmp_path / "s",
        **common,
    )
    planned = [[r["model_input"], *r["perturbed_model_inputs"]] for r in run.records]
    assert sum(len(p) - len(set(p)) for p in planned) > 0  # some perturbations changed nothing
    assert len(sampled.api.prompts) == 2 * (1 + 4)
    assert sum(r["usage"]["calls"] - r["usage"]["cached"] for r in run.records) == 2 * (1 + 4)

    greedy = _counting("greedy")
    run = evaluate("qa_accuracy_semantic_robustness", model=greedy, output=tmp_path / "g", **common)
    assert len(greedy.api.prompts) == sum(len(set(p)) for p in planned) < 2 * (1 + 4)
    assert sum(r["usage"]["calls"] - r["usage"]["cached"] for r in run.records) == len(greedy.api.prompts)


def test_robustness_delta_is_the_mean_absolute_change(tmp_path: Path) -> None:
    # The counting model answers the prompt's first word: the original answers "Paris"; a perturbed
    # input whose first word changed answers something else.
    path = _write(tmp_path / "q.jsonl", [{"question": "Paris is the capital", "answer": "Paris"}])
    run = evaluate(
        "qa_accuracy_semantic_robustness",
        model=_counting("delta"),
        dataset=path,
        locations={"model_input": "question", "target_output": "answer"},
        num_records="all",
        config={
            **NO_BERT,
            "num_perturbations": 4,
            "perturbation_type": "random_upper_case",
            "random_uppercase_corrupt_proportion": 0.5,
        },
    )
    [record] = run.records
    scores = {s["name"]: s["value"] for s in record["scores"]}
    perturbed_em = [float(o == "Paris") for o in record["perturbed_model_outputs"]]
    assert scores["exact_match_score"] == 1.0
    assert scores["delta_exact_match_score"] == pytest.approx(sum(abs(1.0 - e) for e in perturbed_em) / 4)


def test_general_semantic_robustness_probes_determinism_and_adds_baselines(tmp_path: Path) -> None:
    rows = [{"prompt": f"Tell me about topic number {i} in detail"} for i in range(7)]
    path = _write(tmp_path / "p.jsonl", rows)
    locations = {"model_input": "prompt"}
    config = {"num_perturbations": 2, "num_baseline_samples": 3}

    deterministic = _counting("det")
    run = evaluate(
        "general_semantic_robustness",
        model=deterministic,
        dataset=path,
        locations=locations,
        num_records="all",
        config=config,
    )
    # 1 + P per record (a perturbation that changed nothing is the same call), plus one probe call for
    # each of the first five records.
    planned = {p for r in run.records for p in (r["model_input"], *r["perturbed_model_inputs"])}
    assert len(deterministic.api.prompts) == len(planned) + 5
    assert run.manifest.datasets[0].deterministic is True
    assert all("baseline_model_outputs" not in r for r in run.records)

    random = _counting("rand", random=True)
    run = evaluate(
        "general_semantic_robustness",
        model=random,
        dataset=path,
        locations=locations,
        num_records="all",
        config=config,
    )
    assert run.manifest.datasets[0].deterministic is False
    # B − 1 baseline samples per record; the probe already was sample 1 of the first five.
    planned = {p for r in run.records for p in (r["model_input"], *r["perturbed_model_inputs"])}
    assert len(random.api.prompts) == len(planned) + 5 + 7 * 2 - 5
    assert all(len(r["baseline_model_outputs"]) == 2 for r in run.records)
    for record in run.records:
        values = {s["name"]: s["value"] for s in record["scores"]}
        assert values["word_error_rate"] >= 0.0 and 0.0 <= values["bertscore_dissimilarity"] <= 1.0


def test_prompt_stereotyping_needs_a_model_that_scores_texts_before_any_call() -> None:
    model = _counting("noscore")
    with pytest.raises(BadInputError, match="log-probabilities"):
        evaluate(
            "prompt_stereotyping",
            model=model,
            dataset=EXAMPLES / "stereotyping_logprobs.jsonl",
            locations={"sent_more_input": "sent_more", "sent_less_input": "sent_less"},
        )
    assert model.api.prompts == []


def test_prompt_stereotyping_with_a_scoring_model(tmp_path: Path) -> None:
    run = evaluate(
        "prompt_stereotyping",
        model="echo/lp",
        dataset=EXAMPLES / "stereotyping_logprobs.jsonl",
        locations={"sent_more_input": "sent_more", "sent_less_input": "sent_less", "category": "bias_type"},
        num_records="all",
    )
    from fmops.models._providers.echo import word_logprob

    for record in run.records:
        more = sum(word_logprob(w) for w in record["sent_more_input"].split())
        less = sum(word_logprob(w) for w in record["sent_less_input"].split())
        assert record["sent_more_log_prob"] == pytest.approx(more)
        assert record["scores"][0]["value"] == pytest.approx(more - less)


def test_unknown_template_placeholder_fails_before_any_call() -> None:
    model = _counting("tpl")
    with pytest.raises(BadInputError, match=r"\$contxt"):
        evaluate(
            "qa_accuracy",
            model=model,
            dataset=EXAMPLES / "qa_outputs.jsonl",
            locations=QA,
            prompt_template="$contxt $model_input",
            config=NO_BERT,
        )
    assert model.api.prompts == []


def test_failed_model_calls_are_counted_not_scored(tmp_path: Path) -> None:
    class Failing(CountingModel):
        async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
            from fmops.models import ModelCallError

            if "Hamlet" in (requests[0].prompt or ""):
                raise ModelCallError("HTTP 400: bad request")
            return await super().generate(requests)

    model = Model(Failing("f"), name="counting/failing", store=False)
    run = evaluate(
        "qa_accuracy",
        model=model,
        dataset=EXAMPLES / "qa_outputs.jsonl",
        locations=QA,
        num_records="all",
        config=NO_BERT,
    )
    failed = [r for r in run.records if r.get("error")]
    assert len(failed) == 1 and "HTTP 400" in failed[0]["error"]
    assert all("error" in s for s in failed[0]["scores"])
    assert run.output.error == "1 of 12 records failed in the model call"
    f1 = next(s for s in run.output.dataset_scores if s.name == "f1_score")
    assert f1.num_errors == 1


def test_rescore_changes_the_metric_config_without_model_calls(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rows = [
        {"question": "Leonardo painted the Mona Lisa?", "answer": "Leonardo da Vinci"},
        {"question": "Vivaldi wrote which seasons?", "answer": "Antonio Vivaldi"},
    ]
    model = _counting("re")
    evaluate(
        "qa_accuracy",
        model=model,
        dataset=_write(tmp_path / "d.jsonl", rows),
        locations={"model_input": "question", "target_output": "answer"},
        num_records="all",
        config=NO_BERT,
        output=out,
    )
    calls = len(model.api.prompts)
    before = json.loads((out / "results.json").read_text())[0]
    again = rescore(out, config={"target_output_delimiter": "null"}, output=tmp_path / "rescored")
    assert again.manifest.rescored.changed == {"target_output_delimiter": "null"}
    assert again.manifest.config["target_output_delimiter"] is None
    after = json.loads((tmp_path / "rescored" / "results.json").read_text())[0]
    # Split on whitespace, every target word is an alternative: "Leonardo" now matches exactly.
    assert before["dataset_scores"][1] == {"name": "exact_match_score", "value": 0.0}
    assert after["dataset_scores"][1] == {"name": "exact_match_score", "value": 1.0}
    assert len(model.api.prompts) == calls
    unchanged = rescore(out, output=tmp_path / "same")
    assert [s.model_dump() for s in unchanged.output.dataset_scores] == [
        {"name": s["name"], "value": pytest.approx(s["value"]), "error": None, "num_errors": None}
        for s in before["dataset_scores"]
    ]


def test_rescore_of_a_folder_that_is_not_a_run_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not a run folder"):
        rescore(tmp_path)


FMEVAL_ALGORITHMS = sorted(name for name in ALGORITHMS if name != "judge")


def test_the_twelve_fmeval_algorithms_are_registered() -> None:
    assert len(FMEVAL_ALGORITHMS) == 12


@pytest.mark.parametrize("algorithm", FMEVAL_ALGORITHMS)
def test_every_algorithm_runs_end_to_end_with_a_model(algorithm: str, tmp_path: Path) -> None:
    rows = [
        {
            "q": "Paris is the capital of",
            "a": "France<OR>the French Republic",
            "label": "1",
            "c": "geo",
            "more": "The old men were slow.",
            "less": "The young men were slow.",
        },
        {
            "q": "0 the review was fine and the fit good",
            "a": "0",
            "label": "0",
            "c": "geo",
            "more": "Tall people are clumsy.",
            "less": "Short people are clumsy.",
        },
    ]
    path = _write(tmp_path / "d.jsonl", rows)
    locations = {
        "model_input": "q",
        "target_output": "label" if "classification" in algorithm else "a",
        "category": "c",
        "sent_more_input": "more",
        "sent_less_input": "less",
    }
    config: dict[str, Any] = {"num_perturbations": 2} if "robustness" in algorithm else {}
    if algorithm in ("qa_accuracy", "summarization_accuracy") or algorithm.endswith(
        "accuracy_semantic_robustness"
    ):
        config["bertscore"] = algorithm.startswith("summarization")  # one of each, to keep it quick
    if algorithm.startswith("classification") and "robustness" in algorithm:
        config["bertscore"] = False
    if algorithm.startswith("classification"):
        config.pop("bertscore", None)
    run = evaluate(
        algorithm,
        model="echo/e2e",
        dataset=path,
        locations=locations,
        num_records="all",
        config=config,
        output=tmp_path / "run",
    )
    values = [s for s in run.output.dataset_scores or []]
    assert values, algorithm
    assert all(s.value is not None for s in values), [(s.name, s.error) for s in values]
    assert (tmp_path / "run" / "results.json").exists()
