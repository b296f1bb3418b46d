"""Putting unlike figures on one scale: the quality normalisation and the Pareto front.

Everything here works on goodness (`ScoreInfo.goodness`: larger is always better), so lower-is-better
figures (latency, cost, toxicity) and ideal-value scores (stereotyping) need no special case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fmops.evaluation.scores import ScoreInfo

#: Goodness values equal on paper differ in the last bits after averaging: compare them rounded.
_DIGITS = 9


def normalise(goodness: Mapping[str, float]) -> dict[str, float]:
    """Min-max over the models present: 1 the best, 0 the worst; all equal -> 1 for every model."""
    if not goodness:
        return {}
    low, high = min(goodness.values()), max(goodness.values())
    span = high - low
    return {m: 1.0 if span <= 0 else (g - low) / span for m, g in goodness.items()}


def quality_scale(meaning: ScoreInfo, values: Mapping[str, float]) -> dict[str, float]:
    """One score's values mapped to [0, 1], 1 best, so unlike scores can be averaged or share a chart.

    Scores within [0, 1] keep their own scale (1 − value for lower-is-better, distance from the ideal for
    stereotyping), so a model is not called perfect only because it beat the others; a score outside [0, 1]
    (word error rate can exceed 1) is normalised between the models' worst and best.
    """
    if all(0.0 <= v <= 1.0 for v in values.values()):
        return {m: _bounded(meaning, v) for m, v in values.items()}
    return normalise({m: meaning.goodness(v) for m, v in values.items()})


def _bounded(meaning: ScoreInfo, value: float) -> float:
    if meaning.direction == "higher":
        return value
    if meaning.direction == "lower":
        return 1.0 - value
    ideal = meaning.ideal or 0.0
    span = max(ideal, 1.0 - ideal) or 1.0
    return max(0.0, 1.0 - abs(value - ideal) / span)


def pareto_front(axes: Mapping[str, Mapping[str, float]], models: Iterable[str]) -> list[str]:
    """The models no other model beats on every axis (each axis: model -> goodness), in `models` order.

    A model missing from an axis counts as the worst on it.
    """
    names = list(models)
    if not axes:
        return names

    def value(axis: Mapping[str, float], model: str) -> float:
        return round(axis[model], _DIGITS) if model in axis else float("-inf")

    def dominates(a: str, b: str) -> bool:
        pairs = [(value(axis, a), value(axis, b)) for axis in axes.values()]
        return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)

    return [b for b in names if not any(dominates(a, b) for a in names if a != b)]


__all__ = ["normalise", "pareto_front", "quality_scale"]
