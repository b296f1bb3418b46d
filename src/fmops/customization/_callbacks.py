"""transformers Trainer callbacks: progress events, the experiment record, and Ctrl-C that saves first.

Imported only when a job trains (it imports transformers).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from transformers import TrainerCallback

from fmops.customization._experiments import ExperimentRecorder

#: Logged values kept per step; TRL also logs entropy and token accuracy, kept as they come.
_SKIP = {"epoch", "total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second"}


class TrainingProgress(BaseModel):
    """One optimizer step done: what a progress bar shows (the engine never draws it)."""

    model_config = ConfigDict(frozen=True)

    step: int
    total_steps: int
    epoch: float | None = None
    loss: float | None = None
    learning_rate: float | None = None
    tokens_per_second: float | None = None
    eta_s: float | None = None


ProgressFn = Callable[[TrainingProgress], None]


class ProgressCallback(TrainerCallback):
    """Turns the Trainer's logs into `TrainingProgress` events; measures tokens/s over this session."""

    def __init__(
        self, on_progress: ProgressFn | None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._on_progress = on_progress
        self._clock = clock
        self._started: float | None = None
        self._first_step = 0
        self._loss: float | None = None
        self._lr: float | None = None
        self.tokens_per_second: float | None = None
        self.tokens: float = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = self._clock()
        self._first_step = state.global_step

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any
    ) -> None:
        logs = logs or {}
        if "train_loss" in logs:  # the end-of-training summary, not a step
            return
        if "loss" in logs:
            self._loss = float(logs["loss"])
        if "learning_rate" in logs:
            self._lr = float(logs["learning_rate"])
        if "num_tokens" in logs and self._started is not None:
            # TRL counts the tokens this trainer has seen (from zero again after a resume).
            self.tokens = float(logs["num_tokens"])
            elapsed = self._clock() - self._started
            self.tokens_per_second = self.tokens / elapsed if elapsed > 0 else None
        self._emit(state)

    def _emit(self, state: Any) -> None:
        if self._on_progress is None or self._started is None:
            return
        done = state.global_step - self._first_step
        elapsed = self._clock() - self._started
        left = max(0, state.max_steps - state.global_step)
        self._on_progress(
            TrainingProgress(
                step=state.global_step,
                total_steps=state.max_steps,
                epoch=state.epoch,
                loss=self._loss,
                learning_rate=self._lr,
                tokens_per_second=self.tokens_per_second,
                eta_s=elapsed / done * left if done > 0 else None,
            )
        )


class RecordCallback(TrainerCallback):
    """Metrics per step and checkpoints into the experiment run.

    Metrics are written in batches (at each checkpoint, at the end, and every `flush_every` steps): a
    database commit per step would cost small models a noticeable share of their step time. Steps lost
    with a killed process come after its last checkpoint, and a resumed run logs them again.
    """

    def __init__(
        self,
        recorder: ExperimentRecorder,
        run_id: str,
        checkpoint_dir: Callable[[int], str],
        flush_every: int = 100,
    ) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._checkpoint_dir = checkpoint_dir
        self._flush_every = flush_every
        self._pending: dict[int, dict[str, float]] = {}
        self.last: dict[str, float] = {}

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any
    ) -> None:
        values = {
            k: float(v)
            for k, v in (logs or {}).items()
            if k not in _SKIP and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if "train_loss" in values:  # the end-of-training summary line
            self.last["train_loss"] = values["train_loss"]
            return
        if values:
            self.last.update(values)
            self._pending.setdefault(state.global_step, {}).update(values)
            if len(self._pending) >= self._flush_every:
                self.flush()

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.flush()
        self._recorder.checkpoint(self._run_id, state.global_step, self._checkpoint_dir(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.flush()

    def flush(self) -> None:
        if self._pending:
            self._recorder.metrics(self._run_id, self._pending)
            self._pending = {}


class InterruptCallback(TrainerCallback):
    """Ctrl-C stops at the end of the current step after saving a checkpoint; a second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.interrupted:
            control.should_save = True
            control.should_training_stop = True
