"""Running pipelines: cache hits and misses, gates stopping what depends on them, --fail-on-gate and JUnit,
manual approval, webhooks, resume after SIGKILL, and deploy (start, keep, reload) with one request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.pipelines import list_runs, load_pipeline, read_run, run_pipeline, stop_deployment
from fmops.registry import model_registry, register_model

LOCATIONS = "{model_input: question, target_output: answer}"


def _dataset(path: Path, n: int, start: int = 0) -> Path:
    rows = [{"question": f"What is item {i}?", "answer": f"ans{i}"} for i in range(start, start + n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _gate_pipeline(
    tmp_path: Path, candidate_template: str, *, min_records: int = 20, extra: str = "", approve: str = "auto"
) -> Path:
    """base (echo repeats the question: 0) vs candidate (its template decides), gate, register, approve."""
    text = f"""\
name: gate-demo
params:
  dataset: qa.jsonl
steps:
  - id: base
    type: evaluate
    with: {{model: echo/base, dataset: "${{params.dataset}}", locations: {LOCATIONS}, num_records: all}}
  - id: cand
    type: evaluate
    with:
      model: echo/cand
      dataset: ${{params.dataset}}
      locations: {LOCATIONS}
      num_records: all
      prompt_template: "{candidate_template}"
  - id: gate
    type: condition
    with:
      candidate: ${{steps.cand.outputs.run}}
      baseline: ${{steps.base.outputs.run}}
      min_records: {min_records}
      rules: [{{metric: factual_knowledge, must: improve}}]
  - id: register
    type: register
    needs: [gate]
    with: {{name: qa, model: "${{steps.cand.outputs.model}}", evaluation_runs: ["${{steps.cand.outputs.run}}"]}}
  - id: approve
    type: approve
    with: {{name: qa, version: "${{steps.register.outputs.version}}", mode: {approve}}}
{extra}"""
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


GOOD = "$model_input $target_output"  # the echo model repeats the answer: factual knowledge 1
BAD = "$model_input"  # the echo model repeats the question only: factual knowledge 0, like the base


def _statuses(run: object) -> dict[str, str]:
    return {s.id: s.status for s in run.steps}  # type: ignore[attr-defined]


def test_unchanged_rerun_is_all_cache_hits_and_changed_data_reruns_what_depends_on_it(tmp_path: Path) -> None:
    _dataset(tmp_path / "qa.jsonl", 30)
    _dataset(tmp_path / "other.jsonl", 5, start=100)
    extra = f"""\
  - id: side
    type: evaluate
    with: {{model: echo/side, dataset: other.jsonl, locations: {LOCATIONS}, num_records: all}}
