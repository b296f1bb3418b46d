"""A comparison's figures as the catalog's measured values (the catalog shows them beside the cards).

Here rather than in the catalog: the catalog sits below comparisons and stores figures it is given.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fmops.catalog import record_measurements
from fmops.comparison._format import Comparison, read_comparison

#: Figures that time the calls, which a store hit does not make.
SPEED_FIGURES = frozenset(
    {"latency_p50_s", "latency_p95_s", "ttft_p50_s", "throughput_rps", "output_tokens_per_s"}
)


def measured_figures(comparison: Comparison) -> dict[str, dict[str, float]]:
    """Model -> figures: performance figures, and scores as `evaluation:score`.

    An evaluation that produced the same score for several datasets keys them `evaluation/dataset:score`.
    A model whose every call was answered from the response store (a warm rerun) gives no speed figures: its
    latency and throughput would be the store's, and would overwrite the speed measured when it really ran.
    """
    out: dict[str, dict[str, float]] = {}
    for perf in comparison.performance:
        figures = perf.figures()
        if perf.calls > 0 and perf.cached_calls >= perf.calls:
            figures = {k: v for k, v in figures.items() if k not in SPEED_FIGURES}
        out.setdefault(perf.model, {}).update(figures)
    scores = [s for s in comparison.scores if s.value is not None]
    counts = Counter((s.model, s.evaluation, s.score) for s in scores)
    for s in scores:
        evaluation = s.evaluation
        if counts[(s.model, evaluation, s.score)] > 1:
            evaluation = f"{evaluation}/{s.dataset}"
        out.setdefault(s.model, {})[f"{evaluation}:{s.score}"] = float(s.value)  # type: ignore[arg-type]
    return out


def record_comparison(directory: str | Path) -> dict[str, dict[str, float]]:
    """Record every model's figures from a comparison folder in the catalog; returns what was recorded."""
    directory = Path(directory)
    comparison = read_comparison(directory)
    specs = {m.name: m.spec for m in comparison.models}
    figures = measured_figures(comparison)
    source = f"comparison {directory}" + (f" ({comparison.created_at})" if comparison.created_at else "")
    for model, values in figures.items():
        record_measurements(model, values, source, spec=specs.get(model))
    return figures


__all__ = ["measured_figures", "record_comparison"]
