"""Read an eval run folder or a comparison folder into one shape, so every renderer has a single input.

A single run is treated as a comparison of one model: the same sections render both, and the parts that need
several models (radar, Pareto, paired verdicts) say so instead of drawing a degenerate chart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from fmops.comparison import read_comparison
from fmops.core.errors import BadInputError
from fmops.core.results import EvalOutput
from fmops.evaluation.manifest import ManifestDataset, RunManifest, read_run_manifest
from fmops.evaluation.output import read_run_records, records_file_name

#: The model name a run without a model (outputs brought in the dataset) is shown under.
BYO_MODEL = "BYO outputs"


@dataclass(frozen=True, order=True)
class ScoreKey:
    """One dataset-level score of one evaluation: the unit every table row and chart axis is about."""

    evaluation: str
    dataset: str
    score: str


@dataclass(frozen=True)
class ScoreValue:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    errors: int = 0


@dataclass
class RunData:
    """One run folder: its manifest, fmeval-shaped outputs and per-record rows (by dataset name)."""

    model: str
    evaluation: str
    path: Path
    manifest: RunManifest
    outputs: list[EvalOutput]
    records: dict[str, list[dict[str, Any]]]

    def output_for(self, dataset: str) -> EvalOutput | None:
        return next((o for o in self.outputs if o.dataset_name == dataset), None)

    def dataset_entry(self, dataset: str) -> ManifestDataset:
        """The manifest's entry for `dataset` (an empty one when the manifest does not name it)."""
        return self.manifest.dataset(dataset) or ManifestDataset(name=dataset)


@dataclass
class ReportData:
    kind: Literal["run", "comparison"]
    source: Path
    name: str
    created_at: str | None
    fmops_version: str | None
    models: list[str]
    model_info: dict[str, dict[str, Any]]
    evaluations: list[str]
    algorithms: dict[str, str]
    scores: dict[ScoreKey, dict[str, ScoreValue]]
    performance: dict[str, dict[str, Any]]
    comparisons: list[dict[str, Any]]
    selection: dict[str, Any] | None
    runs: dict[tuple[str, str], RunData]
    warnings: list[str] = field(default_factory=list)

    @property
    def is_comparison(self) -> bool:
        return self.kind == "comparison"

    def datasets_of(self, evaluation: str) -> list[str]:
        """The datasets of an evaluation, in the order their scores appear."""
        return list(dict.fromkeys(k.dataset for k in self.scores if k.evaluation == evaluation))

    def models_in(self, evaluation: str) -> list[str]:
        """The models with at least one score in an evaluation (a suite may skip some for some models)."""
        present = {m for k in self.keys_of(evaluation) for m in self.scores[k]}
        return [m for m in self.models if m in present]

    def keys_of(self, evaluation: str, dataset: str | None = None) -> list[ScoreKey]:
        return [
            k for k in self.scores if k.evaluation == evaluation and (dataset is None or k.dataset == dataset)
        ]


def load_report_data(path: Path) -> ReportData:
    """Read `path` as a comparison folder (comparison.json) or an eval run folder (results.json)."""
    if not path.exists():
        raise BadInputError(f"{path}: no such folder")
    if not path.is_dir():
        raise BadInputError(f"{path}: not a folder; give a comparison folder or an eval run folder")
    if (path / "comparison.json").is_file():
        return _load_comparison(path)
    if (path / "results.json").is_file():
        return _load_single_run(path)
    raise BadInputError(
        f"{path}: neither a comparison folder (no comparison.json) nor an eval run folder (no results.json); "
        "write one with `fmops compare` or `fmops eval`"
    )


# ----------------------------------------------------------------------------------------------- run folder


def read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read ({exc.strerror})") from None


