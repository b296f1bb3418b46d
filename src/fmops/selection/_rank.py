"""Ranking models by weighted priorities under hard constraints, with reasons a reader can check.

Each prioritised metric is min-max normalised across the models on its goodness (so lower-is-better metrics
rank right), the utility is the weighted sum, and models that break a constraint follow the ones that
don't. Every place comes with what the model wins and loses on, and ties that the paired tests call noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fmops.comparison import Comparison, normalise, pareto_front
from fmops.core.errors import BadInputError
from fmops.selection._metrics import ComparisonIndex, Metric
from fmops.selection._parse import Constraint, Priority, assign_weights

QUALITY = "quality"


class SelectedPriority(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    metric: str  # resolved: a performance field, a score name or `evaluation:score`
    weight: float
    as_written: str
    direction: str


class SelectedConstraint(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    op: str
    value: float
    as_written: str


class RankedModel(BaseModel):
    """One model's place, with why."""

    model_config = ConfigDict(frozen=True)

    model: str
    place: int
    utility: float
    meets_constraints: bool
    violations: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    #: Resolved metric -> value, for every prioritised or constrained metric (None: not measured).
    values: dict[str, float | None] = Field(default_factory=dict)
    quality: float | None = None


class Selection(BaseModel):
    """What `select_models` decided; dumped as selection.json."""

    model_config = ConfigDict(frozen=True)

    priorities: list[SelectedPriority]
    constraints: list[SelectedConstraint]
    ranking: list[RankedModel]
    pareto_front: list[str]
    pareto_axes: list[str]
    selected: str | None
    explanation: str


def select_models(
    comparison: Comparison | Mapping[str, Any],
    priorities: Sequence[Priority],
    constraints: Sequence[Constraint] = (),
) -> Selection:
    """Rank the comparison's models; every metric is checked before anything is computed."""
    index = ComparisonIndex(comparison)
    priorities = assign_weights(sorted(priorities, key=lambda p: p.rank))
    resolved = [_priority_metric(index, p) for p in priorities]
    seen: dict[str, str] = {}
    for p, metric in zip(priorities, resolved, strict=True):
        if metric.key in seen:
            raise BadInputError(
                f"priorities {seen[metric.key]!r} and {p.metric!r} are the same metric ({metric.key})"
            )
        seen[metric.key] = p.metric
    limits = [(c, _constraint_metric(index, c)) for c in constraints]

    values = {m.key: index.values(m) for m in [*resolved, *(m for _, m in limits)]}
    normalised = {m.key: _normalise(m, values[m.key]) for m in resolved}
    weights = {m.key: p.weight or 0.0 for p, m in zip(priorities, resolved, strict=True)}
    utility = {model: sum(weights[k] * normalised[k][model] for k in normalised) for model in index.models}
    violations = {model: _violations(model, limits, values) for model in index.models}

    first = resolved[0].key if resolved else None

    def order(model: str) -> tuple[float, ...]:
        lead = normalised[first][model] if first else 0.0
        return (len(violations[model]), -round(utility[model], 9), -round(lead, 9))

    ranked = sorted(index.models, key=lambda m: (order(m), m))
    quality_metrics = [m for m in resolved if m.kind == "score"] or _all_scores(index)
    quality = _quality(index, quality_metrics)
    front, axes = _pareto(index, quality)
    ranking = [
        RankedModel(
            model=model,
            place=place,
            utility=round(utility[model], 6),
            meets_constraints=not violations[model],
            violations=violations[model],
            reasons=_reasons(index, model, ranked, resolved, values),
            values={k: v[model] for k, v in values.items()},
            quality=None if quality is None else round(quality[model], 6),
        )
        for place, model in enumerate(ranked, start=1)
    ]
    selected = next((r.model for r in ranking if r.meets_constraints), None)
    return Selection(
        priorities=[
            SelectedPriority(
                rank=p.rank,
                metric=m.key,
                weight=round(p.weight or 0.0, 6),
                as_written=p.metric,
                direction=m.direction,
            )
            for p, m in zip(priorities, resolved, strict=True)
        ],
        constraints=[
            SelectedConstraint(metric=m.key, op=c.op, value=c.value, as_written=str(c)) for c, m in limits
        ],
        ranking=ranking,
        pareto_front=front,
        pareto_axes=axes,
        selected=selected,
        explanation=_explain(ranking, selected, limits, values, front, axes),
    )


