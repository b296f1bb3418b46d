"""`fmops compare`: one suite, several models, the same sampled records; scores with uncertainty, speed, cost.

Every model × evaluation is an ordinary run folder under `runs/`; `comparison.json` gathers scores with
bootstrap intervals, per-model latency/throughput/tokens/cost, and paired tests between models. The whole
suite is checked (algorithms, datasets and their columns, templates, models) before any model call.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import fmops
from fmops.core.errors import BadInputError
from fmops.data import load_dataset
from fmops.evaluation.algorithms import get_algorithm
from fmops.evaluation.executors import Executor, get_executor, remember_model_spec
from fmops.evaluation.output import records_file_name
from fmops.evaluation.prompts import PromptTemplate
from fmops.evaluation.run import EvalRun, _dataset_plans, _now, evaluate
from fmops.evaluation.scores import score_info
from fmops.evaluation.statistics import bootstrap_ci, paired_test


class SuiteEvaluation(BaseModel):
    """One algorithm on one dataset (a file, URI or built-in name), with its locations and config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str
    dataset: str | None = None
    locations: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    prompt_template: str | None = None
    num_records: int | None = Field(default=None, gt=0)
    id: str | None = None

    @property
    def key(self) -> str:
        return self.id or f"{self.algorithm}/{_dataset_label(self.dataset)}"


