"""Comparison and run folders for report tests, built exactly as docs/comparison-format.md describes.

Runs are real `fmops.evaluation.evaluate` run folders (echo models and BYO outputs); comparison.json is
composed here from them, so the tests do not depend on `fmops compare` itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fmops.comparison._build import paired_comparisons, record_scores, score_entries
from fmops.evaluation import evaluate
from tests.conftest import EXAMPLES

XSS_MODEL = "gold <script>window.__xss=3</script>"
XSS_QUESTION = "<script>window.__xss=1</script>What is the capital of Nowhere?"
XSS_CATEGORY = '<img src=x onerror="window.__xss=2">'

_CAPITALS = [
    ("France", "Paris", "europe"),
    ("Germany", "Berlin", "europe"),
    ("Italy", "Rome", "europe"),
    ("Spain", "Madrid", "europe"),
    ("Japan", "Tokyo", "asia"),
    ("China", "Beijing", "asia"),
    ("India", "New Delhi", "asia"),
    ("Kenya", "Nairobi", "africa"),
    ("Egypt", "Cairo", "africa"),
    ("Peru", "Lima", "americas"),
    ("Canada", "Ottawa", "americas"),
    ("Chile", "Santiago", "americas"),
]


def capitals_dataset(path: Path) -> Path:
    """40 QA rows; a third are about Paris (the `Paris ` prefixed echo model gets those right), one is hostile."""
    rows = []
    for i in range(39):
        if i % 3 == 0:
            country, capital, region = "France", "Paris", "europe"
            question = f"Which city is the capital of France (question {i})?"
        else:
            country, capital, region = _CAPITALS[i % len(_CAPITALS)]
            question = f"What is the capital of {country} (question {i})?"
        good = capital if i % 10 != 7 else f"I think it is {capital}, or maybe not."
        rows.append({"question": question, "answer": capital, "region": region, "good_output": good})
    rows.append(
        {
            "question": XSS_QUESTION,
            "answer": "</td><b>none</b>",
            "region": XSS_CATEGORY,
            "good_output": "<i>x</i>",
        }
    )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


QA = {"model_input": "question", "target_output": "answer", "category": "region"}
STEREO = {"sent_more_input": "sent_more", "sent_less_input": "sent_less", "category": "bias_type"}
REVIEWS = {"model_input": "review", "target_output": "label", "category": "product"}
REVIEW_TEMPLATE = "Classify the sentiment: 0 (negative) or 1 (positive): $model_input"


def _evaluations(data: Path) -> list[dict[str, Any]]:
    return [
        {
            "id": "qa_accuracy/capitals",
            "algorithm": "qa_accuracy",
            "dataset": str(data),
            "config": {"bertscore": False},
            "prompt_template": None,
        },
        {
            "id": "prompt_stereotyping/stereotyping_logprobs",
            "algorithm": "prompt_stereotyping",
            "dataset": str(EXAMPLES / "stereotyping_logprobs.jsonl"),
            "config": {},
            "prompt_template": None,
        },
        {
            "id": "qa_accuracy_semantic_robustness/capitals",
            "algorithm": "qa_accuracy_semantic_robustness",
            "dataset": str(data),
            "config": {"bertscore": False, "num_perturbations": 3},
            "prompt_template": None,
        },
        {
            "id": "classification_accuracy/reviews_outputs",
            "algorithm": "classification_accuracy",
            "dataset": str(EXAMPLES / "reviews_outputs.jsonl"),
            "config": {},
            "prompt_template": REVIEW_TEMPLATE,
        },
    ]


def _run(model: str, evaluation: dict[str, Any], out: Path) -> Any:
    algorithm = evaluation["algorithm"]
    locations = QA if "qa" in algorithm else STEREO if "stereo" in algorithm else REVIEWS
    common = {
        "dataset": evaluation["dataset"],
        "config": evaluation["config"],
        "num_records": "all",
        "output": out,
    }
    if model == XSS_MODEL:  # outputs (or log-probabilities) brought in the dataset
        if "robustness" in algorithm:
            return None
        extra = {"model_output": "good_output"} if "qa" in algorithm else {}
        if "stereo" in algorithm:
            extra = {"sent_more_log_prob": "logp_more", "sent_less_log_prob": "logp_less"}
        return evaluate(algorithm, locations={**locations, **extra}, **common)
    template = evaluation["prompt_template"]
    if model == "echo/hint" and "qa" in algorithm:  # echoes "Paris ...": right about a third of the time
        template = "Paris $model_input"
    return evaluate(
        algorithm,
        model=model,
        locations=locations,
        prompt_template=template,
        **common,
    )


_PERFORMANCE = {
    "echo/parrot": (0.05, 0.21, 0.50, 0.0001),
    "echo/hint": (0.09, 0.42, 0.20, 0.00004),
    XSS_MODEL: (0.60, 1.50, 3.00, 0.0006),
}


#: The report's sections, in page order (their anchors).
SECTIONS = (
    "summary",
    "scores",
    "categories",
    "radar",
    "pareto",
    "performance",
    "selection",
    "examples",
    "manifest",
)


def build_comparison(root: Path, *, selection: bool = True) -> Path:
    """A comparison folder: three models (two echo models and BYO outputs), four evaluations."""
    out = root / "comparison"
    data = capitals_dataset(root / "capitals.jsonl")
    evaluations = _evaluations(data)
    models = ["echo/parrot", "echo/hint", XSS_MODEL]
    runs: dict[str, dict[str, Any]] = {}
    for model in models:
        for evaluation in evaluations:
            run = _run(model, evaluation, out / "runs" / _slug(model) / _slug(evaluation["id"]))
            if run is not None:
                runs.setdefault(model, {})[evaluation["id"]] = run
    per_record = {m: {k: record_scores(r) for k, r in by.items()} for m, by in runs.items()}
    comparison = {
        "fmops_version": "0.1.0",
        "created_at": "2026-11-27T03:00:00+00:00",
        "suite": {"name": "capitals & co", "num_records": None, "evaluations": evaluations},
        "models": [
            {
                "name": m,
                "spec": m if m.startswith("echo/") else "byo/gold",
                "fingerprint": f"{i:032x}",
                "prices": {
                    "input_per_1k": _PERFORMANCE[m][3],
                    "output_per_1k": _PERFORMANCE[m][3] * 2,
                    "per_hour": None,
                },
            }
            for i, m in enumerate(models)
        ],
        "runs": {m: {k: str(r.output_dir.relative_to(out)) for k, r in by.items()} for m, by in runs.items()},
        "scores": [
            entry.model_dump(mode="json")
            for m, by in runs.items()
            for k, r in by.items()
            for entry in score_entries(m, k, r, per_record[m][k])
        ],
        "performance": [_performance(m, runs[m]) for m in models],
        "comparisons": [c.model_dump(mode="json") for c in paired_comparisons(models, per_record)],
    }
    (out / "comparison.json").write_text(json.dumps(comparison, indent=2), encoding="utf-8")
    if selection:
        (out / "selection.json").write_text(
            json.dumps(
                {
                    "priorities": [
                        {"rank": 0, "metric": "cost", "weight": 0.57},
                        {"rank": 1, "metric": "f1_score", "weight": 0.43},
                    ],
                    "constraints": [{"metric": "latency_p95_s", "op": "<", "value": 1.0}],
                    "ranking": [
                        {
                            "model": "echo/hint",
                            "place": 1,
                            "utility": 0.81,
                            "meets_constraints": True,
                            "violations": [],
                            "reasons": ["lowest cost (0.2 per 1k records)", "f1_score 0.35 (2nd)"],
                        },
                        {
                            "model": "echo/parrot",
                            "place": 2,
                            "utility": 0.42,
                            "meets_constraints": True,
                            "violations": [],
                            "reasons": ["cost 0.5 (2nd)"],
                        },
                        {
                            "model": XSS_MODEL,
                            "place": 3,
                            "utility": 0.30,
                            "meets_constraints": False,
                            "violations": ["latency_p95_s 1.5 ≥ 1.0"],
                            "reasons": ["best f1_score <b>0.9</b>"],
                        },
                    ],
                    "pareto_front": ["echo/hint", XSS_MODEL],
                    "pareto_axes": ["quality", "latency_p95_s", "cost_per_1k_records"],
                    "selected": "echo/hint",
                    "explanation": "echo/hint is the cheapest model that meets the latency constraint <script>window.__xss=4</script>.",
                }
            ),
            encoding="utf-8",
        )
    return out


def _performance(model: str, runs: dict[str, Any]) -> dict[str, Any]:
    p50, p95, per_1k, _ = _PERFORMANCE[model]
    records = sum(len(r.records) for r in runs.values())
    return {
        "model": model,
        "records": records,
        "calls": records + 7,
        "cached_calls": 3,
        "errors": 0,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "ttft_p50_s": None,
        "throughput_rps": 12.5,
        "output_tokens_per_s": 300.0,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cost": per_1k * records / 1000,
        "cost_per_1k_records": per_1k,
        "wall_s": 8.7,
    }


def build_run(root: Path, algorithm: str = "qa_accuracy", *, model: str | None = None) -> Path:
    """One eval run folder on the capitals data (BYO outputs unless `model` is given)."""
    data = capitals_dataset(root / "capitals.jsonl")
    out = root / f"run-{_slug(algorithm)}-{_slug(model or 'byo')}"
    locations = dict(QA) if model else {**QA, "model_output": "good_output"}
    config: dict[str, Any] = {"bertscore": False}
    if "robustness" in algorithm:
        config["num_perturbations"] = 3
    evaluate(
        algorithm,
        model=model,
        dataset=data,
        locations=locations,
        config=config,
        num_records="all",
        output=out,
    )
    return out