def _priority_metric(index: ComparisonIndex, priority: Priority) -> Metric:
    metric = index.resolve(priority.metric)
    if priority.direction is None or priority.direction == metric.direction:
        return metric
    if metric.known or metric.direction == "ideal":
        raise BadInputError(
            f"priority '{priority}': {metric.key} is {metric.direction}-is-better"
            + (f" (ideal {metric.ideal:g})" if metric.direction == "ideal" else "")
            + f"; drop '{priority.direction}' or use another metric"
        )
    return replace(metric, direction=priority.direction)


def _constraint_metric(index: ComparisonIndex, constraint: Constraint) -> Metric:
    metric = index.resolve(constraint.metric)
    if constraint.unit is not None and constraint.unit != metric.unit:
        kind = "a time" if constraint.unit == "s" else "an amount of money"
        raise BadInputError(f"constraint '{constraint}': the value is {kind}, but {metric.key} is not")
    return metric


def _normalise(metric: Metric, values: Mapping[str, float | None]) -> dict[str, float]:
    """The comparison's min-max over goodness (1 best, 0 worst, all equal -> 1); unmeasured -> 0 (the worst)."""
    scaled = normalise({m: metric.goodness(v) for m, v in values.items() if v is not None})
    return {m: scaled.get(m, 0.0) for m in values}


def _violations(
    model: str, limits: Sequence[tuple[Constraint, Metric]], values: Mapping[str, Mapping[str, float | None]]
) -> list[str]:
    out = []
    for constraint, metric in limits:
        value = values[metric.key][model]
        need = f"needs {constraint.op} {metric.show(constraint.value)}"
        if value is None:
            out.append(f"{metric.label} not measured, {need}")
        elif not constraint.holds(value):
            out.append(f"{metric.label} {metric.show(value)}, {need}")
    return out


def _all_scores(index: ComparisonIndex) -> list[Metric]:
    return [index.resolve(score) for score in sorted(index.scores)]


def _quality(index: ComparisonIndex, metrics: Sequence[Metric]) -> dict[str, float] | None:
    """Mean normalised goodness of the quality metrics (0 worst .. 1 best), so different scales can mix."""
    if not metrics:
        return None
    per_metric = [_normalise(m, index.values(m)) for m in metrics]
    return {model: sum(n[model] for n in per_metric) / len(per_metric) for model in index.models}


def _pareto(index: ComparisonIndex, quality: Mapping[str, float] | None) -> tuple[list[str], list[str]]:
    """Models no other model beats on every axis (quality up, latency p95 down, cost down)."""
    axes: dict[str, dict[str, float]] = {}
    if quality is not None:
        axes[QUALITY] = dict(quality)
    for field in ("latency_p95_s", "cost_per_1k_records"):
        raw = {m: index.performance.get(m, {}).get(field) for m in index.models}
        if any(v is not None for v in raw.values()):
            axes[field] = {m: -v for m, v in raw.items() if v is not None}  # unmeasured: the worst
    return pareto_front(axes, index.models), list(axes)