"""
    path = _gate_pipeline(tmp_path, GOOD, extra=extra)
    first = run_pipeline(load_pipeline(path))
    assert first.status == "succeeded" and set(_statuses(first).values()) == {"done"}
    assert first.step("register").outputs["version"] == 1
    assert model_registry().get("qa", 1).status == "Approved"

    again = run_pipeline(load_pipeline(path))
    assert set(_statuses(again).values()) == {"cached"}
    assert [v.version for v in model_registry().show("qa").versions] == [1]  # no new version

    _dataset(tmp_path / "qa.jsonl", 30, start=1)  # the data changes; `side` does not read it
    changed = run_pipeline(load_pipeline(path))
    assert _statuses(changed) == {
        "base": "done",
        "cand": "done",
        "gate": "done",
        "register": "done",
        "approve": "done",
        "side": "cached",
    }
    assert changed.step("register").outputs["version"] == 2
    assert len(list_runs("gate-demo")) == 3


def test_a_failed_gate_stops_what_depends_on_it_and_fails_ci(tmp_path: Path) -> None:
    _dataset(tmp_path / "qa.jsonl", 30)
    path = _gate_pipeline(tmp_path, BAD)
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(
        app, ["pipeline", "run", str(path), "--fail-on-gate", "--junit", str(junit), "-q"]
    )
    assert result.exit_code == 4, result.output
    assert "gate gate: FAILED" in result.stdout
    run = list_runs()[-1]
    assert run.status == "gate_failed"
    assert _statuses(run)["register"] == "skipped" and _statuses(run)["approve"] == "skipped"
    assert "not run: gate gate is fail" in run.step("register").summary
    evidence = json.loads(Path(run.step("gate").outputs["evidence"]).read_text())
    assert evidence["outcome"] == "fail" and evidence["rules"][0]["n"] == 30
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("skipped") == "2"
    failure = suite.find("testcase[@name='condition:gate']/failure")
    assert failure is not None and failure.get("type") == "gate_fail"
    assert "qa" not in model_registry().names()
    # Without --fail-on-gate the pipeline did its job (it stopped the candidate): exit 0.
    assert CliRunner().invoke(app, ["pipeline", "run", str(path), "-q"]).exit_code == 0


def test_a_too_small_eval_set_is_inconclusive_never_a_pass(tmp_path: Path) -> None:
    _dataset(tmp_path / "qa.jsonl", 6)
    path = _gate_pipeline(tmp_path, GOOD, min_records=20)
    result = CliRunner().invoke(app, ["pipeline", "run", str(path), "--fail-on-gate", "-q"])
    assert result.exit_code == 4
    assert "INCONCLUSIVE" in result.stdout
    run = list_runs()[-1]
    assert run.status == "gate_inconclusive" and run.step("gate").gate == "inconclusive"
    assert _statuses(run)["register"] == "skipped"


def test_manual_approval_waits_then_the_next_run_goes_on(tmp_path: Path) -> None:
    _dataset(tmp_path / "qa.jsonl", 30)
    extra = """\
  - id: promote
    type: promote
    needs: [approve]
    with: {name: qa, version: "${steps.register.outputs.version}", alias: production}
"""
    path = _gate_pipeline(tmp_path, GOOD, extra=extra, approve="manual")
    waiting = run_pipeline(load_pipeline(path))
    assert waiting.status == "waiting"
    assert _statuses(waiting)["promote"] == "skipped" and _statuses(waiting)["approve"] == "waiting"
    model_registry().approve("qa", 1, actor="reviewer", reason="looked at the evidence")
    going = run_pipeline(load_pipeline(path))
    assert going.status == "succeeded"
    assert _statuses(going)["register"] == "cached" and _statuses(going)["promote"] == "done"
    assert model_registry().show("qa").aliases == {"production": 1}


class _Hook:
    """A loopback webhook that records bodies; while `hold` is set it keeps requests waiting."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.hold = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.bodies.append(body)
                hook.arrived.set()
                if hook.hold:
                    hook.release.wait(60)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook()
    yield server
    server.close()


def _notify_pipeline(tmp_path: Path, url: str) -> Path:
    _dataset(tmp_path / "qa.jsonl", 5)
    path = tmp_path / "notify.yaml"
    path.write_text(
        f"""\
name: notify-demo
steps:
  - id: evaluate
    type: evaluate
    with: {{model: echo/a, dataset: qa.jsonl, locations: {LOCATIONS}, num_records: all}}
  - id: tell
    type: notify
    with: {{url: "{url}", message: "score ${{steps.evaluate.outputs.score}}", payload: {{run: "${{steps.evaluate.outputs.run}}"}}}}
  - id: register
    type: register
    needs: [tell]
    with: {{name: notified, model: echo/a}}
"""
    )
    return path


def test_notify_posts_the_message_to_the_webhook(tmp_path: Path, hook: _Hook) -> None:
    run = run_pipeline(load_pipeline(_notify_pipeline(tmp_path, hook.url)))
    assert run.status == "succeeded"
    (body,) = hook.bodies
    assert body["pipeline"] == "notify-demo" and body["step"] == "tell" and body["message"] == "score 0.0"
    assert body["payload"]["run"] == run.step("evaluate").outputs["run"]


