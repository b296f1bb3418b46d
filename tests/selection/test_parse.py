"""Priorities and constraints as people write them, and their round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.core.errors import BadInputError
from fmops.selection import (
    Constraint,
    Priority,
    assign_weights,
    format_priorities,
    parse_constraint,
    parse_priorities,
    parse_request,
)


@pytest.mark.parametrize(
    ("text", "metric", "op", "value", "unit"),
    [
        ("latency p95 < 2 s", "latency_p95", "<", 2.0, "s"),
        ("latency_p95 < 500ms", "latency_p95", "<", 0.5, "s"),
        ("latency<=1.5sec", "latency", "<=", 1.5, "s"),
        ("latency < 1 min", "latency", "<", 60.0, "s"),
        ("cost <= $0.01", "cost", "<=", 0.01, "$"),
        ("cost < 0.02 USD", "cost", "<", 0.02, "$"),
        ("factual_knowledge >= 0.6", "factual_knowledge", ">=", 0.6, None),
        ("factual_knowledge >= 60%", "factual_knowledge", ">=", 0.6, None),
        ("qa_accuracy/x:f1_score > .5", "qa_accuracy/x:f1_score", ">", 0.5, None),
        ("toxicity == 0", "toxicity", "==", 0.0, None),
        ("toxicity = 0", "toxicity", "==", 0.0, None),
        ("throughput ≥ 10", "throughput", ">=", 10.0, None),
        ("delta_score > -1e-3", "delta_score", ">", -0.001, None),
    ],
)
def test_parse_constraint(text: str, metric: str, op: str, value: float, unit: str | None) -> None:
    constraint = parse_constraint(text)
    assert (constraint.metric, constraint.op, constraint.unit) == (metric, op, unit)
    assert constraint.value == pytest.approx(value)


@pytest.mark.parametrize(
    "text", ["latency", "latency < fast", "< 2", "x < 2 parsecs", "x <", "cost < $5ms", ""]
)
def test_parse_constraint_rejects_malformed_text(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_constraint(text)


def test_constraint_holds() -> None:
    assert parse_constraint("x < 2").holds(1.9) and not parse_constraint("x < 2").holds(2)
    assert parse_constraint("x <= 2").holds(2) and parse_constraint("x >= 2").holds(2)
    assert parse_constraint("x > 2").holds(2.1) and not parse_constraint("x > 2").holds(2)
    assert parse_constraint("x == 0.3").holds(0.1 + 0.2)


_metric = st.from_regex(r"[a-z][a-z0-9_]{0,12}(/[a-z0-9_]{1,8}:[a-z0-9_]{1,8})?", fullmatch=True)


@given(
    _metric,
    st.sampled_from(["<", "<=", ">", ">=", "=="]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([None, "s", "$"]),
)
def test_constraints_round_trip_through_text(metric: str, op: str, value: float, unit: str | None) -> None:
    constraint = Constraint(metric=metric, op=op, value=value, unit=unit)  # type: ignore[arg-type]
    assert parse_constraint(str(constraint)) == constraint


def test_priorities_in_order_get_rank_reciprocal_weights() -> None:
    parsed = parse_priorities(["cost", "precision_score"])
    assert [(p.metric, p.rank) for p in parsed] == [("cost", 0), ("precision_score", 1)]
    assert [p.weight for p in parsed] == pytest.approx([2 / 3, 1 / 3])
    three = parse_priorities("cost, latency, f1_score")
    assert [p.weight for p in three] == pytest.approx([6 / 11, 3 / 11, 2 / 11])


def test_priorities_in_one_string_with_ranks_and_directions() -> None:
    parsed = parse_priorities("P1 precision, P0 lower cost; P2: latency p95")
    assert [(p.rank, p.metric, p.direction) for p in parsed] == [
        (0, "cost", "lower"),
        (1, "precision", None),
        (2, "latency_p95", None),
    ]


def test_explicit_weights_and_mixtures() -> None:
    explicit = parse_priorities(["cost=3", "latency=1"])
    assert [p.weight for p in explicit] == pytest.approx([0.75, 0.25])
    assert [p.weight for p in parse_priorities(["cost=60%", "latency=40%"])] == pytest.approx([0.6, 0.4])
    mixed = parse_priorities(["cost=0.5", "latency", "f1_score"])
    assert mixed[0].weight == pytest.approx(0.5)
    assert [p.weight for p in mixed[1:]] == pytest.approx(
        [0.5 * 0.5 / (0.5 + 1 / 3), 0.5 * (1 / 3) / (0.5 + 1 / 3)]
    )
    with pytest.raises(BadInputError, match="leaving nothing"):
        parse_priorities(["cost=0.7", "latency=0.5", "f1_score"])
    with pytest.raises(BadInputError, match="positive"):
        parse_priorities(["cost=0"])
    with pytest.raises(BadInputError, match="positive"):
        parse_priorities(["cost=2s"])


def test_priorities_reject_duplicates_and_constraints() -> None:
    with pytest.raises(BadInputError, match="twice"):
        parse_priorities(["cost", "cost"])
    with pytest.raises(BadInputError, match="is a constraint"):
        parse_priorities(["latency < 2s"])
    with pytest.raises(BadInputError, match="expected"):
        parse_priorities(["=0.5"])


def test_a_request_mixes_priorities_and_constraints() -> None:
    priorities, constraints = parse_request(
        "P0 cost, P1 precision, latency p95 < 2 s, factual_knowledge >= 0.6"
    )
    assert [p.metric for p in priorities] == ["cost", "precision"]
    assert [(c.metric, c.op, c.value) for c in constraints] == [
        ("latency_p95", "<", 2.0),
        ("factual_knowledge", ">=", 0.6),
    ]


def test_p95_is_not_read_as_a_rank() -> None:
    assert parse_priorities("p95 latency")[0].metric == "p95_latency"


@given(st.lists(st.integers(0, 9), min_size=1, max_size=8))
def test_default_weights_sum_to_one_and_never_grow_with_rank(ranks: list[int]) -> None:
    weighted = assign_weights([Priority(metric=f"m{i}", rank=r) for i, r in enumerate(ranks)])
    assert math.isclose(sum(p.weight or 0 for p in weighted), 1.0)
    for a in weighted:
        for b in weighted:
            if a.rank < b.rank:
                assert (a.weight or 0) > (b.weight or 0)
            if a.rank == b.rank:
                assert a.weight == pytest.approx(b.weight)


@given(
    st.lists(
        st.tuples(
            _metric,
            st.integers(0, 9),
            st.one_of(st.none(), st.floats(1e-3, 1e3)),
            st.sampled_from([None, "higher", "lower"]),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda t: t[0],
    )
)
def test_priorities_round_trip_through_text(items: list[tuple[str, int, float | None, str | None]]) -> None:
    priorities = sorted(
        [Priority(metric=m, rank=r, weight=w or 1.0, direction=d) for m, r, w, d in items],  # type: ignore[arg-type]
        key=lambda p: p.rank,
    )
    weighted = assign_weights(priorities)
    again = parse_priorities(format_priorities(weighted))
    assert [(p.metric, p.rank, p.direction) for p in again] == [
        (p.metric, p.rank, p.direction) for p in weighted
    ]
    assert [p.weight for p in again] == pytest.approx([p.weight for p in weighted])
