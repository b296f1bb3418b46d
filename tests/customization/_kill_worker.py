"""Run a fine-tuning job and SIGKILL the process at the end of a given step (for the resume test).

python -m tests.customization._kill_worker BASE DATA OUTPUT STEPS KILL_AT
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from transformers import TrainerCallback

from fmops.customization import FinetuneJob, run_finetune


class KillAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    base, data, output, steps, kill_at = sys.argv[1:6]
    job = FinetuneJob(
        base=base,
        data=Path(data),
        output=output,
        evaluate=False,
        hyperparameters={"max_steps": int(steps), "save_steps": 2, "batch_size": 4, "learning_rate": 0.02},
    )
    run_finetune(job, callbacks=[KillAt(int(kill_at))])