class Suite(BaseModel):
    """What to run for every model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "suite"
    num_records: int | None = Field(default=None, gt=0)
    models: list[str] = Field(default_factory=list)
    generate: dict[str, Any] = Field(default_factory=dict)
    evaluations: list[SuiteEvaluation]

    @classmethod
    def from_file(cls, path: str | Path) -> Suite:
        file = Path(path)
        if not file.is_file():
            raise BadInputError(f"{file}: no such suite file")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise BadInputError(f"{file}: not valid YAML ({exc})") from None
        try:
            suite = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadInputError(f"{file}: {where}: {first['msg']}") from None
        base = file.parent
        return suite.model_copy(update={"evaluations": [_relative_to(e, base) for e in suite.evaluations]})


def _relative_to(evaluation: SuiteEvaluation, base: Path) -> SuiteEvaluation:
    """Dataset paths in a suite file are relative to the file (names and URIs are left alone)."""
    dataset = evaluation.dataset
    if dataset and "://" not in dataset and not Path(dataset).is_absolute() and (base / dataset).exists():
        return evaluation.model_copy(update={"dataset": str(base / dataset)})
    return evaluation


def _dataset_label(dataset: str | None) -> str:
    if dataset is None:
        return "builtin"
    name = Path(dataset.rstrip("/")).name
    return re.sub(r"\.(jsonl|jsonlines|json|csv|parquet|pq)$", "", name)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


ProgressFn = Callable[[str], None]


def compare(
    suite: Suite | str | Path,
    models: Sequence[str] = (),
    output: str | Path = "comparison",
    *,
    model_args: Mapping[str, Sequence[str]] | None = None,
    num_records: int | None = None,
    on_event: ProgressFn | None = None,
    executor: str | Executor = "local",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Run `suite` for every model into `output`; returns (and writes) comparison.json's content.

    `executor`: "local" or "ray" (on the cluster at `ray_address`), shared by every model's runs.
    """
    the_suite = suite if isinstance(suite, Suite) else Suite.from_file(suite)
    names = list(models) or the_suite.models
    if not names:
        raise BadInputError("no models: pass --model (repeatable) or list `models:` in the suite")
    if len(set(names)) != len(names):
        raise BadInputError(f"a model is listed twice: {', '.join(names)}")
    if not the_suite.evaluations:
        raise BadInputError("the suite has no evaluations")
    out = Path(output)
    size = num_records or the_suite.num_records
    _preflight(the_suite, size)
    resolved = {name: _open_model(name, (model_args or {}).get(name)) for name in names}
    runner = get_executor(executor, ray_address=ray_address)  # executor: one for every model's runs
    say = on_event or (lambda _message: None)

    def run_model(name: str) -> tuple[str, dict[str, EvalRun], float]:
        started = time.perf_counter()
        runs = {}
        for evaluation in the_suite.evaluations:
            runs[evaluation.key] = evaluate(
                evaluation.algorithm,
                model=resolved[name],
                dataset=evaluation.dataset,
                locations=evaluation.locations or None,
                config=evaluation.config,
                num_records=evaluation.num_records or size,
                prompt_template=evaluation.prompt_template,
                generate_config=the_suite.generate or None,
                output=out / "runs" / _slug(name) / _slug(evaluation.key),
                executor=runner,
            )
            say(f"{name}: {evaluation.key} done")
        return name, runs, time.perf_counter() - started

    try:
        # Models run side by side (remote providers overlap their latency); each runs its suite in order.
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            finished = list(pool.map(run_model, names))
    finally:
        if runner is not executor:  # executor: close the one made here
            runner.close()
        for model in resolved.values():
            model.close()
    runs = {name: model_runs for name, model_runs, _ in finished}
    walls = {name: wall for name, _, wall in finished}
    comparison = _comparison(the_suite, size, resolved, runs, walls, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
    return comparison


def _open_model(name: str, args: Sequence[str] | None) -> Any:
    from fmops.models import get_model

    model = get_model(name, list(args or []))
    remember_model_spec(model, name, list(args or []))  # executor: workers build it from its spec
    return model


def _preflight(suite: Suite, size: int | None) -> None:
    """Every algorithm, config, dataset (with the columns it needs) and template, before any model call."""
    for evaluation in suite.evaluations:
        where = f"suite evaluation {evaluation.key}"
        try:
            algo = get_algorithm(evaluation.algorithm, evaluation.config)
            plans = _dataset_plans(
                algo, evaluation.dataset, None, evaluation.locations or None, with_model=True
            )
            for plan in plans:
                data = load_dataset(
                    plan.config,
                    num_records=evaluation.num_records or size,
                    required_columns=algo.model_required_columns,
                )
                template = PromptTemplate(evaluation.prompt_template or plan.template)
                template.check_columns({*data.columns, "model_input"}, data.uri)
        except BadInputError as exc:
            raise BadInputError(f"{where}: {exc}") from None


def _comparison(
    suite: Suite,
    size: int | None,
    models: Mapping[str, Any],
    runs: Mapping[str, Mapping[str, EvalRun]],
    walls: Mapping[str, float],
    out: Path,
) -> dict[str, Any]:
    names = list(runs)
    per_record = {
        name: {key: _record_scores(run) for key, run in model_runs.items()}
        for name, model_runs in runs.items()
    }
    return {
        "fmops_version": fmops.__version__,
        "created_at": _now(),
        "suite": {
            "name": suite.name,
            "num_records": size,
            "evaluations": [
                {
                    "id": e.key,
                    "algorithm": e.algorithm,
                    "dataset": e.dataset,
                    "config": e.config,
                    "prompt_template": e.prompt_template,
                }
                for e in suite.evaluations
            ],
        },
        "models": [_model_entry(name, models[name]) for name in names],
        "runs": {
            name: {
                key: str(run.output_dir.relative_to(out)) for key, run in model_runs.items() if run.output_dir
            }
            for name, model_runs in runs.items()
        },
        "scores": [
            entry
            for name, model_runs in runs.items()
            for key, run in model_runs.items()
            for entry in _score_entries(name, key, run, per_record[name][key])
        ],
        "performance": [_performance(name, runs[name], walls[name]) for name in names],
        "comparisons": _comparisons(names, per_record),
    }


def _model_entry(name: str, model: Any) -> dict[str, Any]:
    prices = model.prices.model_dump(mode="json") if getattr(model, "prices", None) is not None else None
    return {
        "name": name,
        "spec": f"{model.api.provider}/{model.api.model}",
        "fingerprint": model.fingerprint,
        "prices": prices,
    }


def _record_scores(run: EvalRun) -> dict[str, dict[tuple[str, int], float]]:
    """score name -> {(dataset, row): value}, per-record; prompt stereotyping as its 0/1 per-record form."""
    table: dict[str, dict[tuple[str, int], float]] = {}
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


def _score_entries(
    model: str, key: str, run: EvalRun, per_record: Mapping[str, Mapping[tuple[str, int], float]]
) -> list[dict[str, Any]]:
    entries = []
    for output in run.outputs:
        for score in output.dataset_scores or []:
            file_name = records_file_name(output.eval_name, output.dataset_name)
            values = [v for (dataset, _), v in per_record.get(score.name, {}).items() if dataset == file_name]
            ci = bootstrap_ci(values) if values else None
            entries.append(
                {
                    "model": model,
                    "evaluation": key,
                    "dataset": output.dataset_name,
                    "score": score.name,
                    "value": score.value,
                    "ci_low": ci[0] if ci else None,
                    "ci_high": ci[1] if ci else None,
                    "n": output.num_records,
                    "errors": score.num_errors or 0,
                    "direction": score_info(score.name).direction,
                }
            )
    return entries


def _performance(name: str, model_runs: Mapping[str, EvalRun], wall_s: float) -> dict[str, Any]:
    usages = [row.get("usage") or {} for run in model_runs.values() for row in run.records]
    latencies = [u["latency_s"] for u in usages if u.get("latency_s") is not None]
    ttfts = [u["ttft_s"] for u in usages if u.get("ttft_s") is not None]
    costs = [u["cost"] for u in usages if u.get("cost") is not None]
    records = len(usages)
    output_tokens = sum(u.get("output_tokens", 0) for u in usages)
    cost = float(sum(costs)) if costs else None
    return {
        "model": name,
        "records": records,
        "calls": sum(u.get("calls", 0) for u in usages),
        "cached_calls": sum(u.get("cached", 0) for u in usages),
        "errors": sum(1 for run in model_runs.values() for row in run.records if row.get("error")),
        "latency_p50_s": _percentile(latencies, 50),
        "latency_p95_s": _percentile(latencies, 95),
        "ttft_p50_s": _percentile(ttfts, 50),
        "throughput_rps": records / wall_s if wall_s > 0 else None,
        "output_tokens_per_s": output_tokens / sum(latencies) if latencies and sum(latencies) > 0 else None,
        "input_tokens": sum(u.get("input_tokens", 0) for u in usages),
        "output_tokens": output_tokens,
        "cost": cost,
        "cost_per_1k_records": cost / records * 1000 if cost is not None and records else None,
        "wall_s": round(wall_s, 3),
    }


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _comparisons(
    names: Sequence[str],
    per_record: Mapping[str, Mapping[str, Mapping[str, Mapping[tuple[str, int], float]]]],
) -> list[dict[str, Any]]:
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
                info = score_info(score)
                better = _better(info, a, b, test.difference, scores_a[score], scores_b[score], shared)
                verdict = f"{better} is better" if test.significant() and better else "within noise"
                results.append(
                    {
                        "evaluation": key,
                        "score": score,
                        "model_a": a,
                        "model_b": b,
                        "difference": test.difference,
                        "ci_low": test.ci_low,
                        "ci_high": test.ci_high,
                        "p_value": test.p_value,
                        "n": test.n,
                        "significant": test.significant(),
                        "verdict": verdict,
                    }
                )
    return results


def _better(info: Any, a: str, b: str, diff: float, va: Mapping, vb: Mapping, rows: Sequence) -> str | None:
    if diff == 0:
        return None
    if info.direction == "ideal":
        mean_a = float(np.mean([va[r] for r in rows]))
        mean_b = float(np.mean([vb[r] for r in rows]))
        return a if info.goodness(mean_a) > info.goodness(mean_b) else b
    return a if (diff > 0) == (info.direction == "higher") else b
