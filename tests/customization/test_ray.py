"""Data-parallel on Ray Train with two CPU workers: one model, one run, every step recorded once.

The job runs through the command line in its own process: a Ray driver leaves process-wide state (signal
handlers, threads) that other tests must not inherit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("ray")

from fmops.customization import get_run, list_runs, read_finetuned
from tests.conftest import REPO


@pytest.mark.slow
def test_two_ray_workers_train_one_model_and_record_one_run(tiny_base: str, qa_data: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "fmops",
        "finetune",
        tiny_base,
        "--data",
        str(qa_data),
        "--output",
        "on-ray",
        "--max-steps",
        "2",
        "--save-steps",
        "2",
        "--batch-size",
        "4",
        "--no-eval",
        "--ray-workers",
        "2",
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "model: finetuned/on-ray" in done.stdout and "(2 steps" in done.stdout
    runs = list_runs()
    assert len(runs) == 1 and runs[0].status == "completed" and runs[0].id in done.stdout
    run = get_run(runs[0].id)
    assert run.hardware["processes"] == 2 and [s for s, _ in run.metrics["loss"]] == [1, 2]
    assert read_finetuned("on-ray").adapter == "adapter"
