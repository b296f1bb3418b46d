"""The `human_review` step type (the web console's review gate, registered through the
`fmops.pipeline_steps` entry point): a pipeline YAML uses it, and it passes, fails, or is inconclusive
until the reviewers have answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from fmops.pipelines import STEPS, load_pipeline, pipeline_schema, run_pipeline
from fmops.store import open_database
from fmops.web import RunIndex
from fmops.web import _review as review
from tests.web._folders import write_run


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A loopback receiver for the `notify` step that follows the gate."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def _pipeline(tmp_path: Path, run: Path, url: str, hook: str) -> Path:
    path = tmp_path / "release.yaml"
    path.write_text(
        "name: release\n"
        "steps:\n"
        "  - id: people\n"
        "    type: human_review\n"
        f"    with: {{run: {run}, queue: helpful, min_value: 0.7, min_answers: 4, store: '{url}'}}\n"
        "  - id: ship\n"
        "    type: notify\n"
        "    needs: [people]\n"
        f"    with: {{message: shipped, url: '{hook}'}}\n",
        encoding="utf-8",
    )
    return path


def test_the_step_type_is_registered_and_in_the_schema() -> None:
    assert "human_review" in STEPS
    types = pipeline_schema()["properties"]["steps"]["items"]["properties"]["type"]["enum"]
    assert "human_review" in types


def test_a_pipeline_gated_on_human_review(
    tmp_path: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    run = write_run(tmp_path / "runs" / "candidate", records=10)
    url = f"sqlite:///{tmp_path / 'fmops.sqlite'}"
    engine = open_database(url)
    index = RunIndex(tmp_path / "index.sqlite", [run.parent])
    index.refresh()
    review.add_reviewer(engine, "ann")
    spec = review.QueueSpec(
        name="helpful", run_id=index.runs()[0][0].id, dataset="capitals", reviewers=["ann"], size=4
    )
    items = review.items(engine, review.create_queue(engine, index, spec, "admin"), "ann")
    pipeline = load_pipeline(_pipeline(tmp_path, run, url, webhook[0]))

    waiting = run_pipeline(pipeline)  # nobody has answered: the gate cannot decide, nothing ships
    assert waiting.step("people").gate == "inconclusive"
    assert "0 answers, 4 needed" in waiting.step("people").summary
    assert waiting.step("ship").status == "skipped" and webhook[1] == []

    for item in items:
        review.answer(engine, item.id, "ann", rating=5)
    passed = run_pipeline(pipeline)
    assert passed.step("people").gate == "pass" and passed.step("people").outputs["value"] == 1.0
    assert passed.step("ship").status == "done" and [m["message"] for m in webhook[1]] == ["shipped"]

    for item in items:  # changed answers change the step's key: the cached pass is not reused
        review.answer(engine, item.id, "ann", rating=2)
    failed = run_pipeline(pipeline)
    assert failed.step("people").gate == "fail" and failed.step("people").outputs["value"] == 0.25
    assert failed.step("ship").status == "skipped" and len(webhook[1]) == 1