def test_a_run_killed_with_sigkill_resumes_at_the_step_that_was_running(tmp_path: Path, hook: _Hook) -> None:
    path = _notify_pipeline(tmp_path, hook.url)
    hook.hold = True  # the notify step will hang in its request: kill the run there
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "fmops", "pipeline", "run", str(path), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert hook.arrived.wait(120), "the pipeline never reached its notify step"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    killed = list_runs()[-1]
    assert killed.effective_status() == "interrupted"
    assert _statuses(killed) == {"evaluate": "done", "tell": "running", "register": "pending"}
    status = CliRunner().invoke(app, ["pipeline", "status", killed.id])
    assert "interrupted" in status.stdout

    hook.hold = False
    hook.release.set()
    resumed = run_pipeline(load_pipeline(path))
    assert _statuses(resumed) == {"evaluate": "cached", "tell": "done", "register": "done"}
    assert len(hook.bodies) == 2  # the killed attempt's request, then the resumed one
    assert read_run(resumed.id).status == "succeeded"


def test_deploy_starts_keeps_and_reloads_an_fmops_serve_process(tmp_path: Path) -> None:
    register_model("chat", "echo/v1", args={"prefix": "one:"})
    register_model("chat", "echo/v2", args={"prefix": "two:"})
    registry = model_registry()
    registry.approve("chat", 1)
    registry.approve("chat", 2)
    registry.promote("chat", 1, "production")
    path = tmp_path / "deploy.yaml"
    path.write_text(
        """\
name: deploy-demo
steps:
  - id: deploy
    type: deploy
    with: {name: chat, alias: production, request: "hello there", max_tokens: 8}
"""
    )
    try:
        first = run_pipeline(load_pipeline(path)).step("deploy")
        assert first.status == "done", first.error
        assert first.outputs["action"] == "started" and first.outputs["version"] == 1
        assert first.outputs["response"].startswith("one:")
        assert run_pipeline(load_pipeline(path)).step("deploy").status == "cached"
        registry.promote("chat", 2, "production")
        reloaded = run_pipeline(load_pipeline(path)).step("deploy")
        assert reloaded.outputs["action"] == "reloaded" and reloaded.outputs["version"] == 2
        assert reloaded.outputs["response"].startswith("two:")
        assert reloaded.outputs["pid"] != first.outputs["pid"]
    finally:
        assert stop_deployment("chat", "production")


def test_automatic_approval_by_rule_refuses_when_a_required_gate_did_not_pass(tmp_path: Path) -> None:
    register_model("ruled", "echo/a")
    path = tmp_path / "approve.yaml"
    path.write_text(
        """\
name: approve-rule
params:
  outcome: inconclusive
steps:
  - id: approve
    type: approve
    with: {name: ruled, version: 1, mode: auto, require: ["${params.outcome}"]}
"""
    )
    result = CliRunner().invoke(app, ["pipeline", "run", str(path), "-q"])
    assert result.exit_code == 1 and "not all pass" in result.stdout
    assert model_registry().get("ruled", 1).status == "PendingManualApproval"
    passed = CliRunner().invoke(app, ["pipeline", "run", str(path), "-q", "--set", "outcome=pass"])
    assert passed.exit_code == 0, passed.output
    assert model_registry().get("ruled", 1).status == "Approved"


def test_compare_then_select_feeds_the_selected_model_to_the_next_step(tmp_path: Path) -> None:
    _dataset(tmp_path / "qa.jsonl", 6)
    path = tmp_path / "select.yaml"
    path.write_text(
        f"""\
name: select-demo
steps:
  - id: candidates
    type: compare
    with:
      models: [echo/a, echo/b]
      evaluations: [{{algorithm: factual_knowledge, dataset: qa.jsonl, locations: {LOCATIONS}}}]
      num_records: 6
  - id: pick
    type: select
    with: {{comparison: "${{steps.candidates.outputs.comparison}}", priorities: "P0 factual_knowledge"}}
  - id: again
    type: evaluate
    with: {{model: "${{steps.pick.outputs.model}}", dataset: qa.jsonl, locations: {LOCATIONS}, num_records: all}}
"""
    )
    run = run_pipeline(load_pipeline(path))
    assert run.status == "succeeded", [s.error for s in run.steps]
    pick = run.step("pick").outputs
    assert pick["model"] in ("echo/a", "echo/b") and sorted(pick["ranking"]) == ["echo/a", "echo/b"]
    assert (Path(run.step("candidates").outputs["comparison"]) / "comparison.json").is_file()
    assert run.step("again").outputs["model"] == pick["model"]
