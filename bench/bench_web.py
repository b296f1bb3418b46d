"""The web console at scale: 1,000 runs and 1,000,000 records, synthetic, in a temporary folder.

Writes 1,000 run folders (results.json + manifest.json), fills the run index with 1,000 records per run
through the index's own insert path, indexes a further 20,000 records from real JSON Lines files to measure
indexing speed, then times full page renders through the ASGI app (templates included):

    .venv/bin/python bench/bench_web.py [--runs 1000] [--records-per-run 1000] [--repeat 15]

Prints the median and p95 of each page. Target: the runs list and a filtered record page < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

WORDS = [
    "capital",
    "river",
    "mountain",
    "company",
    "product",
    "person",
    "country",
    "city",
    "language",
    "currency",
    "founded",
    "population",
    "market",
    "price",
    "tower",
    "bridge",
    "festival",
    "museum",
    "island",
    "desert",
    "forest",
    "harbor",
    "railway",
]
ALGORITHMS = ("qa_accuracy", "summarization_accuracy", "toxicity", "factual_knowledge")


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def write_folders(root: Path, runs: int) -> list[Path]:
    folders = []
    for i in range(runs):
        folder = root / f"run-{i:04d}"
        folder.mkdir(parents=True)
        algorithm = ALGORITHMS[i % len(ALGORITHMS)]
        dataset = f"data{i % 25}"
        results = [
            {
                "eval_name": algorithm,
                "dataset_name": dataset,
                "dataset_scores": [
                    {"name": "f1_score", "value": 0.5},
                    {"name": "exact_match_score", "value": 0.3},
                ],
                "category_scores": None,
                "prompt_template": "$model_input",
                "output_path": None,
                "error": None,
            }
        ]
        manifest = {
            "created_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00+00:00",
            "algorithm": algorithm,
            "datasets": [{"name": dataset}],
            "model": {"name": f"zoo/model-{i % 40}"},
        }
        (folder / "results.json").write_text(json.dumps(results))
        (folder / "manifest.json").write_text(json.dumps(manifest))
        folders.append(folder)
    return folders


def fill_records(index: object, records_per_run: int, seed: int = 0) -> float:
    """Insert synthetic records for every indexed run; returns seconds taken."""
    rng = random.Random(seed)
    started = time.perf_counter()
    conn = index.connect_for_bulk_load()  # type: ignore[attr-defined]
    runs = conn.execute("SELECT id, datasets FROM runs ORDER BY id").fetchall()
    for run_id, dataset in runs:

        def rows(dataset: str = dataset) -> object:
            for row in range(records_per_run):
                scores = {"f1_score": rng.random(), "exact_match_score": float(rng.random() < 0.3)}
                error = "model call failed: timeout" if rng.random() < 0.01 else None
                yield (
                    dataset,
                    row,
                    rng.choice(("europe", "asia", "africa", "americas")),
                    _text(rng, 14),
                    _text(rng, 10),
                    _text(rng, 3),
                    error,
                    json.dumps(scores),
                    "",
                    0,
                )

        count = index.add_records(conn, run_id, rows())  # type: ignore[attr-defined]
        conn.execute(
            "UPDATE runs SET num_records = ?, score_names = ? WHERE id = ?",
            (count, json.dumps(["f1_score", "exact_match_score"]), run_id),
        )
        conn.commit()
    conn.close()
    return time.perf_counter() - started


def index_speed(tmp: Path, runs: int = 20, records: int = 1000) -> float:
    """Records per second indexed from real run folders (JSON Lines parsed, rows and search index written)."""
    from fmops.web import RunIndex

    rng = random.Random(1)
    root = tmp / "speed"
    for folder in write_folders(root, runs):
        (folder / "records").mkdir()
        results = json.loads((folder / "results.json").read_text())[0]
        lines = (
            json.dumps(
                {
                    "model_input": _text(rng, 14),
                    "model_output": _text(rng, 10),
                    "target_output": _text(rng, 3),
                    "category": "europe",
                    "scores": [{"name": "f1_score", "value": rng.random()}],
                    "row": r,
                }
            )
            + "\n"
            for r in range(records)
        )
        (folder / "records" / f"{results['eval_name']}_{results['dataset_name']}.jsonl").write_text(
            "".join(lines)
        )
    index = RunIndex(tmp / "speed.sqlite", [root])
    started = time.perf_counter()
    index.refresh()
    return runs * records / (time.perf_counter() - started)


def timed(client: object, url: str, repeat: int) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--records-per-run", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from fmops.web import RunIndex, WebSettings, create_app

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.perf_counter()
        write_folders(tmp / "runs", args.runs)
        index = RunIndex(tmp / "index.sqlite", [tmp / "runs"])
        index.refresh()
        scanned = time.perf_counter() - started
        filled = fill_records(index, args.records_per_run)
        total = args.runs * args.records_per_run
        print(
            f"{args.runs} runs written and indexed in {scanned:.1f} s; {total:,} records inserted in {filled:.1f} s"
        )
        print(f"indexing from run folders: {index_speed(tmp):,.0f} records/s")
        settings = WebSettings(
            runs=[tmp / "runs"], index_path=tmp / "index.sqlite", store_url=f"sqlite:///{tmp / 's.sqlite'}"
        )
        client = TestClient(create_app(settings, index=index))
        run_id = args.runs // 2
        pages = {
            "runs list": "/",
            "runs list, filtered (algorithm + model)": "/?algorithm=toxicity&model=model-2",
            "records, sorted by f1 desc": f"/runs/{run_id}/records?sort=f1_score&order=desc",
            "records, f1 in [0.2, 0.4], category": f"/runs/{run_id}/records?score=f1_score&min=0.2&max=0.4&category=asia",
            "records, full-text search": f"/runs/{run_id}/records?q=river+bridge&sort=f1_score",
            "records, errors only": f"/runs/{run_id}/records?errors=1",
            "records, last page": f"/runs/{run_id}/records?page={args.records_per_run // 50}",
        }
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8}  status")
        for label, url in pages.items():
            median, p95, status = timed(client, url, args.repeat)
            print(f"{label:45} {median:10.1f} {p95:8.1f}  {status}")


if __name__ == "__main__":
    main()
