"""An empty input is refused in-process as the server refuses it (400): an explicit per-request error, no
call, nothing stored (issue 15, item 4)."""

from __future__ import annotations

from pathlib import Path

from fmops.evaluation import evaluate
from fmops.models import ChatMessage, GenerateRequest, ScoreRequest, get_model


def test_an_empty_prompt_is_an_error_without_a_call() -> None:
    model = get_model("echo/e", ["batch_size=4"], store=False)
    batch = model.generate_sync(
        ["hello", "", GenerateRequest(messages=(ChatMessage(role="user", content=""),)), " "]
    )
    assert [r.error is None for r in batch] == [True, False, False, True]
    assert "empty string" in (batch[1].error or "") and batch[1].attempts == 0
    assert batch.summary.errors == 2 and batch.summary.calls == 1  # one call, for the two real inputs
    scored = model.score_sync([ScoreRequest(text=""), ScoreRequest(text="", prefix="so")])
    assert scored[0].error is not None and scored[1].error is None


def test_an_empty_prompt_is_never_stored(tmp_path: Path) -> None:
    model = get_model("echo/e", store=True)
    first = model.generate_sync([""])
    again = model.generate_sync([""])
    assert first[0].error is not None and not again[0].cached
    model.close()


def test_an_evaluation_counts_an_empty_input_as_a_failed_record(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text(
        '{"question": "Capital of France?", "answer": "Paris"}\n{"question": "", "answer": "x"}\n'
    )
    run = evaluate(
        "qa_accuracy",
        model="echo/e",
        dataset=data,
        locations={"model_input": "question", "target_output": "answer"},
        config={"bertscore": False},
        num_records="all",
    )
    [failed] = [r for r in run.records if r.get("error")]
    assert "empty string" in failed["error"] and failed["model_input"] == ""
    assert run.output.error == "1 of 2 records failed in the model call"