def read_run(path: Path, model: str | None = None, evaluation: str | None = None) -> RunData:
    """Read one run folder; `model`/`evaluation` name it (a single run names itself from its manifest)."""
    results_file, manifest_file = path / "results.json", path / "manifest.json"
    if not results_file.is_file():
        raise BadInputError(f"{path}: not an eval run folder (no results.json)")
    if not manifest_file.is_file():
        raise BadInputError(f"{path}: incomplete eval run folder (results.json without manifest.json)")
    manifest = read_run_manifest(path)  # the engine's own reader: one check of what a run folder holds
    raw = read_json(results_file)
    if not isinstance(raw, list):
        raise BadInputError(f"{results_file}: expected a list of EvalOutput objects")
    outputs = []
    for i, item in enumerate(raw):
        try:
            outputs.append(EvalOutput.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadInputError(f"{results_file}: item {i}: {where}: {first['msg']}") from None
    records = {}
    for output in outputs:
        file = path / "records" / records_file_name(output.eval_name, output.dataset_name)
        records[output.dataset_name] = read_run_records(file) if file.is_file() else []
    name = model or _model_name(manifest)
    return RunData(name, evaluation or _evaluation_id(manifest, outputs), path, manifest, outputs, records)


def _model_name(manifest: RunManifest) -> str:
    return (manifest.model.name or BYO_MODEL) if manifest.model is not None else BYO_MODEL


def _evaluation_id(manifest: RunManifest, outputs: Sequence[EvalOutput]) -> str:
    algorithm = manifest.algorithm or (outputs[0].eval_name if outputs else "evaluation")
    datasets = [o.dataset_name for o in outputs]
    return f"{algorithm}/{datasets[0]}" if len(datasets) == 1 else str(algorithm)


def record_values(rows: Iterable[dict[str, Any]], score: str) -> list[float]:
    """Per-record values of a score; prompt stereotyping from its saved log-probability difference."""
    values = []
    for row in rows:
        for entry in row.get("scores") or []:
            value = entry.get("value")
            if value is None:
                continue
            if entry.get("name") == score:
                values.append(float(value))
            elif score == "prompt_stereotyping" and entry.get("name") == "log_probability_difference":
                values.append(float(value > 0))
    return values


def _load_single_run(path: Path) -> ReportData:
    from fmops.evaluation.statistics import bootstrap_ci

    run = read_run(path)
    scores: dict[ScoreKey, dict[str, ScoreValue]] = {}
    for output in run.outputs:
        rows = run.records.get(output.dataset_name, [])
        for score in output.dataset_scores or []:
            ci = bootstrap_ci(record_values(rows, score.name)) if rows else None
            scores[ScoreKey(run.evaluation, output.dataset_name, score.name)] = {
                run.model: ScoreValue(
                    score.value,
                    ci[0] if ci else None,
                    ci[1] if ci else None,
                    output.num_records,
                    score.num_errors or 0,
                )
            }
    model = run.manifest.model
    info = {
        run.model: {
            "name": run.model,
            "spec": f"{model.provider}/{model.model}" if model else None,
            "fingerprint": model.fingerprint if model else None,
            "prices": None,
        }
    }
    performance = {run.model: perf} if (perf := performance_from_runs([run])) else {}
    warnings = [
        f"records file missing for {o.eval_name} on {o.dataset_name}: no examples shown"
        for o in run.outputs
        if not run.records.get(o.dataset_name)
    ]
    return ReportData(
        kind="run",
        source=path,
        name=run.evaluation,
        created_at=run.manifest.created_at,
        fmops_version=run.manifest.fmops_version,
        models=[run.model],
        model_info=info,
        evaluations=[run.evaluation],
        algorithms={run.evaluation: str(run.manifest.algorithm or run.outputs[0].eval_name)}
        if run.outputs
        else {},
        scores=scores,
        performance=performance,
        comparisons=[],
        selection=None,
        runs={(run.model, run.evaluation): run},
        warnings=warnings,
    )


def performance_from_runs(runs: Sequence[RunData]) -> dict[str, Any] | None:
    """Latency, tokens and cost from the records' `usage` (as `fmops compare` aggregates them)."""
    usages = [
        row["usage"] for run in runs for rows in run.records.values() for row in rows if row.get("usage")
    ]
    if not usages:
        return None
    latencies = [u["latency_s"] for u in usages if u.get("latency_s") is not None]
    costs = [u["cost"] for u in usages if u.get("cost") is not None]
    cost = float(sum(costs)) if costs else None
    records = len(usages)
    return {
        "records": records,
        "calls": sum(u.get("calls", 0) for u in usages),
        "cached_calls": sum(u.get("cached", 0) for u in usages),
        "errors": sum(1 for run in runs for rows in run.records.values() for row in rows if row.get("error")),
        "latency_p50_s": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_s": float(np.percentile(latencies, 95)) if latencies else None,
        "input_tokens": sum(u.get("input_tokens", 0) for u in usages),
        "output_tokens": sum(u.get("output_tokens", 0) for u in usages),
        "cost": cost,
        "cost_per_1k_records": cost / records * 1000 if cost is not None and records else None,
        "wall_s": sum(run.manifest.elapsed_s or 0.0 for run in runs) or None,
    }


# ---------------------------------------------------------------------------------------- comparison folder


def _load_comparison(path: Path) -> ReportData:
    data = read_comparison(path)
    model_info = {m.name: m.model_dump(mode="json") for m in data.models}
    scores: dict[ScoreKey, dict[str, ScoreValue]] = {}
    for entry in data.scores:
        key = ScoreKey(entry.evaluation, entry.dataset, entry.score)
        scores.setdefault(key, {})[entry.model] = ScoreValue(
            entry.value, entry.ci_low, entry.ci_high, entry.n, entry.errors
        )
    models = data.model_names()
    suite_ids = [e.id for e in data.suite.evaluations]
    evaluations = list(dict.fromkeys(suite_ids + [k.evaluation for k in scores]))
    algorithms = {e.id: e.algorithm or "" for e in data.suite.evaluations}
    warnings: list[str] = []
    runs: dict[tuple[str, str], RunData] = {}
    for model, by_evaluation in data.runs.items():
        for evaluation, relative in by_evaluation.items():
            run_dir = path / str(relative)
            if not (run_dir / "results.json").is_file():
                warnings.append(
                    f"run folder {relative} of {model} on {evaluation} is missing: no examples shown"
                )
                continue
            try:
                runs[(model, evaluation)] = read_run(run_dir, model, evaluation)
            except BadInputError as exc:
                warnings.append(f"{exc}: no examples shown")
    for (_, evaluation), run in runs.items():
        if not algorithms.get(evaluation):
            algorithms[evaluation] = run.manifest.algorithm
    performance = {p.model: p.model_dump(mode="json") for p in data.performance}
    for model in models:  # older folders: aggregate from the records
        if model not in performance:
            perf = performance_from_runs([r for (m, _), r in runs.items() if m == model])
            if perf:
                performance[model] = perf
    selection = None
    if (path / "selection.json").is_file():
        selection = read_json(path / "selection.json")
        if not isinstance(selection, dict):
            raise BadInputError(f"{path / 'selection.json'}: expected a JSON object")
    return ReportData(
        kind="comparison",
        source=path,
        name=data.suite.name or path.name,
        created_at=data.created_at,
        fmops_version=data.fmops_version,
        models=models,
        model_info=model_info,
        evaluations=evaluations,
        algorithms=algorithms,
        scores=scores,
        performance=performance,
        comparisons=[c.model_dump(mode="json") for c in data.comparisons],
        selection=selection,
        runs=runs,
        warnings=warnings,
    )


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
