"""The comparison page's data, read through the reports' comparison reader and drawn with its charts.

One adapter, so the console reads comparison.json exactly as `fmops report` does; when the typed reader of
`fmops.comparison` lands, this is the one module to switch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmops.reports import (
    ReportData,
    ScoreKey,
    ci,
    key_labels,
    load_report_data,
    num,
    pareto_chart,
    radar_chart,
    unique_best,
)

_cache: dict[str, tuple[float, ReportData]] = {}
_cache_lock = threading.Lock()


@dataclass
class MatrixCell:
    value: str
    interval: str
    best: bool
    errors: int


@dataclass
class MatrixRow:
    evaluation: str
    label: str
    cells: list[MatrixCell]
    #: Verdicts of the paired tests on this score that are beyond the noise ("echo/hint is better").
    beyond_noise: list[str] = field(default_factory=list)
    within_noise: int = 0


@dataclass
class SideBySide:
    evaluation: str
    dataset: str
    row: int
    input: str
    target: str
    answers: list[tuple[str, str, dict[str, Any]]]  # (model, output, scores)


def load(path: Path) -> ReportData:
    """The comparison (or run) folder at `path`, read again only when comparison.json changed."""
    file = path / "comparison.json"
    stamp = file.stat().st_mtime if file.exists() else 0.0
    key = str(path)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
    data = load_report_data(path)
    with _cache_lock:
        _cache[key] = (stamp, data)
    return data


def matrix(data: ReportData) -> list[MatrixRow]:
    """Models × evaluations: value and 95% interval per score, the unique best marked, and which paired
    differences are beyond the noise."""
    keys = list(data.scores)
    labels = key_labels(keys, data.algorithms)
    rows = []
    for key in keys:
        by_model = data.scores[key]
        best = unique_best(key.score, {m: v.value for m, v in by_model.items()})
        cells = []
        for model in data.models:
            value = by_model.get(model)
            cells.append(
                MatrixCell(
                    value=num(value.value) if value else "—",
                    interval=ci(value.ci_low, value.ci_high) if value else "",
                    best=model == best,
                    errors=value.errors if value else 0,
                )
            )
        tests = [
            c
            for c in data.comparisons
            if c.get("evaluation") == key.evaluation and c.get("score") == key.score
        ]
        rows.append(
            MatrixRow(
                evaluation=key.evaluation,
                label=labels[key] if key.dataset in key.evaluation else f"{labels[key]} · {key.dataset}",
                cells=cells,
                beyond_noise=[str(c.get("verdict")) for c in tests if c.get("significant")],
                within_noise=sum(1 for c in tests if not c.get("significant")),
            )
        )
    return rows


def charts(data: ReportData) -> list[dict[str, Any]]:
    """Plotly specs: the radar of quality indices and the Pareto fronts against cost and latency."""
    specs = []
    radar = radar_chart(data, "chart-radar")
    if radar is not None:
        specs.append({"title": "Quality radar (1 = best)", **radar.spec()})
    for metric, title, chart_id in (
        ("cost_per_1k_records", "cost per 1k records", "chart-pareto-cost"),
        ("latency_p95_s", "latency p95 (s)", "chart-pareto-latency"),
    ):
        chart, _front = pareto_chart(data, metric, title, chart_id)
        if chart is not None:
            specs.append({"title": f"Pareto: quality vs {title}", **chart.spec()})
    return specs


def side_by_side(data: ReportData, evaluation: str, row: int) -> SideBySide | None:
    """Every model's answer to record `row` of an evaluation (from each model's run folder)."""
    answers = []
    first: dict[str, Any] | None = None
    dataset = ""
    for model in data.models:
        run = data.runs.get((model, evaluation))
        if run is None:
            continue
        for name, records in run.records.items():
            match = next((r for r in records if r.get("row") == row), None)
            if match is None:
                continue
            dataset = name
            first = first or match
            scores = {s.get("name"): s.get("value") for s in match.get("scores") or [] if isinstance(s, dict)}
            answers.append((model, _text(match.get("model_output")), scores))
            break
    if first is None:
        return None
    text_in = first.get("model_input")
    if text_in is None and first.get("sent_more_input") is not None:
        text_in = f"{first.get('sent_more_input')}\n{first.get('sent_less_input')}"
    return SideBySide(evaluation, dataset, row, _text(text_in), _text(first.get("target_output")), answers)


def rows_of(data: ReportData, evaluation: str) -> list[int]:
    """The record rows every model's run of `evaluation` has (the records a side-by-side can show)."""
    found: set[int] | None = None
    for (_, ev), run in data.runs.items():
        if ev != evaluation:
            continue
        rows = {
            r["row"] for records in run.records.values() for r in records if isinstance(r.get("row"), int)
        }
        found = rows if found is None else found & rows
    return sorted(found or ())


def _text(value: Any) -> str:
    return "" if value is None else str(value)


__all__ = [
    "MatrixRow",
    "ReportData",
    "ScoreKey",
    "SideBySide",
    "charts",
    "load",
    "matrix",
    "rows_of",
    "side_by_side",
]
