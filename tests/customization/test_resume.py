"""A job killed with SIGKILL resumes from its last checkpoint and ends with the same weights as an
uninterrupted run of the same seed; Ctrl-C saves a checkpoint before it stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from transformers import TrainerCallback

from fmops.customization import FinetuneJob, Interrupted, get_run, run_finetune
from tests.conftest import REPO

STEPS = 6
PARAMS = {"max_steps": STEPS, "save_steps": 2, "batch_size": 4, "learning_rate": 0.02}


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_sigkill_then_restart_ends_with_the_uninterrupted_weights(tiny_base: str, qa_data: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.customization._kill_worker",
            tiny_base,
            str(qa_data),
            "resumed",
            str(STEPS),
            "5",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    folder = Path(os.environ["FMOPS_HOME"]) / "finetuned" / "resumed"
    assert (folder / "checkpoints" / "checkpoint-4").is_dir() and not (folder / "finetuned.json").exists()

    job = FinetuneJob(base=tiny_base, data=qa_data, output="resumed", hyperparameters=PARAMS, evaluate=False)
    events: list[str] = []
    resumed = run_finetune(job, on_event=events.append)
    assert resumed.resumed_from_step == 4 and resumed.steps == STEPS
    assert any("resuming run" in e for e in events)
    straight = run_finetune(job.model_copy(update={"output": "straight"}))
    a, b = _weights(resumed.adapter_path), _weights(straight.adapter_path)
    assert a.keys() == b.keys()
    assert all(bool((a[k] == b[k]).all()) for k in a)

    run = get_run(resumed.run_id)  # one run, continued: its steps once each, in order
    assert run.status == "completed" and [s for s, _ in run.metrics["loss"]] == list(range(1, STEPS + 1))
    losses = dict(run.metrics["loss"])
    assert losses == pytest.approx(dict(get_run(straight.run_id).metrics["loss"]), abs=1e-6)


class _CtrlCAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_saves_a_checkpoint_then_the_same_job_resumes(tiny_base: str, qa_data: Path) -> None:
    job = FinetuneJob(
        base=tiny_base,
        data=qa_data,
        output="ctrlc",
        hyperparameters={**PARAMS, "save_steps": 100},
        evaluate=False,
    )
    with pytest.raises(Interrupted, match="interrupted at step 4: checkpoint saved"):
        run_finetune(job, callbacks=[_CtrlCAt(3)])
    folder = Path(os.environ["FMOPS_HOME"]) / "finetuned" / "ctrlc" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("checkpoint-")) == ["checkpoint-4"]
    run_id = json.loads((folder.parent / ".run.json").read_text())["run_id"]
    assert get_run(run_id).status == "interrupted" and [c["step"] for c in get_run(run_id).checkpoints] == [4]
    result = run_finetune(job)
    assert result.resumed_from_step == 4 and result.steps == STEPS and result.run_id == run_id
    assert get_run(result.run_id).status == "completed"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
