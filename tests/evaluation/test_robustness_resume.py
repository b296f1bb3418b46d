"""A robustness run killed with SIGKILL and run again makes only the missing model calls, same scores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fmops.models import SQLiteStore
from tests.conftest import REPO
from tests.support.openai_server import OpenAITestServer

RECORDS = 30
PERTURBATIONS = 3


def _dataset(path: Path) -> Path:
    rows = [
        {"question": f"Which river crosses city number {i} of the valley?", "answer": f"river {i}"}
        for i in range(RECORDS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _command(server: OpenAITestServer, dataset: Path, out: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "fmops", "eval", "qa_accuracy_semantic_robustness"),
        *("--model", "openai/test-model", "-M", f"base_url={server.base_url}", "-M", "max_concurrency=4"),
        *("--dataset", str(dataset), "--model-input", "question", "--target-output", "answer"),
        *("--num-records", "all", "--max-tokens", "12", "-o", str(out)),
        *("-c", f"num_perturbations={PERTURBATIONS}", "-c", "bertscore=false"),
    ]


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "FMOPS_HOME": str(home)}
    for name in ("FMOPS_STORE_URL", "FMOPS_MODELS", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(name, None)
    return env


def _run_to_completion(command: list[str], home: Path) -> None:
    done = subprocess.run(command, cwd=REPO, env=_env(home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _results(out: Path) -> list[dict[str, Any]]:
    results = json.loads((out / "results.json").read_text())
    for output in results:
        output.pop("output_path", None)
    return results


def _records(out: Path) -> list[dict[str, Any]]:
    """Every field of every record but the usage (timings, and whether the store answered)."""
    rows = []
    for path in sorted((out / "records").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            row.pop("usage", None)
            rows.append(row)
    return rows


@pytest.mark.timeout(300)
def test_sigkill_mid_robustness_run_then_rerun_calls_only_what_is_missing(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "qa.jsonl")
    with OpenAITestServer(latency=0.05) as server:
        clean_out = tmp_path / "clean"
        _run_to_completion(_command(server, dataset, clean_out), tmp_path / "home-clean")
        total = server.call_count
        assert total == len({c.text for c in server.calls}) > RECORDS  # each distinct prompt once
        assert total <= RECORDS * (1 + PERTURBATIONS)

        home, out = tmp_path / "home", tmp_path / "killed"
        command = _command(server, dataset, out)
        before = server.call_count
        proc = subprocess.Popen(
            command, cwd=REPO, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while server.call_count - before < total // 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert not (out / "results.json").exists()
        store = SQLiteStore(home / "responses.sqlite")
        stored = len(list(store.entries()))
        store.close()
        assert total // 4 <= stored < total

        before = server.call_count
        _run_to_completion(command, home)
        resumed = [c.text for c in server.calls[before:]]
        assert len(resumed) == len(set(resumed)) == total - stored  # only the missing calls

    assert _results(out) == _results(clean_out)
    assert _records(out) == _records(clean_out)
    assert all(len(r["perturbed_model_outputs"]) == PERTURBATIONS for r in _records(out))
