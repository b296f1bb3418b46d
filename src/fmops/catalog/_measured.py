"""Measured figures (latency, throughput, scores) kept beside the declared ones, in FMOPS_HOME/catalog/measured.json.

Kept apart from the cards because cards are declarations that ship with fmops or come from the user, while
measurements belong to this machine's runs and are rewritten every time a comparison is recorded.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.catalog._cards import MeasuredValue
from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home

#: comparison.json `performance` fields that describe the model rather than the run's bookkeeping.
PERFORMANCE_FIGURES = (
    "latency_p50_s",
    "latency_p95_s",
    "ttft_p50_s",
    "throughput_rps",
    "output_tokens_per_s",
    "cost_per_1k_records",
)


class ModelMeasurements(BaseModel):
    """Everything measured for one model name; `spec` lets a card find figures recorded under another name."""

    model_config = ConfigDict(frozen=True)

    spec: str | None = None
    figures: dict[str, MeasuredValue] = Field(default_factory=dict)


def measurements_path() -> Path:
    return fmops_home() / "catalog" / "measured.json"


def load_measurements() -> dict[str, ModelMeasurements]:
    """Model name -> its measured figures; no file yet means nothing measured."""
    path = measurements_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = data["models"] if isinstance(data, dict) else None
        if not isinstance(models, dict):
            raise ValueError("expected an object with a `models` object")
        return {name: ModelMeasurements.model_validate(entry) for name, entry in models.items()}
    except (ValueError, KeyError, ValidationError) as exc:
        raise BadInputError(
            f"{path}: unreadable measurements ({str(exc).splitlines()[0]}); delete the file to start afresh"
        ) from None


def record_measurements(
    model_name: str, figures: Mapping[str, float | None], source: str, *, spec: str | None = None
) -> Path:
    """Store measured figures for a model (latest value per figure wins); None values are skipped."""
    if not model_name.strip():
        raise BadInputError("record_measurements: the model name is empty")
    clean: dict[str, float] = {}
    for key, value in figures.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadInputError(
                f"measured figure {key!r} of {model_name}: expected a finite number, got {value!r}"
            )
        clean[key] = float(value)
    models = {name: entry.model_dump(mode="json") for name, entry in load_measurements().items()}
    entry = models.setdefault(model_name, {"spec": spec, "figures": {}})
    if spec is not None:
        entry["spec"] = spec
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for key, value in clean.items():
        entry["figures"][key] = {"value": value, "source": source, "recorded_at": now}
    path = measurements_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"version": 1, "models": models}, indent=2, sort_keys=True)
    # Write then rename, so a crash never leaves a half-written store behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".measured-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
    os.replace(tmp, path)
    return path


def _read_comparison(directory: Path) -> dict[str, Any]:
    file = directory / "comparison.json" if directory.is_dir() else directory
    if not file.is_file():
        raise BadInputError(f"{file}: no comparison.json here (write one with `fmops compare --output DIR`)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{file}: expected a JSON object")
    return data


def measurements_from_comparison(directory: Path) -> dict[str, dict[str, float]]:
    """Model -> figures from a comparison folder: performance figures, and scores as `evaluation:score`.

    An evaluation that produced the same score for several datasets keys them `evaluation/dataset:score`.
    """
    data = _read_comparison(Path(directory))
    out: dict[str, dict[str, float]] = {}
    for perf in data.get("performance") or []:
        figures = out.setdefault(perf["model"], {})
        for key in PERFORMANCE_FIGURES:
            value = perf.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                figures[key] = float(value)
    scores = [s for s in data.get("scores") or [] if isinstance(s.get("value"), int | float)]
    counts: dict[tuple[str, str, str], int] = {}
    for s in scores:
        triple = (s["model"], s["evaluation"], s["score"])
        counts[triple] = counts.get(triple, 0) + 1
    for s in scores:
        evaluation = s["evaluation"]
        if counts[(s["model"], evaluation, s["score"])] > 1:
            evaluation = f"{evaluation}/{s.get('dataset')}"
        out.setdefault(s["model"], {})[f"{evaluation}:{s['score']}"] = float(s["value"])
    return out


def record_comparison(directory: Path) -> dict[str, dict[str, float]]:
    """Record every model's figures from a comparison folder into the store; returns what was recorded."""
    directory = Path(directory)
    data = _read_comparison(directory)
    specs = {m.get("name"): m.get("spec") for m in data.get("models") or [] if isinstance(m, dict)}
    figures = measurements_from_comparison(directory)
    source = f"comparison {directory}" + (f" ({data['created_at']})" if data.get("created_at") else "")
    for model, values in figures.items():
        record_measurements(model, values, source, spec=specs.get(model))
    return figures


__all__ = [
    "PERFORMANCE_FIGURES",
    "ModelMeasurements",
    "load_measurements",
    "measurements_from_comparison",
    "measurements_path",
    "record_comparison",
    "record_measurements",
]
