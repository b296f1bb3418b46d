"""Properties of the ranking on random comparisons: bounds, order, constraints, Pareto, monotonicity."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.selection import Priority, parse_constraint, select_models

METRICS = ("quality_score", "toxicity", "cost", "latency")
_value = st.integers(0, 10).map(lambda i: i / 10)


def _comparison(rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    """`quality_score` is higher-is-better (unknown to fmops), `toxicity` lower; cost and latency lower."""
    return {
        "models": [{"name": m} for m in rows],
        "scores": [
            {"model": m, "evaluation": "e/d", "dataset": "d", "score": score, "value": values[score]}
            for m, values in rows.items()
            for score in ("quality_score", "toxicity")
        ],
        "performance": [
            {"model": m, "cost_per_1k_records": values["cost"], "latency_p95_s": values["latency"]}
            for m, values in rows.items()
        ],
        "comparisons": [],
    }


_rows = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.fixed_dictionaries({m: _value for m in METRICS}),
    min_size=1,
    max_size=5,
)
_priorities = st.lists(st.sampled_from(METRICS), min_size=1, max_size=4, unique=True).map(
    lambda names: [Priority(metric=n, rank=i) for i, n in enumerate(names)]
)


@settings(max_examples=150, deadline=None)
@given(_rows, _priorities, st.one_of(st.none(), _value))
def test_ranking_invariants(
    rows: dict[str, dict[str, float]], priorities: list[Priority], limit: float | None
) -> None:
    constraints = [] if limit is None else [parse_constraint(f"latency <= {limit}")]
    selection = select_models(_comparison(rows), priorities, constraints)
    ranking = selection.ranking
    assert sorted(r.model for r in ranking) == sorted(rows)
    assert [r.place for r in ranking] == list(range(1, len(rows) + 1))
    assert all(-1e-9 <= r.utility <= 1 + 1e-9 for r in ranking)
    feasible = [r.meets_constraints for r in ranking]
    assert feasible == sorted(feasible, reverse=True)  # everyone who meets them comes first
    for r in ranking:
        assert r.meets_constraints == (limit is None or rows[r.model]["latency"] <= limit)
        assert r.meets_constraints == (not r.violations)
    met = [r for r in ranking if r.meets_constraints]
    assert selection.selected == (met[0].model if met else None)
    utilities = [r.utility for r in met]
    assert utilities == sorted(utilities, reverse=True)
    assert abs(sum(p.weight for p in selection.priorities) - 1) < 1e-5


@settings(max_examples=150, deadline=None)
@given(_rows, _priorities)
def test_pareto_front_is_exactly_the_non_dominated_models(
    rows: dict[str, dict[str, float]], priorities: list[Priority]
) -> None:
    selection = select_models(_comparison(rows), priorities, [])
    quality = {r.model: r.quality for r in selection.ranking}
    points = {m: (quality[m] or 0.0, -rows[m]["latency"], -rows[m]["cost"]) for m in rows}

    def dominates(a: str, b: str) -> bool:
        pa, pb = points[a], points[b]
        return all(x >= y for x, y in zip(pa, pb, strict=True)) and pa != pb

    front = set(selection.pareto_front)
    assert front, "a front is never empty"
    for model in rows:
        dominated = any(dominates(other, model) for other in rows if other != model)
        assert (model in front) == (not dominated)


@settings(max_examples=150, deadline=None)
@given(_rows, _priorities, st.data())
def test_improving_a_prioritised_metric_never_costs_a_model_its_place(
    rows: dict[str, dict[str, float]], priorities: list[Priority], data: st.DataObject
) -> None:
    model = data.draw(st.sampled_from(sorted(rows)))
    metric = data.draw(st.sampled_from([p.metric for p in priorities]))
    step = data.draw(st.integers(1, 5)) / 10
    better = {m: dict(v) for m, v in rows.items()}
    if metric == "quality_score":
        better[model][metric] = rows[model][metric] + step
    else:
        better[model][metric] = rows[model][metric] - step
    before = next(
        r.place for r in select_models(_comparison(rows), priorities, []).ranking if r.model == model
    )
    after = next(
        r.place for r in select_models(_comparison(better), priorities, []).ranking if r.model == model
    )
    assert after <= before
