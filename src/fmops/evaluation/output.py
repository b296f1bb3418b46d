"""The run folder: `results.json`, `records/<eval>_<dataset>.jsonl` and `manifest.json`."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fmops.core.results import EvalOutput
from fmops.evaluation.algorithms import ScoredRecord

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
    manifest: dict[str, Any],
) -> None:
    """Write the run folder; each file is written to a temporary name first so a crash leaves no half file."""
    records_dir = directory / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    for file_name, rows in records_by_file.items():
        _atomic_write(
            records_dir / file_name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        )
    _atomic_write(
        directory / "results.json", json.dumps([o.to_json_dict() for o in outputs], indent=2) + "\n"
    )
    _atomic_write(directory / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
