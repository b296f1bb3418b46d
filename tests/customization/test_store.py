"""Experiment runs in the fmops database: the same record on SQLite and on PostgreSQL (own schema)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.customization import compare_runs, get_run, list_runs
from fmops.customization._experiments import ExperimentRecorder


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None  # FMOPS_HOME's SQLite, this test's own
        return
    pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, text

    schema = f"fmops_exp_{uuid.uuid4().hex[:10]}"
    yield f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}"
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _record(recorder: ExperimentRecorder, name: str, lr: float) -> str:
    run_id = recorder.start(
        run_id=None,
        name=name,
        base="zoo/base-nodomain",
        method="lora",
        params={"learning_rate": lr, "lora_r": 32},
        data_files=[
            {
                "role": "train",
                "path": "t.jsonl",
                "sha256": "ab" * 32,
                "format": "prompt-completion",
                "records": 3,
                "truncated": 0,
            }
        ],
        base_fingerprint="f" * 32,
        hardware={"cpus": 2},
        versions={"trl": "1.0"},
        model_spec=f"finetuned/{name}",
    )
    recorder.metrics(run_id, {1: {"loss": 3.0 - lr * 100, "learning_rate": lr}})
    recorder.metrics(run_id, {step: {"loss": 3.0 - step * lr * 100, "learning_rate": lr} for step in (2, 3)})
    recorder.checkpoint(run_id, 2, "/ckpt/checkpoint-2")
    return run_id


def test_runs_are_stored_listed_shown_and_compared(store_url: str | None) -> None:
    recorder = ExperimentRecorder(store_url)
    first = _record(recorder, "a", 0.001)
    recorder.finish(
        first, "completed", final_metrics={"train_loss": 2.8}, artefacts={"adapter": "/a"}, duration_s=1.5
    )
    second = _record(recorder, "b", 0.003)
    recorder.finish(second, "failed", error="boom")

    runs = list_runs(store_url)
    assert {r.id for r in runs} == {first, second}
    detail = get_run(first, store_url)
    assert detail.status == "completed" and detail.final_metrics == {"train_loss": 2.8}
    assert detail.metrics["loss"] == [
        (1, pytest.approx(2.9)),
        (2, pytest.approx(2.8)),
        (3, pytest.approx(2.7)),
    ]
    assert detail.checkpoints[0]["step"] == 2 and detail.data_files[0]["sha256"] == "ab" * 32
    assert (
        detail.hardware == {"cpus": 2} and detail.duration_s == 1.5 and detail.artefacts == {"adapter": "/a"}
    )
    assert get_run(second, store_url).error == "boom" and get_run("b", store_url).id == second
    assert [r.params["learning_rate"] for r in compare_runs([first, second], store_url)] == [0.001, 0.003]

    # A resumed run continues its row: steps past its checkpoint are dropped, then logged again.
    assert (
        recorder.start(
            run_id=first,
            name="a",
            base="x",
            method="lora",
            params={},
            data_files=[],
            base_fingerprint="",
            hardware={},
            versions={},
            model_spec="",
        )
        == first
    )
    recorder.forget_after(first, 2)
    resumed = get_run(first, store_url)
    assert resumed.status == "running" and [s for s, _ in resumed.metrics["loss"]] == [1, 2]

    with pytest.raises(BadInputError, match="is no run id or name"):
        get_run("nope", store_url)
    store = [] if store_url is None else ["--store", store_url]
    listed = CliRunner().invoke(app, ["runs", "list", "--format", "json", *store])
    assert listed.exit_code == 0, listed.output
    assert {(r["id"], r["status"]) for r in json.loads(listed.output)} == {
        (first, "running"),
        (second, "failed"),
    }
    missing = CliRunner().invoke(app, ["runs", "compare", first, *store])
    assert missing.exit_code == 2 and "at least two" in missing.output
    # A name wins over an id prefix: a run named like the start of another run's id is found by its name.
    named = _record(recorder, first[:4], 0.002)
    assert get_run(first[:4], store_url).id == named and get_run(first[:6], store_url).id == first
