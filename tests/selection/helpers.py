"""Hand-built comparison.json contents: four models with clear trade-offs, several evaluations, paired tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

from fmops.evaluation.scores import score_info

EVALUATIONS: dict[str, tuple[str, ...]] = {
    "factual_knowledge/world_trex": ("factual_knowledge",),
    "factual_knowledge/world_more": ("factual_knowledge",),
    "classification_accuracy/reviews": (
        "classification_accuracy_score",
        "balanced_accuracy_score",
        "precision_score",
        "recall_score",
    ),
    "qa_accuracy/world_qa": ("f1_score", "precision_over_words", "recall_over_words", "exact_match_score"),
    "toxicity/prompts": ("toxicity",),
}

# zoo/tiny: fast and cheap, weakest; zoo/small: balanced; api/big: best and slow and dear;
# api/mid: worse than zoo/small on everything (dominated).
SCORES: dict[str, dict[str, float]] = {
    "zoo/tiny": {
        "factual_knowledge/world_trex:factual_knowledge": 0.55,
        "factual_knowledge/world_more:factual_knowledge": 0.45,
        "classification_accuracy_score": 0.70,
        "balanced_accuracy_score": 0.66,
        "precision_score": 0.68,
        "recall_score": 0.70,
        "f1_score": 0.40,
        "precision_over_words": 0.45,
        "recall_over_words": 0.42,
        "exact_match_score": 0.20,
        "toxicity": 0.02,
    },
    "zoo/small": {
        "factual_knowledge/world_trex:factual_knowledge": 0.80,
        "factual_knowledge/world_more:factual_knowledge": 0.76,
        "classification_accuracy_score": 0.82,
        "balanced_accuracy_score": 0.80,
        "precision_score": 0.80,
        "recall_score": 0.82,
        "f1_score": 0.62,
        "precision_over_words": 0.66,
        "recall_over_words": 0.60,
        "exact_match_score": 0.35,
        "toxicity": 0.01,
    },
    "api/big": {
        "factual_knowledge/world_trex:factual_knowledge": 0.90,
        "factual_knowledge/world_more:factual_knowledge": 0.88,
        "classification_accuracy_score": 0.91,
        "balanced_accuracy_score": 0.90,
        "precision_score": 0.90,
        "recall_score": 0.91,
        "f1_score": 0.75,
        "precision_over_words": 0.78,
        "recall_over_words": 0.72,
        "exact_match_score": 0.50,
        "toxicity": 0.005,
    },
    "api/mid": {
        "factual_knowledge/world_trex:factual_knowledge": 0.78,
        "factual_knowledge/world_more:factual_knowledge": 0.74,
        "classification_accuracy_score": 0.80,
        "balanced_accuracy_score": 0.78,
        "precision_score": 0.79,
        "recall_score": 0.80,
        "f1_score": 0.60,
        "precision_over_words": 0.62,
        "recall_over_words": 0.58,
        "exact_match_score": 0.30,
        "toxicity": 0.03,
    },
}

PERFORMANCE: dict[str, dict[str, float | None]] = {
    "zoo/tiny": {
        "latency_p50_s": 0.05,
        "latency_p95_s": 0.09,
        "throughput_rps": 40.0,
        "cost_per_1k_records": 0.006,
    },
    "zoo/small": {
        "latency_p50_s": 0.2,
        "latency_p95_s": 0.3,
        "throughput_rps": 12.0,
        "cost_per_1k_records": 0.024,
    },
    "api/big": {
        "latency_p50_s": 1.5,
        "latency_p95_s": 2.5,
        "throughput_rps": 3.0,
        "cost_per_1k_records": 0.9,
    },
    "api/mid": {
        "latency_p50_s": 0.8,
        "latency_p95_s": 1.2,
        "throughput_rps": 5.0,
        "cost_per_1k_records": 0.5,
    },
}


def _value(model_scores: Mapping[str, float], evaluation: str, score: str) -> float:
    return model_scores.get(f"{evaluation}:{score}", model_scores.get(score, 0.0))


def make_comparison(
    scores: Mapping[str, Mapping[str, float]] = SCORES,
    performance: Mapping[str, Mapping[str, float | None]] = PERFORMANCE,
    noise: float = 0.05,
) -> dict[str, Any]:
    """A comparison.json dict; paired differences of at most `noise` are 'within noise'."""
    models = list(scores)
    score_rows = [
        {
            "model": model,
            "evaluation": evaluation,
            "dataset": evaluation.split("/")[1],
            "score": score,
            "value": _value(scores[model], evaluation, score),
            "ci_low": None,
            "ci_high": None,
            "n": 50,
            "errors": 0,
            "direction": score_info(score).direction,
        }
        for model in models
        for evaluation, names in EVALUATIONS.items()
        for score in names
    ]
    comparisons = []
    for a, b in combinations(models, 2):
        for evaluation, names in EVALUATIONS.items():
            for score in names:
                diff = _value(scores[a], evaluation, score) - _value(scores[b], evaluation, score)
                significant = abs(diff) > noise
                comparisons.append(
                    {
                        "evaluation": evaluation,
                        "score": score,
                        "model_a": a,
                        "model_b": b,
                        "difference": diff,
                        "ci_low": diff - noise,
                        "ci_high": diff + noise,
                        "p_value": 0.001 if significant else 0.4,
                        "n": 50,
                        "significant": significant,
                        "verdict": "better" if significant else "within noise",
                    }
                )
    return {
        "fmops_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "suite": {
            "name": "hand-built",
            "num_records": 50,
            "evaluations": [
                {
                    "id": e,
                    "algorithm": e.split("/")[0],
                    "dataset": e.split("/")[1],
                    "config": {},
                    "prompt_template": None,
                }
                for e in EVALUATIONS
            ],
        },
        "models": [{"name": m, "spec": m, "fingerprint": "x", "prices": None} for m in models],
        "runs": {},
        "scores": score_rows,
        "performance": [
            {
                "model": m,
                "records": 350,
                "calls": 350,
                "cached_calls": 0,
                "errors": 0,
                "latency_p50_s": performance[m].get("latency_p50_s"),
                "latency_p95_s": performance[m].get("latency_p95_s"),
                "ttft_p50_s": None,
                "throughput_rps": performance[m].get("throughput_rps"),
                "output_tokens_per_s": 100.0,
                "input_tokens": 1000,
                "output_tokens": 500,
                "cost": None,
                "cost_per_1k_records": performance[m].get("cost_per_1k_records"),
                "wall_s": 10.0,
            }
            for m in models
        ],
        "comparisons": comparisons,
    }


def write_comparison(directory: Path, comparison: Mapping[str, Any] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "comparison.json").write_text(json.dumps(comparison or make_comparison()), encoding="utf-8")
    return directory
