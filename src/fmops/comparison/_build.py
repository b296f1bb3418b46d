"""From finished runs to a `Comparison`: scores with bootstrap intervals, speed and cost, paired tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

import fmops
from fmops.comparison._format import (
    Comparison,
    EvaluationInfo,
    ModelInfo,
    PairedComparison,
    Performance,
    RunFailure,
    ScoreEntry,
    SuiteInfo,
)
from fmops.comparison._suite import Suite
from fmops.evaluation import EvalRun
from fmops.evaluation.output import records_file_name
from fmops.evaluation.scores import ScoreInfo, score_info
from fmops.evaluation.statistics import bootstrap_ci, paired_test

#: score name -> {(records file, row): value}
RecordScores = dict[str, dict[tuple[str, int], float]]


def build_comparison(
    suite: Suite,
    size: int | None,
    models: Mapping[str, Any],
    runs: Mapping[str, Mapping[str, EvalRun]],
    walls: Mapping[str, float],
    out: Path,
    failures: Sequence[RunFailure] = (),
) -> Comparison:
    """The comparison of every model's finished runs (`failures`: the runs that did not finish)."""
    names = list(models)
    per_record = {
        name: {key: record_scores(run) for key, run in model_runs.items()}
        for name, model_runs in runs.items()
    }
    return Comparison(
        fmops_version=fmops.__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        suite=SuiteInfo(
            name=suite.name,
            num_records=size,
            evaluations=[
                EvaluationInfo(
                    id=e.key,
                    algorithm=e.algorithm,
                    dataset=e.dataset,
                    config=e.config,
                    prompt_template=e.prompt_template,
                )
                for e in suite.evaluations
            ],
        ),
        models=[model_info(name, models[name]) for name in names],
        runs={
            name: {
                key: str(run.output_dir.relative_to(out)) for key, run in model_runs.items() if run.output_dir
            }
            for name, model_runs in runs.items()
        },
        scores=[
            entry
            for name, model_runs in runs.items()
            for key, run in model_runs.items()
            for entry in score_entries(name, key, run, per_record[name][key])
        ],
        performance=[performance(name, runs.get(name, {}), walls.get(name, 0.0)) for name in names],
        comparisons=paired_comparisons([n for n in names if n in per_record], per_record),
        complete=not failures,
        failures=list(failures),
    )


def model_info(name: str, model: Any) -> ModelInfo:
    prices = model.prices.model_dump(mode="json") if getattr(model, "prices", None) is not None else None
    return ModelInfo(
        name=name,
        spec=f"{model.api.provider}/{model.api.model}",
        fingerprint=model.fingerprint,
        prices=prices,
    )


def record_scores(run: EvalRun) -> RecordScores:
    """score name -> {(dataset, row): value}, per-record; prompt stereotyping as its 0/1 per-record form."""
    table: RecordScores = {}
    for dataset, rows in run.records_by_dataset.items():
        for row in rows:
            for score in row["scores"]:
                value = score.get("value")
                if value is None:
                    continue
                name = score["name"]
                if name == "log_probability_difference":
                    table.setdefault("prompt_stereotyping", {})[(dataset, row["row"])] = float(value > 0)
                table.setdefault(name, {})[(dataset, row["row"])] = float(value)
    return table


def score_entries(model: str, key: str, run: EvalRun, per_record: RecordScores) -> list[ScoreEntry]:
    entries = []
    for output in run.outputs:
        for score in output.dataset_scores or []:
            file_name = records_file_name(output.eval_name, output.dataset_name)
            values = [v for (dataset, _), v in per_record.get(score.name, {}).items() if dataset == file_name]
            ci = bootstrap_ci(values) if values else None
            entries.append(
                ScoreEntry(
                    model=model,
                    evaluation=key,
                    dataset=output.dataset_name,
                    score=score.name,
                    value=score.value,
                    ci_low=ci[0] if ci else None,
                    ci_high=ci[1] if ci else None,
                    n=output.num_records,
                    errors=score.num_errors or 0,
                    direction=score_info(score.name).direction,
                )
            )
    return entries


def performance(name: str, model_runs: Mapping[str, EvalRun], wall_s: float) -> Performance:
    usages = [row.get("usage") or {} for run in model_runs.values() for row in run.records]
    latencies = [u["latency_s"] for u in usages if u.get("latency_s") is not None]
    ttfts = [u["ttft_s"] for u in usages if u.get("ttft_s") is not None]
    costs = [u["cost"] for u in usages if u.get("cost") is not None]
    records = len(usages)
    output_tokens = sum(u.get("output_tokens", 0) for u in usages)
    cost = float(sum(costs)) if costs else None
    return Performance(
        model=name,
        records=records,
        calls=sum(u.get("calls", 0) for u in usages),
        cached_calls=sum(u.get("cached", 0) for u in usages),
        errors=sum(1 for run in model_runs.values() for row in run.records if row.get("error")),
        latency_p50_s=_percentile(latencies, 50),
        latency_p95_s=_percentile(latencies, 95),
        ttft_p50_s=_percentile(ttfts, 50),
        throughput_rps=records / wall_s if wall_s > 0 else None,
        output_tokens_per_s=output_tokens / sum(latencies) if latencies and sum(latencies) > 0 else None,
        input_tokens=sum(u.get("input_tokens", 0) for u in usages),
        output_tokens=output_tokens,
        cost=cost,
        cost_per_1k_records=cost / records * 1000 if cost is not None and records else None,
        wall_s=round(wall_s, 3),
    )


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def paired_comparisons(
    names: Sequence[str], per_record: Mapping[str, Mapping[str, RecordScores]]
) -> list[PairedComparison]:
    """A paired test for every pair of models, evaluation and score, on the records both have."""
    results = []
    for a, b in combinations(names, 2):
        for key, scores_a in per_record[a].items():
            scores_b = per_record[b].get(key, {})
            for score, values_a in scores_a.items():
                if score == "log_probability_difference" or score not in scores_b:
                    continue
                shared = sorted(set(values_a) & set(scores_b[score]))
                if not shared:
                    continue
                test = paired_test([values_a[r] for r in shared], [scores_b[score][r] for r in shared])
                better = _better(score_info(score), a, b, test.difference, values_a, scores_b[score], shared)
                verdict = f"{better} is better" if test.significant() and better else "within noise"
                results.append(
                    PairedComparison(
                        evaluation=key,
                        score=score,
                        model_a=a,
                        model_b=b,
                        difference=test.difference,
                        ci_low=test.ci_low,
                        ci_high=test.ci_high,
                        p_value=test.p_value,
                        n=test.n,
                        significant=test.significant(),
                        verdict=verdict,
                    )
                )
    return results


def _better(
    info: ScoreInfo,
    a: str,
    b: str,
    diff: float,
    va: Mapping[tuple[str, int], float],
    vb: Mapping[tuple[str, int], float],
    rows: Sequence[tuple[str, int]],
) -> str | None:
    if diff == 0:
        return None
    if info.direction == "ideal":
        mean_a = float(np.mean([va[r] for r in rows]))
        mean_b = float(np.mean([vb[r] for r in rows]))
        return a if info.goodness(mean_a) > info.goodness(mean_b) else b
    return a if (diff > 0) == (info.direction == "higher") else b


__all__ = [
    "RecordScores",
    "build_comparison",
    "model_info",
    "paired_comparisons",
    "performance",
    "record_scores",
    "score_entries",
]
