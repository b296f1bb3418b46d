"""What `fmops compare` runs: a suite of evaluations (algorithm × dataset) for every model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.core.errors import BadInputError


class SuiteEvaluation(BaseModel):
    """One algorithm on one dataset (a file, URI or built-in name), with its locations and config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str
    dataset: str | None = None
    locations: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    prompt_template: str | None = None
    num_records: int | None = Field(default=None, gt=0)
    id: str | None = None

    @property
    def key(self) -> str:
        return self.id or f"{self.algorithm}/{dataset_label(self.dataset)}"


class Suite(BaseModel):
    """What to run for every model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "suite"
    num_records: int | None = Field(default=None, gt=0)
    models: list[str] = Field(default_factory=list)
    generate: dict[str, Any] = Field(default_factory=dict)
    evaluations: list[SuiteEvaluation]

    @classmethod
    def from_file(cls, path: str | Path) -> Suite:
        file = Path(path)
        if not file.is_file():
            raise BadInputError(f"{file}: no such suite file")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise BadInputError(f"{file}: not valid YAML ({exc})") from None
        try:
            suite = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadInputError(f"{file}: {where}: {first['msg']}") from None
        base = file.parent
        return suite.model_copy(update={"evaluations": [_relative_to(e, base) for e in suite.evaluations]})


def _relative_to(evaluation: SuiteEvaluation, base: Path) -> SuiteEvaluation:
    """Dataset paths in a suite file are relative to the file (names and URIs are left alone)."""
    dataset = evaluation.dataset
    if dataset and "://" not in dataset and not Path(dataset).is_absolute() and (base / dataset).exists():
        return evaluation.model_copy(update={"dataset": str(base / dataset)})
    return evaluation


def dataset_label(dataset: str | None) -> str:
    if dataset is None:
        return "builtin"
    name = Path(dataset.rstrip("/")).name
    return re.sub(r"\.(jsonl|jsonlines|json|csv|parquet|pq)$", "", name)


def slug(text: str) -> str:
    """A folder name for a model or evaluation id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


__all__ = ["Suite", "SuiteEvaluation", "dataset_label", "slug"]
