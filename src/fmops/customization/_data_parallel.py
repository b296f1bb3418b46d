"""The processes of a data-parallel job (torchrun, accelerate launch, Ray workers): which one is the main
process, a barrier, and the recorder the others use.

One process prepares the folder, records the run and saves the model; the others wait for it, train their
share and record nothing. Kept apart so that the training flow reads the same for one process or many.
"""

from __future__ import annotations

import os
from typing import Any

from fmops.customization._experiments import ExperimentRecorder


class Ranks:
    """The processes of a data-parallel job (torchrun / accelerate launch set RANK and WORLD_SIZE).

    The process group is joined here, before training, so the main process can prepare the folder while
    the others wait; the Trainer (through accelerate) then uses this same group.
    """

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        self.main = os.environ.get("RANK", "0") == "0"
        self._dist: Any = None
        if self.world > 1:
            import torch

            dist = torch.distributed
            if not dist.is_initialized():
                dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
            self._dist = dist

    def wait(self) -> None:
        if self._dist is not None:
            self._dist.barrier()


class NullRecorder(ExperimentRecorder):
    """What the non-main processes of a data-parallel job record: nothing (the main one records)."""

    def __init__(self) -> None:  # no database connection
        pass

    def metrics(self, run_id: str, steps: dict[int, dict[str, float]]) -> None:
        pass

    def checkpoint(self, run_id: str, step: int, path: str) -> None:
        pass

    def finish(self, run_id: str, status: Any, **kwargs: Any) -> None:
        pass
