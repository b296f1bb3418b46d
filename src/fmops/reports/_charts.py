"""Plotly figures as plain dicts: plotly.js draws them in the page, so Python only needs its bundled script.

Every user string that reaches a figure goes through `label()`: plotly renders a few HTML-like tags in
labels, and escaping turns them back into text (plotly decodes &lt; &gt; &amp;).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fmops.reports import _analysis as analysis
from fmops.reports._data import ReportData
from fmops.reports._format import ci, num

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
#: One colour per model, the same in every chart.
PALETTE = (
    "#3b6fd8",
    "#e8833a",
    "#3aa66a",
    "#d64550",
    "#8a63d2",
    "#2ea3b4",
    "#c9a227",
    "#d36fb0",
    "#7f8c8d",
    "#5b8c3a",
)
OVERALL = "All records"


@dataclass
class Chart:
    """One plotly figure and the div it draws into."""

    id: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    height: int = 360
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        layout = {**self.layout, "height": self.height}
        return {"id": self.id, "data": self.data, "layout": layout}


def label(text: Any) -> str:
    return html.escape(str(text), quote=False)


def colors(models: Sequence[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def _layout(**overrides: Any) -> dict[str, Any]:
    axis = {"gridcolor": "#e6e9ee", "zeroline": False, "automargin": True, "linecolor": "#c9ced6"}
    base: dict[str, Any] = {
        "font": {"family": FONT, "size": 12, "color": "#1f2933"},
        "margin": {"l": 56, "r": 20, "t": 36, "b": 56},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "hoverlabel": {"font": {"family": FONT}},
        "bargap": 0.22,
        "bargroupgap": 0.06,
        "xaxis": dict(axis),
        "yaxis": dict(axis),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def _bounded(values: Sequence[float | None]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(0.0 <= v <= 1.0 for v in present)


# ----------------------------------------------------------------------------------------------- scores


def scores_chart(data: ReportData, evaluation: str, chart_id: str) -> Chart | None:
    """Grouped bars: one group per score of the evaluation, one bar per model, 95% intervals as error bars.
    Scores with an ideal value (stereotyping, 0.5) are drawn from that value, so the bar shows the bias."""
    keys = data.keys_of(evaluation)
    if not keys:
        return None
    labels = analysis.key_labels(keys)
    palette = colors(data.models)
    bases = {k: _base(k.score) for k in keys}
    traces = []
    for model in data.models:
        xs, ys, base, hi, lo, text = [], [], [], [], [], []
        for key in keys:
            value = data.scores[key].get(model)
            v = value.value if value else None
            xs.append(label(labels[key]))
            ys.append(None if v is None else v - bases[key])
            base.append(bases[key])
            hi.append(None if v is None or value is None or value.ci_high is None else value.ci_high - v)
            lo.append(None if v is None or value is None or value.ci_low is None else v - value.ci_low)
            interval = ci(value.ci_low, value.ci_high) if value else ""
            text.append(f"{num(v)} {interval}".strip())
        trace: dict[str, Any] = {
            "type": "bar",
            "name": label(model),
            "x": xs,
            "y": ys,
            "base": base,
            "marker": {"color": palette[model]},
            "customdata": text,
            "hovertemplate": "<b>%{fullData.name}</b><br>%{x}: %{customdata}<extra></extra>",
        }
        if any(h is not None for h in hi):
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [h or 0 for h in hi],
                "arrayminus": [x or 0 for x in lo],
                "color": "#4a5563",
                "thickness": 1.2,
                "width": 4,
            }
        traces.append(trace)
    values = [v.value for k in keys for v in data.scores[k].values()]
    yaxis: dict[str, Any] = {"title": {"text": "score"}}
    if _bounded(values):
        yaxis["range"] = [0, 1.05]
    shapes = [
        _hline(b, f"ideal {b:g}") for b in sorted({b for b in bases.values() if b})
    ]  # the ideal line of centred scores
    layout = _layout(barmode="group", yaxis=yaxis, shapes=shapes, showlegend=len(data.models) > 1)
    return Chart(chart_id, traces, layout, height=340 if len(keys) < 8 else 420)


def _base(score: str) -> float:
    meaning = analysis.info(score)
    return float(meaning.ideal or 0.0) if meaning.direction == "ideal" else 0.0


def _hline(y: float, _name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": y,
        "y1": y,
        "line": {"color": "#7b8794", "dash": "dash", "width": 1.5},
    }


# --------------------------------------------------------------------------------------------- categories


def category_chart(
    data: ReportData,
    evaluation: str,
    dataset: str,
    tables: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    chart_id: str,
) -> Chart | None:
    """Per-category bars of one evaluation on one dataset, one score at a time (a menu switches scores).

    As fmeval's CategoryBarPlotCell: an overall bar, then at most ten categories sorted by score (the
    weakest first); stereotyping bars grow from 0.5.
    """
    keys = [
        k
        for k in data.keys_of(evaluation, dataset)
        if any(k.score in c for t in tables.values() for c in t.values())
    ]
    if not keys:
        return None
    palette = colors(data.models)
    traces: list[dict[str, Any]] = []
    buttons = []
    models = [m for m in data.models if m in tables]
    for index, key in enumerate(keys):
        meaning = analysis.info(key.score)
        base = _base(key.score)
        categories = sorted(
            {c for t in tables.values() for c, s in t.items() if s.get(key.score) is not None}
        )
        mean_good = {
            c: _mean(
                [
                    meaning.goodness(v)
                    for t in tables.values()
                    if (v := t.get(c, {}).get(key.score)) is not None
                ]
            )
            for c in categories
        }
        shown = sorted(categories, key=lambda c: (mean_good[c], c))[: analysis.MAX_CATEGORIES]
        order = [OVERALL, *[label(c) for c in shown]]
        for model in models:
            overall = data.scores[key].get(model)
            values = [overall.value if overall else None] + [
                tables[model].get(c, {}).get(key.score) for c in shown
            ]
            traces.append(
                {
                    "type": "bar",
                    "name": label(model),
                    "legendgroup": label(model),
                    "showlegend": len(models) > 1,
                    "visible": index == 0,
                    "x": order,
                    "y": [None if v is None else v - base for v in values],
                    "base": [base] * len(order),
                    "customdata": [num(v) for v in values],
                    "marker": {"color": palette[model]},
                    "hovertemplate": "<b>%{fullData.name}</b><br>%{x}: %{customdata}<extra></extra>",
                }
            )
        visible = [i // len(models) == index for i in range(len(keys) * len(models))]
        values_all = [v for t in tables.values() for c in t.values() if (v := c.get(key.score)) is not None]
        yaxis = {"range": [0, 1.05]} if _bounded(values_all) else {"autorange": True}
        buttons.append(
            {
                "label": label(key.score),
                "method": "update",
                "args": [
                    {"visible": visible},
                    {
                        "xaxis.categoryarray": order,
                        "yaxis.range": yaxis.get("range"),
                        "yaxis.autorange": "range" not in yaxis,
                        "shapes": [_hline(base, "ideal")] if base else [],
                        "yaxis.title.text": f"{label(key.score)} by category",
                    },
                ],
            }
        )
    first = buttons[0]["args"][1]
    layout = _layout(
        barmode="group",
        xaxis={"categoryorder": "array", "categoryarray": first["xaxis.categoryarray"], "tickangle": 0},
        yaxis={
            "title": {"text": first["yaxis.title.text"]},
            **({"range": first["yaxis.range"]} if first["yaxis.range"] else {}),
        },
        shapes=first["shapes"],
        margin={"t": 48},
    )
    if len(buttons) > 1:
        layout["updatemenus"] = [
            {
                "type": "dropdown",
                "buttons": buttons,
                "x": 1,
                "xanchor": "right",
                "y": 1.18,
                "yanchor": "top",
                "bgcolor": "#ffffff",
                "bordercolor": "#c9ced6",
                "showactive": True,
            }
        ]
        layout["margin"] = {**layout["margin"], "t": 64}
    return Chart(chart_id, traces, layout, height=360)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.inf


# ------------------------------------------------------------------------------------------------- radar


def radar_chart(data: ReportData, chart_id: str) -> Chart | None:
    """Models over the quality index of every score (1 = best); needs two models and three scores."""
    index = analysis.quality_index(data)
    shared = analysis.quality_basis(data)
    keys = shared if len(shared) >= 3 else [k for k in data.scores if k in index]
    if len(data.models) < 2 or len(keys) < 3:
        return None
    labels = analysis.key_labels(keys, data.algorithms)
    palette = colors(data.models)
    theta = [label(labels[k]) for k in keys]
    traces = []
    for model in data.models:
        r = [index[k].get(model) for k in keys]
        traces.append(
            {
                "type": "scatterpolar",
                "name": label(model),
                "r": [*r, r[0]],
                "theta": [*theta, theta[0]],
                "fill": "toself",
                "opacity": 0.72,
                "line": {"color": palette[model], "width": 2},
                "marker": {"size": 5},
                "hovertemplate": "<b>%{fullData.name}</b><br>%{theta}: %{r:.3f}<extra></extra>",
            }
        )
    layout = _layout(
        polar={
            # The radial ticks sit between the first two axes, where they hide no label.
            "radialaxis": {
                "range": [0, 1],
                "tickvals": [0.25, 0.5, 0.75, 1],
                "gridcolor": "#e6e9ee",
                "angle": 90 - 180 / len(keys),
                "tickfont": {"size": 10, "color": "#7b8794"},
            },
            "angularaxis": {"gridcolor": "#e6e9ee", "direction": "clockwise", "rotation": 90},
            "bgcolor": "#ffffff",
        },
        margin={"l": 80, "r": 80, "t": 64, "b": 40},
        legend={"y": 1.12},
    )
    return Chart(chart_id, traces, layout, height=500)


# ------------------------------------------------------------------------------------------------ Pareto


def pareto_chart(
    data: ReportData, metric: str, axis_title: str, chart_id: str
) -> tuple[Chart | None, set[str]]:
    """Quality index (up) against a cost (left is better); the models on the front are joined and starred."""
    quality = analysis.mean_quality(data)
    points = {
        m: (float(x), q)
        for m in data.models
        if (q := quality.get(m)) is not None
        and (x := (data.performance.get(m) or {}).get(metric)) is not None
    }
    if len(data.models) < 2 or len(points) < 2:
        return None, set()
    front = analysis.pareto_front(points)
    palette = colors(data.models)
    traces: list[dict[str, Any]] = []
    ordered = sorted((points[m][0], points[m][1], m) for m in front)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Pareto front",
            "x": [x for x, _, _ in ordered],
            "y": [y for _, y, _ in ordered],
            "line": {"color": "#1f2933", "dash": "dot", "width": 1.5, "shape": "hv"},
            "hoverinfo": "skip",
        }
    )
    xs = [x for x, _ in points.values()]
    log_x = min(xs) > 0 and max(xs) / min(xs) > 50
    low, high = (math.log10(min(xs)), math.log10(max(xs))) if log_x else (min(xs), max(xs))
    middle = (low + high) / 2
    for model, (x, y) in points.items():
        on_front = model in front
        position = (math.log10(x) if log_x else x) > middle
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": label(model),
                "x": [x],
                "y": [y],
                "text": [label(model)],
                "textposition": "top left" if position else "top right",
                "marker": {
                    "color": palette[model],
                    "size": 16 if on_front else 11,
                    "symbol": "star" if on_front else "circle",
                    "line": {"color": "#1f2933" if on_front else "#ffffff", "width": 1},
                    "opacity": 1 if on_front else 0.55,
                },
                "customdata": ["on the Pareto front" if on_front else "dominated"],
                "hovertemplate": "<b>%{fullData.name}</b><br>"
                + label(axis_title)
                + ": %{x:.4g}<br>quality index: %{y:.3f}<br>%{customdata}<extra></extra>",
            }
        )
    pad_x = (high - low) * 0.12 or abs(high) * 0.5 or 1.0
    xaxis: dict[str, Any] = {
        "title": {"text": label(axis_title) + " (lower is better)"},
        # Costs and latencies are never negative: the axis starts just left of zero, not below it.
        "range": [low - pad_x if log_x or low - pad_x >= 0 or low < 0 else -pad_x * 0.2, high + pad_x],
    }
    if log_x:
        xaxis["type"] = "log"
    ys = [y for _, y in points.values()]
    pad = max(0.05, (max(ys) - min(ys)) * 0.15)
    layout = _layout(
        xaxis=xaxis,
        yaxis={
            "title": {"text": "quality index (higher is better)"},
            "range": [min(ys) - pad, max(ys) + pad],
        },
        showlegend=False,
        margin={"t": 24},
    )
    return Chart(chart_id, traces, layout, height=380), front
