"""The run folder: `results.json`, `records/<eval>_<dataset>.jsonl` and `manifest.json`."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.core.results import EvalOutput
from fmops.evaluation.algorithms import ScoredRecord
from fmops.evaluation.manifest import RunManifest, write_run_manifest

# fmeval's EvalOutputRecord keeps these columns, in this order, when the dataset has them.
RECORD_COLUMNS = (
    "model_input",
    "prompt",
    "model_output",
    "model_log_probability",
    "target_output",
    "category",
    "context",
    "sent_more_input",
    "sent_less_input",
    "sent_more_prompt",
    "sent_less_prompt",
    "sent_more_log_prob",
    "sent_less_log_prob",
    "error",
)


_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_S3_SCHEMES = ("s3", "s3n", "s3a")


def check_output_location(output: str | Path, *, option: str = "--output", remote: bool = True) -> None:
    """Fail before any work when a run folder cannot be written there: a file in the way, a folder that is
    not writable, a URI scheme we cannot write (only s3://, and only where `remote`), or no S3 credentials.

    The check is made before the first model call, so a bad `-o` costs nothing; it creates nothing.
    """
    text = str(output)
    match = _URI.match(text)
    if match is not None:
        scheme = match.group(1).lower()
        if remote and scheme in _S3_SCHEMES:
            from fmops.data.upload import check_upload_access

            check_upload_access(text)
            return
        where = "a local folder or s3://BUCKET/PREFIX" if remote else "a local folder"
        raise BadInputError(f"{option} {text}: cannot write to '{scheme}://' here; expected {where}")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise BadInputError(f"{option} {text}: exists and is not a folder; give a folder to write into")
    ancestor = path
    while not ancestor.exists():  # the nearest folder that exists is where the new ones will be made
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise BadInputError(f"{option} {text}: {ancestor} is a file, so no folder can be made under it")
    for folder in (ancestor, path / "records"):
        if folder.is_dir():
            _check_writable(folder, text, option)


def _check_writable(folder: Path, text: str, option: str) -> None:
    # A real probe rather than os.access: it also holds for root, read-only mounts and ACLs.
    try:
        fd, probe = tempfile.mkstemp(prefix=".fmops-write-check-", dir=folder)
    except OSError as exc:
        raise BadInputError(f"{option} {text}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def records_file_name(eval_name: str, dataset_name: str) -> str:
    return f"{eval_name}_{dataset_name}.jsonl"


def output_record(
    record: dict[str, Any], scored: ScoredRecord, record_fields: Sequence[str] = ()
) -> dict[str, Any]:
    """fmeval's per-record shape (known columns, then `scores`), plus ours: `row`, the algorithm's fields
    (perturbed inputs and outputs...), its extras (classified label...) and the model calls' `usage`."""
    out = {column: record[column] for column in RECORD_COLUMNS if record.get(column) is not None}
    scores: list[dict[str, Any]] = [{"name": n, "value": v} for n, v in scored.scores.items()]
    scores += [{"name": n, "error": e} for n, e in scored.errors.items()]
    out["scores"] = scores
    out["row"] = record["row"]
    out.update({name: record[name] for name in record_fields if name in record})
    out.update(scored.extras)
    for usage in ("usage", "judge_usage"):
        if usage in record:
            out[usage] = record[usage]
    return out


def write_run(
    directory: Path,
    outputs: Sequence[EvalOutput],
    records_by_file: dict[str, list[dict[str, Any]]],
    manifest: RunManifest,
) -> None:
    """Write the run folder; each file is written to a temporary name first so a crash leaves no half file."""
    records_dir = directory / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    # A reused folder: record files an earlier run left would read as part of this one.
    for stale in records_dir.glob("*.jsonl"):
        if stale.name not in records_by_file:
            stale.unlink()
    for file_name, rows in records_by_file.items():
        _atomic_write(
            records_dir / file_name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        )
    _atomic_write(
        directory / "results.json", json.dumps([o.to_json_dict() for o in outputs], indent=2) + "\n"
    )
    write_run_manifest(directory, manifest)  # last: its presence marks a complete folder


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_run_records(path: Path) -> list[dict[str, Any]]:
    """One records/*.jsonl file of a run folder; a truncated or damaged line is named, not a traceback."""
    if not path.is_file():
        raise BadInputError(f"{path}: records file missing from the run folder")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInputError(
                    f"{path}: line {number}: not valid JSON ({_why(exc)}); the run folder is damaged "
                    "(truncated?)"
                ) from None
            if not isinstance(row, dict):
                raise BadInputError(
                    f"{path}: line {number}: expected a JSON object, got {type(row).__name__}"
                )
            if "row" not in row:  # every record a run writes carries its dataset row
                raise BadInputError(f"{path}: line {number}: missing field 'row'; the run folder is damaged")
            rows.append(row)
    return rows


def _why(exc: Exception) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
