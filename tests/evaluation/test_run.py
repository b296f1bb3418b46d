"""The engine end to end through the Python API: run folders, sampling, data configs, bad records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig
from fmops.evaluation import evaluate
from tests.conftest import EXAMPLES

NO_BERT = {"bertscore": False}


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_run_folder_has_fmeval_shaped_results_records_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = evaluate(
        "qa_accuracy",
        data_config=EXAMPLES / "qa_data_config.json",
        num_records="all",
        config={"bertscore": False},
        output=out,
    )

    results = json.loads((out / "results.json").read_text())
    assert isinstance(results, list) and len(results) == 1
    result = results[0]
    assert set(result) >= {
        "eval_name",
        "dataset_name",
        "dataset_scores",
        "category_scores",
        "prompt_template",
        "output_path",
        "error",
    }
    assert result["eval_name"] == "qa_accuracy" and result["dataset_name"] == "example_qa"
    assert [s["name"] for s in result["dataset_scores"]] == [
        "f1_score",
        "exact_match_score",
        "quasi_exact_match_score",
        "precision_over_words",
        "recall_over_words",
    ]
    assert all(set(s) == {"name", "value"} for s in result["dataset_scores"])
    assert [c["name"] for c in result["category_scores"]] == sorted(
        c["name"] for c in result["category_scores"]
    )
    assert result["output_path"] == str(out / "records" / "qa_accuracy_example_qa.jsonl")

    lines = (out / "records" / "qa_accuracy_example_qa.jsonl").read_text().splitlines()
    assert len(lines) == 12
    first = json.loads(lines[0])
    assert list(first)[:5] == ["model_input", "model_output", "target_output", "category", "scores"]
    assert first["row"] == 0  # "all" keeps file order
    assert {s["name"] for s in first["scores"]} == {s["name"] for s in result["dataset_scores"]}

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["algorithm"] == "qa_accuracy"
    assert manifest["config"] == {
        "target_output_delimiter": "<OR>",
        "bertscore": False,
        "model_type_for_bertscore": None,
    }
    [entry] = manifest["datasets"]
    assert len(entry["sha256"]) == 64
    assert entry["sampling"] == {"num_records": "all", "seed": 1234, "rows": list(range(12))}
    assert manifest["model"] is None
    assert run.output.score("exact_match_score") == pytest.approx(
        sum(json.loads(line)["scores"][1]["value"] for line in lines) / 12
    )


def test_hand_checked_qa_scores_on_the_example() -> None:
    run = evaluate(
        "qa_accuracy",
        data_config=EXAMPLES / "qa_data_config.json",
        num_records="all",
        config={"bertscore": False},
    )
    by_row = {r["row"]: {s["name"]: s["value"] for s in r["scores"]} for r in run.records}
    assert by_row[0]["exact_match_score"] == 1.0  # "Paris" == "Paris"
    assert (
        by_row[2]["exact_match_score"] == 0.0 and by_row[2]["quasi_exact_match_score"] == 1.0
    )  # "au" vs "Au"
    # "It was written by Shakespeare." vs "Shakespeare": tokens {it, was, written, by, shakespeare} -> P=1/5, R=1
    assert by_row[1]["precision_over_words"] == pytest.approx(0.2)
    assert by_row[1]["recall_over_words"] == 1.0
    assert by_row[1]["f1_score"] == pytest.approx(2 * 0.2 / 1.2)
    assert by_row[4]["f1_score"] == 0.0  # Jupiter is not Mars


def test_sampling_follows_fmeval_and_records_the_rows(tmp_path: Path) -> None:
    rows = [{"q": f"q{i}", "a": "x", "o": "x" if i % 2 else "y"} for i in range(50)]
    path = _write_jsonl(tmp_path / "d.jsonl", rows)
    locations = {"target_output": "a", "model_output": "o", "model_input": "q"}
    run = evaluate("qa_accuracy", config=NO_BERT, dataset=path, locations=locations, num_records=10)
    sampled = run.manifest.datasets[0].sampling["rows"]
    assert len(sampled) == 10 and len(set(sampled)) == 10
    assert [r["row"] for r in run.records] == sampled
    assert [r["model_input"] for r in run.records] == [f"q{i}" for i in sampled]
    again = evaluate("qa_accuracy", config=NO_BERT, dataset=path, locations=locations, num_records=10)
    assert again.manifest.datasets[0].sampling["rows"] == sampled


def test_factual_knowledge_defaults_to_300_records(tmp_path: Path) -> None:
    rows = [{"target_output": "x", "model_output": "x"} for _ in range(400)]
    path = _write_jsonl(tmp_path / "facts.jsonl", rows)
    assert evaluate("factual_knowledge", dataset=path).output.num_records == 300
    assert evaluate("qa_accuracy", config=NO_BERT, dataset=path).output.num_records == 100


def test_required_columns_default_to_their_own_names(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", [{"target_output": "a", "model_output": "a"}])
    run = evaluate("qa_accuracy", config=NO_BERT, dataset=path, num_records="all")
    assert run.output.score("exact_match_score") == 1.0


def test_flags_override_the_data_config_file(tmp_path: Path) -> None:
    rows = [{"question": "q", "answer": "a", "model_output": "b", "alt": "a"}]
    path = _write_jsonl(tmp_path / "d.jsonl", rows)
    config = DataConfig(
        dataset_name="mine",
        dataset_uri=str(path),
        dataset_mime_type="application/jsonlines",
        target_output_location="answer",
        model_output_location="model_output",
    )
    run = evaluate(
        "qa_accuracy",
        config=NO_BERT,
        data_config=config,
        locations={"model_output": "alt"},
        num_records="all",
    )
    assert run.output.dataset_name == "mine"
    assert run.output.score("exact_match_score") == 1.0


def test_bad_records_fail_by_default_and_are_counted_when_skipped(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"target_output": "a", "model_output": "a"}\nnot json\n{"target_output": "b", "model_output": "c"}\n'
    )
    with pytest.raises(BadInputError, match=r"d\.jsonl.*line 2"):
        evaluate("qa_accuracy", dataset=path, num_records="all")
    run = evaluate("qa_accuracy", config=NO_BERT, dataset=path, num_records="all", on_bad_record="skip")
    assert run.output.num_records == 2 and run.output.num_skipped_records == 1
    assert run.manifest.datasets[0].skipped_records == 1


def test_no_dataset_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no dataset"):
        evaluate("qa_accuracy")


@pytest.mark.parametrize("num_records", [0, -3])
def test_num_records_must_be_positive(tmp_path: Path, num_records: int) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", [{"target_output": "a", "model_output": "a"}])
    with pytest.raises(BadInputError, match="num_records"):
        evaluate("qa_accuracy", dataset=path, num_records=num_records)


def test_summarization_requires_the_input_column_like_fmeval(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "s.jsonl", [{"target_output": "a b", "model_output": "a b"}])
    with pytest.raises(BadInputError, match="model_input"):
        evaluate("summarization_accuracy", dataset=path, num_records="all")


def test_every_example_evaluates(tmp_path: Path) -> None:
    cases = {
        "factual_knowledge": (
            "factual_outputs.jsonl",
            {"model_input": "question", "target_output": "answers", "category": "knowledge_category"},
        ),
        "classification_accuracy": (
            "reviews_outputs.jsonl",
            {"model_input": "review", "target_output": "label", "category": "product"},
        ),
        "summarization_accuracy": (
            "summaries_outputs.jsonl",
            {"model_input": "document", "target_output": "summary"},
        ),
        "prompt_stereotyping": (
            "stereotyping_logprobs.jsonl",
            {
                "sent_more_input": "sent_more",
                "sent_less_input": "sent_less",
                "sent_more_log_prob": "logp_more",
                "sent_less_log_prob": "logp_less",
                "category": "bias_type",
            },
        ),
    }
    for algorithm, (file_name, locations) in cases.items():
        run = evaluate(
            algorithm,
            dataset=EXAMPLES / file_name,
            locations=locations,
            num_records="all",
            output=tmp_path / algorithm,
        )
        values = [s.value for s in run.output.dataset_scores or []]
        assert values and all(v is not None and 0.0 <= v <= 1.0 for v in values), (algorithm, values)
    stereo = json.loads((tmp_path / "prompt_stereotyping" / "results.json").read_text())[0]
    # differences: +3.7, -1.6, +1.4, +3.6, -0.6, +1.6 -> 4 of 6 prefer the stereotype
    assert stereo["dataset_scores"] == [{"name": "prompt_stereotyping", "value": pytest.approx(4 / 6)}]