def _place_word(n: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")
    return f"{n}{suffix}"


def _reasons(
    index: ComparisonIndex,
    model: str,
    ranked: Sequence[str],
    metrics: Sequence[Metric],
    values: Mapping[str, Mapping[str, float | None]],
) -> list[str]:
    reasons = []
    position = ranked.index(model)
    neighbours = [ranked[i] for i in (position - 1, position + 1) if 0 <= i < len(ranked)]
    for metric in metrics:
        column = values[metric.key]
        value = column[model]
        if value is None:
            reasons.append(f"no {metric.label} value (counted as worst)")
            continue
        measured = {m: v for m, v in column.items() if v is not None}
        by_goodness = sorted(measured, key=lambda m: (-metric.goodness(measured[m]), m))
        best_goodness = metric.goodness(measured[by_goodness[0]])
        worst_goodness = metric.goodness(measured[by_goodness[-1]])
        mine = metric.goodness(value)
        if len(measured) == 1:
            reasons.append(f"{metric.label} {metric.show(value)} (the only model measured)")
        elif best_goodness == worst_goodness:
            reasons.append(f"{metric.label} {metric.show(value)} (all equal)")
        elif mine == best_goodness:
            shared = [m for m in by_goodness if m != model and metric.goodness(measured[m]) == best_goodness]
            extra = f", shared with {', '.join(shared)}" if shared else ""
            reasons.append(f"{_best_word(metric)} {metric.label} ({metric.show(value)}{extra})")
        else:
            best = by_goodness[0]
            better = sum(1 for m in by_goodness if metric.goodness(measured[m]) > mine)
            # "worst", not "highest cost": a reason must read as a drawback where it is one.
            where = "worst" if mine == worst_goodness else _place_word(better + 1)
            reasons.append(
                f"{metric.label} {metric.show(value)} ({where} of {len(measured)}; "
                f"best {best} {metric.show(measured[best], short=True)})"
            )
        if metric.kind == "score":
            i = by_goodness.index(model)
            around = [by_goodness[j] for j in (i - 1, i + 1) if 0 <= j < len(by_goodness)]
            others = list(dict.fromkeys([*neighbours, *around]))
            for other in others:
                if other != model and index.within_noise(metric, model, other):
                    reasons.append(f"{metric.label} tie with {other} (within noise)")
    return reasons


def _best_word(metric: Metric) -> str:
    return {"higher": "highest", "lower": "lowest"}.get(metric.direction, "closest to ideal")


def _explain(
    ranking: Sequence[RankedModel],
    selected: str | None,
    limits: Sequence[tuple[Constraint, Metric]],
    values: Mapping[str, Mapping[str, float | None]],
    front: Sequence[str],
    axes: Sequence[str],
) -> str:
    feasible = [r for r in ranking if r.meets_constraints]
    failing = [r for r in ranking if not r.meets_constraints]
    parts: list[str] = []
    axis_names = ", ".join(
        {"latency_p95_s": "latency p95", "cost_per_1k_records": "cost"}.get(a, a) for a in axes
    )
    if selected is not None:
        top = feasible[0]
        of = f"the {len(feasible)} models that meet the constraints" if limits else f"{len(ranking)} models"
        parts.append(f"{selected} ranks first of {of}, utility {top.utility:.2f}")
        wins = [r for r in top.reasons if "within noise" not in r]
        parts[-1] += f": {'; '.join(wins[:3])}." if wins else "."
        if len(feasible) > 1:
            runner = feasible[1]
            tie = f" tie with {runner.model} (within noise)"
            ties = [r.removesuffix(tie) for r in top.reasons if r.endswith(tie)]
            note = f"; on {', '.join(ties)} the two differ only within noise" if ties else ""
            parts.append(f"Runner-up: {runner.model}, utility {runner.utility:.2f}{note}.")
        if failing:
            parts.append(
                "Excluded by the constraints: "
                + "; ".join(f"{r.model} ({'; '.join(r.violations)})" for r in failing)
                + "."
            )
    else:
        parts.append("No model meets all the constraints.")
        for constraint, metric in limits:
            column = values[metric.key]
            excluded = [
                r.model for r in ranking if column[r.model] is None or not constraint.holds(column[r.model])
            ]
            shown = ", ".join(f"{m} ({metric.show(column[m])})" for m in excluded)
            if excluded:
                parts.append(f"'{constraint}' excludes {shown}.")
        closest = min(failing, key=lambda r: (len(r.violations), _shortfall(r.model, limits, values)))
        parts.append(
            f"Closest: {closest.model}, which misses {len(closest.violations)} "
            f"constraint{'s' if len(closest.violations) > 1 else ''} ({'; '.join(closest.violations)})."
        )
    if axes:
        on_front = selected is None or selected in front
        suffix = "" if on_front else f"; {selected} is not on it"
        parts.append(f"Pareto front ({axis_names}): {', '.join(front)}{suffix}.")
    return " ".join(parts)


def _shortfall(
    model: str, limits: Sequence[tuple[Constraint, Metric]], values: Mapping[str, Mapping[str, float | None]]
) -> float:
    """Sum of relative distances to the limits a model breaks (unmeasured counts as infinitely far)."""
    total = 0.0
    for constraint, metric in limits:
        value = values[metric.key][model]
        if value is None:
            total += math.inf
        elif not constraint.holds(value):
            total += abs(value - constraint.value) / max(abs(constraint.value), 1e-12)
    return total


__all__ = ["RankedModel", "SelectedConstraint", "SelectedPriority", "Selection", "select_models"]
