"""comparison.json as one typed, versioned model, with its one reader and one writer.

The documented format (docs/comparison-format.md). Files written before `format_version` existed read as
version 1; entries keep unknown keys out (a newer writer may add some) so an older fmops still reads them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fmops.core.errors import BadInputError

#: The format this fmops writes; readers accept this one and older ones.
FORMAT_VERSION = 1
COMPARISON_FILE = "comparison.json"

Direction = Literal["higher", "lower", "ideal"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class EvaluationInfo(_Entry):
    """One suite evaluation as it was run: its id (the key used everywhere else in the file)."""

    id: str
    algorithm: str | None = None
    dataset: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    prompt_template: str | None = None


class SuiteInfo(_Entry):
    name: str = ""
    num_records: int | None = None
    evaluations: list[EvaluationInfo] = Field(default_factory=list)


class ModelInfo(_Entry):
    name: str
    spec: str | None = None
    fingerprint: str | None = None
    prices: dict[str, Any] | None = None


class ScoreEntry(_Entry):
    """A dataset-level score of one model on one evaluation, with its 95% bootstrap interval over records."""

    model: str
    evaluation: str
    dataset: str = ""
    score: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    errors: int = 0
    direction: Direction | None = None

    @field_validator("value", "ci_low", "ci_high", mode="after")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # NaN/inf carry no ranking information: read as "no value".
        return value if value is None or math.isfinite(value) else None

    @field_validator("dataset", mode="before")
    @classmethod
    def _no_dataset(cls, value: Any) -> Any:
        return "" if value is None else value


class Performance(_Entry):
    """Every model call of one model's runs: latency (s), throughput, tokens and cost (prices' currency)."""

    model: str
    records: int = 0
    calls: int = 0
    cached_calls: int = 0
    errors: int = 0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    ttft_p50_s: float | None = None
    throughput_rps: float | None = None
    output_tokens_per_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    cost_per_1k_records: float | None = None
    wall_s: float | None = None

    def figures(self) -> dict[str, float]:
        """The finite figures that describe the model (not the run's bookkeeping), by field name."""
        out = {}
        for name in PERFORMANCE_FIGURES:
            value = getattr(self, name)
            if value is not None and math.isfinite(value):
                out[name] = float(value)
        return out


#: Performance fields that describe the model rather than the run's bookkeeping.
PERFORMANCE_FIGURES = (
    "latency_p50_s",
    "latency_p95_s",
    "ttft_p50_s",
    "throughput_rps",
    "output_tokens_per_s",
    "cost_per_1k_records",
)


class PairedComparison(_Entry):
    """A paired test of two models on the same records (difference = a − b in the score's units)."""

    evaluation: str
    score: str
    model_a: str
    model_b: str
    difference: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    n: int = 0
    significant: bool = False
    verdict: str = ""


class RunFailure(_Entry):
    """A model × evaluation that did not finish: the comparison holds what was done before it."""

    model: str
    evaluation: str
    error: str


class Comparison(BaseModel):
    """The content of comparison.json: what ran, scores with intervals, speed and cost, paired tests.

    `complete` is False (and `failures` says why) when a run failed after others had finished.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    format_version: int = FORMAT_VERSION
    fmops_version: str | None = None
    created_at: str | None = None
    suite: SuiteInfo = Field(default_factory=SuiteInfo)
    models: list[ModelInfo]
    runs: dict[str, dict[str, str]] = Field(default_factory=dict)
    scores: list[ScoreEntry]
    performance: list[Performance] = Field(default_factory=list)
    comparisons: list[PairedComparison] = Field(default_factory=list)
    complete: bool = True
    failures: list[RunFailure] = Field(default_factory=list)

    @field_validator("format_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > FORMAT_VERSION:
            raise ValueError(
                f"format {value} is newer than this fmops reads ({FORMAT_VERSION}); upgrade fmops"
            )
        return value

    def model_names(self) -> list[str]:
        """Every model named anywhere in the file, in the order of `models`, then of first appearance."""
        names = [m.name for m in self.models]
        for row in (*self.performance, *self.scores):
            names.append(row.model)
        return list(dict.fromkeys(names))

    def performance_of(self, model: str) -> Performance | None:
        return next((p for p in self.performance if p.model == model), None)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def as_comparison(data: Comparison | Any, where: str = "comparison") -> Comparison:
    """A Comparison from itself or from comparison.json's parsed content; BadInputError names the field."""
    if isinstance(data, Comparison):
        return data
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a JSON object ({COMPARISON_FILE})")
    try:
        return Comparison.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        if first["type"] == "missing":
            raise BadInputError(f"{where}: missing '{field}'; see docs/comparison-format.md") from None
        raise BadInputError(f"{where}: {field}: {first['msg']}") from None


def comparison_file(path: str | Path) -> Path:
    """DIR/comparison.json for a comparison folder; the path itself for a file."""
    path = Path(path)
    return path / COMPARISON_FILE if path.is_dir() else path


def read_comparison(path: str | Path) -> Comparison:
    """Read a comparison folder (or its comparison.json); one-line BadInputError for anything wrong."""
    file = comparison_file(path)
    if not file.is_file():
        raise BadInputError(
            f"{file}: no {COMPARISON_FILE} here (write one with `fmops compare --output DIR`)"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read ({exc.strerror})") from None
    return as_comparison(data, str(file))


def write_comparison(comparison: Comparison, directory: str | Path) -> Path:
    """Write DIR/comparison.json atomically (a crash never leaves half a file); returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / COMPARISON_FILE
    tmp = directory / f".{COMPARISON_FILE}.{os.getpid()}.tmp"
    tmp.write_text(comparison.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = [
    "COMPARISON_FILE",
    "FORMAT_VERSION",
    "PERFORMANCE_FIGURES",
    "Comparison",
    "Direction",
    "EvaluationInfo",
    "ModelInfo",
    "PairedComparison",
    "Performance",
    "RunFailure",
    "ScoreEntry",
    "SuiteInfo",
    "as_comparison",
    "comparison_file",
    "read_comparison",
    "write_comparison",
]
