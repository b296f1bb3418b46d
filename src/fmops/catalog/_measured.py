"""Measured figures (latency, throughput, scores) kept beside the declared ones, in FMOPS_HOME/catalog/measured.json.

Kept apart from the cards because cards are declarations that ship with fmops or come from the user, while
measurements belong to this machine's runs and are rewritten every time a comparison is recorded.
Reading comparisons is not done here: `fmops.comparison.record_comparison` reads one and calls
`record_measurements` (the catalog sits below comparisons).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.catalog._cards import MeasuredValue
from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home


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


__all__ = [
    "ModelMeasurements",
    "load_measurements",
    "measurements_path",
    "record_measurements",
]
