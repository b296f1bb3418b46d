"""A run killed with SIGKILL and started again calls the model only for what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fmops.models import SQLiteStore
from tests.support.openai_server import OpenAITestServer

WORKER = Path(__file__).with_name("_resume_worker.py")
COUNT = 60


def run_worker(
    server: OpenAITestServer, home: Path, out: Path, kill_after: int | None = None
) -> subprocess.CompletedProcess[str] | int:
    env = {**os.environ, "FMOPS_HOME": str(home)}
    env.pop("FMOPS_STORE_URL", None)
    args = [sys.executable, str(WORKER), server.base_url, str(COUNT), str(out)]
    if kill_after is None:
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=True)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("DONE ") and int(line.split()[1]) >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()  # type: ignore[union-attr]
    return proc.returncode


@pytest.mark.timeout(120)
def test_sigkill_then_rerun_calls_only_the_missing_records(tmp_path: Path) -> None:
    with OpenAITestServer(latency=0.05) as server:
        home = tmp_path / "killed"
        out = tmp_path / "resumed.json"
        assert run_worker(server, home, out, kill_after=20) == -signal.SIGKILL
        assert not out.exists()
        store = SQLiteStore(home / "responses.sqlite")
        stored = {e.request["prompt"] for e in store.entries()}
        store.close()
        assert 20 <= len(stored) < COUNT
        before = server.call_count
        assert before >= len(stored)  # calls in flight at the kill reached the server but were not stored

        done = run_worker(server, home, out)
        resumed_calls = [c.body["messages"][-1]["content"] for c in server.calls[before:]]
        assert len(resumed_calls) == COUNT - len(stored)  # the server sees only the missing calls
        assert not set(resumed_calls) & stored and len(set(resumed_calls)) == len(resumed_calls)
        assert f"cached={len(stored)}" in done.stdout

        clean = tmp_path / "clean.json"
        run_worker(server, tmp_path / "uninterrupted", clean)
        resumed: list[dict[str, Any]] = json.loads(out.read_text())
        assert resumed == json.loads(clean.read_text())
        assert [r["text"] for r in resumed] == [f"Echo: record {i} of" for i in range(COUNT)]
