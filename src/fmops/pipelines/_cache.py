"""Content-hash step cache: a step's key is the hash of its type, resolved parameters, the content of the
files they name, what model references point at now, its upstream steps' keys and the fmops version.
Same key, same outputs: the step does not run again (as DVC and SageMaker Pipelines cache steps)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fmops.core.settings import fmops_home


class CachedStep(BaseModel):
    key: str
    step: str
    type: str
    outputs: dict[str, Any]
    gate: str | None = None
    summary: str = ""


def cache_dir() -> Path:
    return fmops_home() / "pipelines" / "cache"


def work_dir(key: str) -> Path:
    """The folder a step with this key writes its files to (content-addressed, like its outputs)."""
    return fmops_home() / "pipelines" / "work" / key[:20]


def step_key(ingredients: dict[str, Any]) -> str:
    text = json.dumps(ingredients, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(path: Path) -> str | None:
    """sha256 of a file, or of a folder's relative paths and file contents; None when nothing is there."""
    if path.is_file():
        return _file_hash(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0")
            digest.update(_file_hash(file).encode("ascii"))
        return digest.hexdigest()
    return None


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_cached(key: str) -> CachedStep | None:
    path = cache_dir() / f"{key}.json"
    if not path.is_file():
        return None
    try:
        return CachedStep.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:  # a damaged entry is a miss, not an error
        return None


def write_cached(entry: CachedStep) -> None:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry.key}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(entry.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)
