"""Pipeline runs as they happen: one typed `run.json` per run (one model, one reader), rewritten atomically
after every step, so a run killed at any point can be shown, and the next run resumes from the cache."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home

StepStatus = Literal["pending", "running", "done", "cached", "failed", "skipped", "waiting"]
RunStatus = Literal[
    "running", "succeeded", "gate_failed", "gate_inconclusive", "waiting", "failed", "interrupted"
]


class StepRecord(BaseModel):
    id: str
    type: str
    status: StepStatus = "pending"
    key: str | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)
    gate: Literal["pass", "fail", "inconclusive"] | None = None
    summary: str = ""
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    #: Seconds the step took (0 for a cache hit).
    seconds: float | None = None


class PipelineRun(BaseModel):
    id: str
    pipeline: str
    file: str | None = None
    status: RunStatus = "running"
    pid: int = Field(default_factory=os.getpid)
    started_at: str = Field(default_factory=lambda: now())
    finished_at: str | None = None
    fmops_version: str
    steps: list[StepRecord] = Field(default_factory=list)

    def step(self, step_id: str) -> StepRecord:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def gates(self) -> list[StepRecord]:
        return [s for s in self.steps if s.gate is not None]

    def effective_status(self) -> RunStatus:
        """`running` for a process that no longer exists reads as `interrupted` (killed)."""
        if self.status == "running" and not _process_alive(self.pid):
            return "interrupted"
        return self.status


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def runs_dir() -> Path:
    return fmops_home() / "pipelines" / "runs"


def new_run_id(pipeline: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{pipeline}-{stamp}-{secrets.token_hex(2)}"


def run_dir(run_id: str) -> Path:
    return runs_dir() / run_id


def save_run(run: PipelineRun) -> Path:
    folder = run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(run.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a SIGKILL leaves the previous or the new state, never half
    return path


def read_run(run_id: str) -> PipelineRun:
    path = run_dir(run_id) / "run.json"
    if not path.is_file():
        raise BadInputError(f"no pipeline run {run_id!r} (see `fmops pipeline history`)")
    try:
        return PipelineRun.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInputError(f"{path}: field '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None


def list_runs(pipeline: str | None = None) -> list[PipelineRun]:
    """Runs, oldest first (optionally of one pipeline)."""
    folder = runs_dir()
    if not folder.is_dir():
        return []
    runs = [read_run(p.parent.name) for p in folder.glob("*/run.json")]
    if pipeline is not None:
        runs = [r for r in runs if r.pipeline == pipeline]
    return sorted(runs, key=lambda r: (r.started_at, r.id))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
