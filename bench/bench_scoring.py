"""Scoring benchmark (issue: evaluation core): fmops on brought-your-own outputs, optionally against fmeval.

    python bench/bench_scoring.py [--fmeval-python /path/to/fmeval-venv/bin/python] [--qa-records 10000]

Prints records/s per algorithm (end to end: load, sample, score, aggregate, write), the scoring-only rate,
and, with an fmeval install, fmeval's time on the same records, the time ratio and the largest score
difference (dataset level and per record). Data: TriviaQA-style QA, T-REx-style facts and Gigaword-style
summaries, generated with a fixed seed; from ../shared/data when present (real questions, answers and
documents), else from a synthetic vocabulary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fmops.data import DataConfig, load_dataset
from fmops.evaluation import evaluate, get_algorithm
from fmops.evaluation.run import score_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fmeval-samples"
HERE = Path(__file__).resolve().parent


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _words(rng: np.random.Generator, n: int) -> str:
    syllables = ["ka", "lo", "mi", "ta", "re", "su", "no", "vi", "da", "po", "ze", "ri"]
    return " ".join("".join(rng.choice(syllables, size=rng.integers(2, 4))) for _ in range(n))


def _output_for(rng: np.random.Generator, targets: list[str], distractor: str) -> str:
    """A plausible model output: an alias as is, inside a sentence, with different case, or wrong."""
    alias = targets[int(rng.integers(len(targets)))]
    kind = int(rng.integers(5))
    return [alias, f"The answer is {alias}.", alias.upper(), f"{alias} or maybe {distractor}", distractor][
        kind
    ]


def make_qa(n: int, rng: np.random.Generator) -> list[dict]:
    base = _read_jsonl(SHARED / "triviaQA_sample.jsonl") if SHARED.exists() else []
    records = []
    for i in range(n):
        if base:
            src = base[i % len(base)]
            question, answer = src["question"], src["answer"]
        else:
            aliases = [_words(rng, int(rng.integers(1, 4))) for _ in range(int(rng.integers(1, 10)))]
            question, answer = f"What is {_words(rng, 3)}?", "<OR>".join(aliases)
        distractor = _words(rng, 2)
        records.append(
            {
                "question": f"[{i}] {question}",
                "answer": answer,
                "model_output": _output_for(rng, answer.split("<OR>"), distractor),
            }
        )
    return records


def make_facts(n: int, rng: np.random.Generator) -> list[dict]:
    base = _read_jsonl(SHARED / "trex_sample.jsonl") if SHARED.exists() else []
    records = []
    for i in range(n):
        if base:
            src = base[i % len(base)]
            question, answers, category = src["question"], src["answers"], src["knowledge_category"]
        else:
            question, answers, category = _words(rng, 3) + " is", _words(rng, 1), "Synthetic"
        records.append(
            {
                "question": f"[{i}] {question}",
                "answers": answers,
                "knowledge_category": category,
                "model_output": " " + _output_for(rng, answers.split("<OR>"), _words(rng, 1)),
            }
        )
    return records


def make_summaries(n: int, rng: np.random.Generator) -> list[dict]:
    base = _read_jsonl(SHARED / "gigaword_sample.jsonl") if SHARED.exists() else []
    records = []
    for i in range(n):
        if base:
            src = base[i % len(base)]
            document, summary = src["document"], src["summary"]
        else:
            document, summary = _words(rng, 40), _words(rng, 8)
        words = document.split()
        start = int(rng.integers(max(1, len(words) - 12)))
        output = " ".join(words[start : start + int(rng.integers(6, 14))])
        records.append({"document": f"[{i}] {document}", "summary": summary, "model_output": output})
    return records


JOBS = {
    "qa_accuracy": (
        make_qa,
        {
            "model_input_location": "question",
            "target_output_location": "answer",
            "model_output_location": "model_output",
        },
    ),
    "factual_knowledge": (
        make_facts,
        {
            "model_input_location": "question",
            "target_output_location": "answers",
            "category_location": "knowledge_category",
            "model_output_location": "model_output",
        },
    ),
    "summarization_accuracy": (
        make_summaries,
        {
            "model_input_location": "document",
            "target_output_location": "summary",
            "model_output_location": "model_output",
        },
    ),
}


#: Lexical scores only: fmeval's BERTScore model cannot be loaded offline, so it is compared without it.
LEXICAL = {"qa_accuracy": {"bertscore": False}, "summarization_accuracy": {"bertscore": False}}


def run_fmops(algorithm: str, path: Path, locations: dict, n: int, out: Path) -> dict:
    started = time.perf_counter()
    run = evaluate(
        algorithm,
        config=LEXICAL.get(algorithm),
        data_config=DataConfig(dataset_name=path.stem, dataset_uri=str(path), **locations),
        num_records=n,
        output=out,
    )
    total = time.perf_counter() - started
    # Scoring alone (no file I/O), on the records already loaded.
    config = DataConfig(dataset_name=path.stem, dataset_uri=str(path), **locations)
    records = load_dataset(config, num_records=n).records
    algo = get_algorithm(algorithm, LEXICAL.get(algorithm))
    started, cpu_started = time.perf_counter(), time.process_time()
    score_dataset(algo, records)
    scoring = time.perf_counter() - started
    # CPU time of this (single-threaded) process: the one-core rate, even on a busy machine.
    scoring_cpu = time.process_time() - cpu_started
    return {"seconds": total, "scoring_seconds": scoring, "scoring_cpu_seconds": scoring_cpu, "run": run}


def run_fmeval(python: str, jobs: list[dict]) -> list[dict]:
    from fmops.metrics.nltk_data import ensure_nltk_data

    env = dict(os.environ, NLTK_DATA=str(ensure_nltk_data()), RAY_DISABLE_USAGE_STATS="1")
    with tempfile.TemporaryDirectory() as tmp:
        jobs_file, result_file = Path(tmp, "jobs.json"), Path(tmp, "result.json")
        jobs_file.write_text(json.dumps(jobs))
        done = subprocess.run(
            [python, str(HERE / "_fmeval_side.py"), str(jobs_file), str(result_file)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"fmeval failed:\n{done.stderr[-3000:]}")
        return json.loads(result_file.read_text())


def largest_differences(run, fmeval_result: dict) -> tuple[float, float]:
    dataset = max(
        (
            abs((run.output.score(name) or 0.0) - value)
            for name, value in fmeval_result["dataset_scores"].items()
            if name != "bertscore" and value is not None
        ),
        default=0.0,
    )
    ours = {
        (r.get("model_input"), r.get("model_output")): {s["name"]: s.get("value") for s in r["scores"]}
        for r in run.records
    }
    per_record = 0.0
    for record in fmeval_result["records"]:
        mine = ours[tuple(record["key"])]
        for name, value in record["scores"].items():
            if name in mine and value is not None:
                per_record = max(per_record, abs(mine[name] - value))
    return dataset, per_record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fmeval-python", help="Python of an environment with fmeval installed")
    parser.add_argument("--qa-records", type=int, default=10_000)
    parser.add_argument("--summarization-records", type=int, default=1_000)
    args = parser.parse_args()
    sizes = {
        "qa_accuracy": args.qa_records,
        "factual_knowledge": args.qa_records,
        "summarization_accuracy": args.summarization_records,
    }
    rng = np.random.default_rng(2024)

    with tempfile.TemporaryDirectory() as tmp:
        fmops_results, fmeval_jobs = {}, []
        for algorithm, (make, locations) in JOBS.items():
            n = sizes[algorithm]
            path = Path(tmp, f"bench_{algorithm}.jsonl")
            path.write_text("".join(json.dumps(r) + "\n" for r in make(n, rng)))
            # Warm caches that a long-lived process would have (nltk data, imports), then measure.
            evaluate(
                algorithm,
                config=LEXICAL.get(algorithm),
                data_config=DataConfig(dataset_name="warm", dataset_uri=str(path), **locations),
                num_records=5,
            )
            fmops_results[algorithm] = run_fmops(algorithm, path, locations, n, Path(tmp, f"out_{algorithm}"))
            fmeval_jobs.append(
                {
                    "algorithm": algorithm,
                    "name": path.stem,
                    "path": str(path),
                    "locations": locations,
                    "num_records": n,
                }
            )

        fmeval_results = (
            {r["algorithm"]: r for r in run_fmeval(args.fmeval_python, fmeval_jobs)}
            if args.fmeval_python
            else {}
        )

    print(
        f"{'algorithm':<24}{'records':>8}{'fmops rec/s':>13}{'scoring rec/s':>15}{'rec/CPU-s':>11}"
        + (
            f"{'fmeval s':>10}{'fmops s':>9}{'ratio':>8}{'max Δ dataset':>15}{'max Δ record':>14}"
            if fmeval_results
            else ""
        )
    )
    for algorithm, result in fmops_results.items():
        n = sizes[algorithm]
        line = (
            f"{algorithm:<24}{n:>8}{n / result['seconds']:>13,.0f}{n / result['scoring_seconds']:>15,.0f}"
            f"{n / result['scoring_cpu_seconds']:>11,.0f}"
        )
        if algorithm in fmeval_results:
            theirs = fmeval_results[algorithm]
            d_dataset, d_record = largest_differences(result["run"], theirs)
            line += (
                f"{theirs['seconds']:>10.1f}{result['seconds']:>9.2f}"
                f"{theirs['seconds'] / result['seconds']:>7.0f}x{d_dataset:>15.2e}{d_record:>14.2e}"
            )
        print(line)
    if fmeval_results:
        print(
            "fmeval ran with BERTScore stubbed to 0 (its model cannot be fetched offline): its times are a lower bound."
        )
    print("targets: lexical algorithms >= 10,000 records/s on one core; identical scores (max Δ 0).")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
