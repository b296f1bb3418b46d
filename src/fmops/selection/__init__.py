"""Choosing a model from a comparison: ranked priorities, hard constraints, reasons, and the Pareto front.

    from fmops.selection import parse_constraint, parse_priorities, select_models

    selection = select_models(
        comparison,                                   # comparison.json as a dict
        parse_priorities("P0 cost, P1 precision"),
        [parse_constraint("latency p95 < 2 s"), parse_constraint("factual_knowledge >= 0.6")],
    )
    selection.selected, selection.ranking[0].reasons, selection.pareto_front

`select_comparison(DIR, ...)` does the same for a comparison folder and writes DIR/selection.json.
"""

from fmops.selection._files import load_comparison, select_comparison, write_selection
from fmops.selection._metrics import (
    PERFORMANCE_ALIASES,
    PERFORMANCE_METRICS,
    SCORE_SYNONYMS,
    Metric,
    available_metrics,
    format_number,
    metric_label,
)
from fmops.selection._parse import (
    Constraint,
    Priority,
    assign_weights,
    format_priorities,
    parse_constraint,
    parse_priorities,
    parse_request,
    parse_value,
)
from fmops.selection._rank import RankedModel, SelectedConstraint, SelectedPriority, Selection, select_models

__all__ = [
    "PERFORMANCE_ALIASES",
    "PERFORMANCE_METRICS",
    "SCORE_SYNONYMS",
    "Constraint",
    "Metric",
    "Priority",
    "RankedModel",
    "SelectedConstraint",
    "SelectedPriority",
    "Selection",
    "assign_weights",
    "available_metrics",
    "format_number",
    "format_priorities",
    "load_comparison",
    "metric_label",
    "parse_constraint",
    "parse_priorities",
    "parse_request",
    "parse_value",
    "select_comparison",
    "select_models",
    "write_selection",
]
