"""Small run folders written directly in the run-folder contract (fast: no model, no scoring)."""

from __future__ import annotations

import json
from pathlib import Path


def write_run(
    folder: Path,
    *,
    algorithm: str = "qa_accuracy",
    dataset: str = "capitals",
    model: str | None = "echo/a",
    created_at: str = "2026-11-01T10:00:00+00:00",
    records: int = 30,
    word: str = "alpha",
) -> Path:
    """A run of `records` records: f1 = i / records, category by parity, every 7th record failed."""
    (folder / "records").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(records):
        row: dict[str, object] = {
            "model_input": f"question {i} about {word}",
            "model_output": f"answer {i}" + (" zebra" if i == 3 else ""),
            "target_output": f"target {i}",
            "category": "even" if i % 2 == 0 else "odd",
            "scores": [
                {"name": "f1_score", "value": i / records},
                {"name": "exact_match_score", "value": float(i % 2)},
            ],
            "row": i,
        }
        if i % 7 == 0:
            row["error"] = "model call failed: timeout"
        rows.append(row)
    name = f"{algorithm}_{dataset}.jsonl"
    (folder / "records" / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    results = [
        {
            "eval_name": algorithm,
            "dataset_name": dataset,
            "dataset_scores": [
                {"name": "f1_score", "value": 0.5},
                {"name": "exact_match_score", "value": 0.5},
            ],
            "category_scores": [
                {"name": "even", "scores": [{"name": "f1_score", "value": 0.4}]},
                {"name": "odd", "scores": [{"name": "f1_score", "value": 0.6}]},
            ],
            "prompt_template": "$model_input",
            "output_path": None,
            "error": None,
            "num_records": records,
        }
    ]
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    manifest = {
        "fmops_version": "0.1.0",
        "created_at": created_at,
        "algorithm": algorithm,
        "config": {},
        "datasets": [{"name": dataset, "uri": "data.jsonl", "sha256": "0" * 64, "total_rows": records}],
        "model": {"name": model, "provider": "echo", "model": "a", "fingerprint": "f" * 32}
        if model
        else None,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
