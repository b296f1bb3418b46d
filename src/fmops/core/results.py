"""fmeval-shaped result types: what `results.json` and the per-record JSON Lines contain.

The field names and nesting match fmeval's EvalScore / CategoryScore / EvalOutput so that tools written
for fmeval's JSON read ours unchanged; our additions (error counts, record counts) are extra keys.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict


class EvalScore(BaseModel):
    """One named score: a value, or an error saying why there is none."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float | None = None
    error: str | None = None
    # Ours: how many records had no score for this name (counted, never silently dropped).
    num_errors: int | None = None

    def is_close(self, other: EvalScore, abs_tol: float = 1e-3) -> bool:
        """fmeval compares scores with an absolute tolerance of 1e-3."""
        if self.name != other.name or (self.value is None) != (other.value is None):
            return False
        return self.value is None or math.isclose(self.value, other.value or 0.0, abs_tol=abs_tol)


class CategoryScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    scores: list[EvalScore]


class EvalOutput(BaseModel):
    """The result of one algorithm on one dataset, as fmeval's EvalOutput."""

    model_config = ConfigDict(frozen=True)

    eval_name: str
    dataset_name: str
    dataset_scores: list[EvalScore] | None = None
    prompt_template: str | None = None
    category_scores: list[CategoryScore] | None = None
    output_path: str | None = None
    error: str | None = None
    # Ours.
    num_records: int | None = None
    num_skipped_records: int | None = None

    def score(self, name: str) -> float | None:
        """The dataset-level value of the score called `name` (None when absent or failed)."""
        for s in self.dataset_scores or []:
            if s.name == name:
                return s.value
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """fmeval's JSON shape: None-valued fields of scores are dropped, top-level fields kept."""
        data = self.model_dump(exclude_none=True)
        for key in ("prompt_template", "category_scores", "output_path", "error"):
            data.setdefault(key, None)
        return data
