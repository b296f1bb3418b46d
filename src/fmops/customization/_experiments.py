"""Experiment runs in the fmops database (migration branch `experiments`): one row per fine-tuning job,
its metrics per step and its checkpoints. Typed views (`RunSummary`, `RunDetail`) are what callers read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from fmops.core.errors import BadInputError
from fmops.store import Base, open_database, session_scope

Status = Literal["running", "completed", "failed", "interrupted"]


class RunRow(Base):
    __tablename__ = "experiment_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    base: Mapped[str] = mapped_column(String(500))
    method: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    base_fingerprint: Mapped[str | None] = mapped_column(String(100))
    hardware: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    final_metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    artefacts: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_spec: Mapped[str | None] = mapped_column(String(200))
    comparison_path: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)


class MetricRow(Base):
    __tablename__ = "experiment_metrics"

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("experiment_runs.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class CheckpointRow(Base):
    __tablename__ = "experiment_checkpoints"

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("experiment_runs.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RunSummary(BaseModel):
    """A row of `fmops runs list`."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    base: str
    method: str
    status: Status
    model_spec: str | None
    started_at: dt.datetime
    duration_s: float | None
    final_metrics: dict[str, Any]


class RunDetail(RunSummary):
    """Everything stored about one run (`fmops runs show`)."""

    params: dict[str, Any]
    data_files: list[dict[str, Any]]
    base_fingerprint: str | None
    hardware: dict[str, Any]
    versions: dict[str, Any]
    artefacts: dict[str, Any]
    comparison_path: str | None
    error: str | None
    finished_at: dt.datetime | None
    #: name -> [[step, value], ...] in step order
    metrics: dict[str, list[tuple[int, float]]]
    checkpoints: list[dict[str, Any]]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ExperimentRecorder:
    """Writes one run as it goes: created running, metrics and checkpoints added, then finished."""

    def __init__(self, url: str | None = None) -> None:
        self._engine = open_database(url)

    def start(
        self,
        *,
        run_id: str | None,
        name: str,
        base: str,
        method: str,
        params: dict[str, Any],
        data_files: list[dict[str, Any]],
        base_fingerprint: str,
        hardware: dict[str, Any],
        versions: dict[str, Any],
        model_spec: str,
    ) -> str:
        """Create the run (or, for a resumed job, mark its existing row running again); returns its id."""
        with session_scope(self._engine) as session:
            row = session.get(RunRow, run_id) if run_id else None
            if row is not None:
                row.status = "running"
                row.error = None
                row.finished_at = None
                return row.id
            row = RunRow(
                id=run_id or uuid.uuid4().hex[:12],
                name=name,
                base=base,
                method=method,
                status="running",
                params=params,
                data_files=data_files,
                base_fingerprint=base_fingerprint,
                hardware=hardware,
                versions=versions,
                final_metrics={},
                artefacts={},
                model_spec=model_spec,
                started_at=_now(),
            )
            session.add(row)
            return row.id

    def forget_after(self, run_id: str, step: int) -> None:
        """Drop metrics and checkpoints past `step` (a resumed run replays those steps)."""
        with session_scope(self._engine) as session:
            session.execute(delete(MetricRow).where(MetricRow.run_id == run_id, MetricRow.step > step))
            session.execute(
                delete(CheckpointRow).where(CheckpointRow.run_id == run_id, CheckpointRow.step > step)
            )

    def metrics(self, run_id: str, steps: dict[int, dict[str, float]]) -> None:
        """Metric values by step ({step: {name: value}}), in one transaction; a step logged again replaces."""
        with session_scope(self._engine) as session:
            for step, values in steps.items():
                for name, value in values.items():
                    session.merge(MetricRow(run_id=run_id, step=step, name=name, value=float(value)))

    def checkpoint(self, run_id: str, step: int, path: str) -> None:
        with session_scope(self._engine) as session:
            session.merge(CheckpointRow(run_id=run_id, step=step, path=path, created_at=_now()))

    def finish(
        self,
        run_id: str,
        status: Status,
        *,
        final_metrics: dict[str, Any] | None = None,
        artefacts: dict[str, Any] | None = None,
        comparison_path: str | None = None,
        error: str | None = None,
        duration_s: float | None = None,
    ) -> None:
        with session_scope(self._engine) as session:
            row = session.get(RunRow, run_id)
            if row is None:
                return
            row.status = status
            row.finished_at = _now()
            row.duration_s = duration_s
            row.error = error
            if final_metrics is not None:
                row.final_metrics = final_metrics
            if artefacts is not None:
                row.artefacts = artefacts
            if comparison_path is not None:
                row.comparison_path = comparison_path


def _summary(row: RunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "base": row.base,
        "method": row.method,
        "status": row.status,
        "model_spec": row.model_spec,
        "started_at": row.started_at,
        "duration_s": row.duration_s,
        "final_metrics": row.final_metrics or {},
    }


def list_runs(url: str | None = None, *, limit: int | None = None) -> list[RunSummary]:
    """Experiment runs, newest first."""
    engine = open_database(url)
    with session_scope(engine) as session:
        query = select(RunRow).order_by(RunRow.started_at.desc())
        if limit:
            query = query.limit(limit)
        return [RunSummary.model_validate(_summary(row)) for row in session.scalars(query)]


def get_run(run_id: str, url: str | None = None) -> RunDetail:
    """One run by id, else by model name (the newest run of that name), else by a unique id prefix."""
    engine = open_database(url)
    with session_scope(engine) as session:
        row = session.get(RunRow, run_id)
        if row is None:
            # A name before a prefix: "b" is the run named b, not whichever id starts with b.
            newest = select(RunRow).where(RunRow.name == run_id).order_by(RunRow.started_at.desc()).limit(1)
            rows = list(session.scalars(newest))
            if not rows:
                rows = list(
                    session.scalars(select(RunRow).where(RunRow.id.startswith(run_id, autoescape=True)))
                )
            if len(rows) != 1:
                problem = "matches several runs" if rows else "is no run id or name"
                raise BadInputError(f"run {run_id!r} {problem}; see `fmops runs list`")
            row = rows[0]
        metrics: dict[str, list[tuple[int, float]]] = {}
        for metric in session.scalars(
            select(MetricRow).where(MetricRow.run_id == row.id).order_by(MetricRow.name, MetricRow.step)
        ):
            metrics.setdefault(metric.name, []).append((metric.step, metric.value))
        checkpoints = [
            {"step": c.step, "path": c.path, "created_at": c.created_at.isoformat()}
            for c in session.scalars(
                select(CheckpointRow).where(CheckpointRow.run_id == row.id).order_by(CheckpointRow.step)
            )
        ]
        return RunDetail.model_validate(
            {
                **_summary(row),
                "params": row.params,
                "data_files": row.data_files,
                "base_fingerprint": row.base_fingerprint,
                "hardware": row.hardware,
                "versions": row.versions,
                "artefacts": row.artefacts,
                "comparison_path": row.comparison_path,
                "error": row.error,
                "finished_at": row.finished_at,
                "metrics": metrics,
                "checkpoints": checkpoints,
            }
        )


def compare_runs(run_ids: list[str], url: str | None = None) -> list[RunDetail]:
    """Several runs side by side (their params and final metrics are what differs)."""
    if len(run_ids) < 2:
        raise BadInputError("compare needs at least two run ids")
    return [get_run(run_id, url) for run_id in run_ids]
