"""When a finished run counts as failed: too many records whose model call failed, or nothing scored.

A run folder is always written first (nothing computed is lost); this only decides the exit status, as
Inspect's `fail_on_error` and promptfoo's failure threshold do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from fmops.core.errors import BadInputError, RunError
from fmops.data.locations import one_line


class DatasetFailures(BaseModel):
    """How one dataset of a run went: records, model calls that failed, records with a score."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    records: int
    failed_calls: int
    scored: int
    first_error: str | None = None

    @property
    def failure_rate(self) -> float:
        return self.failed_calls / self.records if self.records else 0.0


def dataset_failures(dataset: str, rows: Sequence[dict[str, Any]]) -> DatasetFailures:
    """Count a dataset's failed model calls (`error`) and its records with at least one score value."""
    errors = [str(r["error"]) for r in rows if r.get("error")]
    scored = sum(1 for r in rows if any(s.get("value") is not None for s in r.get("scores") or []))
    return DatasetFailures(
        dataset=dataset,
        records=len(rows),
        failed_calls=len(errors),
        scored=scored,
        first_error=errors[0] if errors else None,
    )


def check_failure_rate(
    eval_name: str, datasets: Sequence[DatasetFailures], max_failure_rate: float | None = None
) -> None:
    """RunError when a dataset's share of failed model calls is above `max_failure_rate` (0..1); with
    None, when a dataset has records and not one of them was scored."""
    if max_failure_rate is not None and not 0.0 <= max_failure_rate <= 1.0:
        raise BadInputError(f"--max-failure-rate expects a fraction between 0 and 1, got {max_failure_rate}")
    for d in datasets:
        if max_failure_rate is None:
            failed = d.records > 0 and d.scored == 0
            rule = "no record was scored"
        else:
            failed = d.failure_rate > max_failure_rate
            rule = f"above --max-failure-rate {max_failure_rate:g}"
        if failed:
            first = f"; first: {one_line(d.first_error)}" if d.first_error else ""
            raise RunError(
                f"{eval_name} on {d.dataset}: {d.failed_calls} of {d.records} model calls failed, "
                f"{d.scored} record(s) scored ({rule}){first}"
            )
