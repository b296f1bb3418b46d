"""What the user asks for, as text: ranked priorities ("P0 lower cost, P1 precision") and hard constraints
("latency p95 < 2 s", "cost <= $0.01", "factual_knowledge >= 60%").

Parsing knows nothing of a comparison: metric names are checked against one in `select_models`, so the same
request can be written once and applied to many comparison folders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fmops.core.errors import BadInputError

Op = Literal["<", "<=", ">", ">=", "=="]
Direction = Literal["higher", "lower"]
Unit = Literal["s", "$"]

_OPS: dict[str, Op] = {
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "==": "==",
    "=": "==",
    "≤": "<=",
    "≥": ">=",
}
_CONSTRAINT = re.compile(r"^\s*(?P<metric>[^<>=≤≥!]+?)\s*(?P<op><=|>=|==|<|>|=|≤|≥)\s*(?P<value>.+?)\s*$")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_VALUE = re.compile(rf"^(?P<currency>\$)?\s*(?P<number>{_NUMBER})\s*(?P<unit>[A-Za-z%$]*)$")
_UNITS: dict[str, tuple[float, Unit | None]] = {
    "": (1.0, None),
    "%": (0.01, None),
    "s": (1.0, "s"),
    "sec": (1.0, "s"),
    "secs": (1.0, "s"),
    "second": (1.0, "s"),
    "seconds": (1.0, "s"),
    "ms": (0.001, "s"),
    "msec": (0.001, "s"),
    "millisecond": (0.001, "s"),
    "milliseconds": (0.001, "s"),
    "min": (60.0, "s"),
    "mins": (60.0, "s"),
    "minute": (60.0, "s"),
    "minutes": (60.0, "s"),
    "$": (1.0, "$"),
    "usd": (1.0, "$"),
}
_DIRECTIONS: dict[str, Direction] = {
    word: direction
    for direction, words in (
        ("lower", ("lower", "lowest", "low", "less", "min", "minimise", "minimize", "cheaper", "cheapest")),
        ("higher", ("higher", "highest", "high", "more", "max", "maximise", "maximize")),
    )
    for word in words
}
_PRIORITY = re.compile(
    r"^(?:[Pp](?P<rank>\d)(?:\s*[:.)]\s*|\s+))?"
    rf"(?:(?P<direction>{'|'.join(sorted(_DIRECTIONS, key=len, reverse=True))})\s+)?"
    r"(?P<metric>[^=]+?)(?:\s*=\s*(?P<weight>[^=]+?))?\s*$",
    re.IGNORECASE,
)


class Constraint(BaseModel):
    """A hard limit on one metric: a model that breaks it is listed after every model that meets them all."""

    model_config = ConfigDict(frozen=True)

    metric: str = Field(min_length=1)
    op: Op
    value: float
    #: The kind of unit the user wrote (seconds or money), checked against the metric; None for plain numbers.
    unit: Unit | None = None

    def holds(self, value: float) -> bool:
        if self.op == "<":
            return value < self.value
        if self.op == "<=":
            return value <= self.value
        if self.op == ">":
            return value > self.value
        if self.op == ">=":
            return value >= self.value
        return math.isclose(value, self.value, rel_tol=1e-9, abs_tol=1e-12)

    def __str__(self) -> str:
        number = repr(self.value)
        if self.unit == "$":
            return f"{self.metric} {self.op} ${number}"
        return f"{self.metric} {self.op} {number}{' s' if self.unit == 's' else ''}"


class Priority(BaseModel):
    """One thing to optimise, by rank (0 matters most); `weight` is the share of the utility it carries."""

    model_config = ConfigDict(frozen=True)

    metric: str = Field(min_length=1)
    #: 0 matters most; written P0 to P9 in text (a single digit, so `p95 latency` is not read as a rank).
    rank: int = Field(default=0, ge=0)
    weight: float | None = Field(default=None, gt=0)
    #: Only needed for scores fmops does not know; for known metrics it must agree with their direction.
    direction: Direction | None = None

    def __str__(self) -> str:
        direction = f"{self.direction} " if self.direction else ""
        weight = f"={self.weight!r}" if self.weight is not None else ""
        return f"P{self.rank} {direction}{self.metric}{weight}"


def _metric_name(text: str) -> str:
    """`latency p95` -> `latency_p95`: spaces inside a metric name become underscores."""
    return "_".join(text.split())


def parse_value(text: str) -> tuple[float, Unit | None]:
    """`2s`, `500 ms`, `$0.01`, `60%`, `0.6` -> (value in seconds/currency/plain, unit kind)."""
    match = _VALUE.match(text.strip())
    if not match:
        raise BadInputError(
            f"value {text!r}: expected a number with an optional unit (2s, 500ms, $0.01, 60%)"
        )
    unit_text = match["unit"].lower()
    if unit_text not in _UNITS:
        raise BadInputError(f"value {text!r}: unknown unit {match['unit']!r}; use s, ms, min, $, USD or %")
    scale, unit = _UNITS[unit_text]
    if match["currency"]:
        if unit not in (None, "$") or unit_text == "%":
            raise BadInputError(f"value {text!r}: a $ amount cannot also be in {match['unit']}")
        unit = "$"
    value = float(match["number"]) * scale
    if not math.isfinite(value):
        raise BadInputError(f"value {text!r}: not a finite number")
    return value, unit


def parse_constraint(text: str) -> Constraint:
    """`METRIC OP VALUE`, e.g. `latency p95 < 2 s`, `cost <= $0.01`, `factual_knowledge >= 0.6` (`=` means `==`)."""
    match = _CONSTRAINT.match(text)
    if not match or not match["metric"].strip():
        raise BadInputError(
            f"constraint {text!r}: expected METRIC OP VALUE with OP one of < <= > >= ==, e.g. 'latency_p95 < 2s'"
        )
    value, unit = parse_value(match["value"])
    return Constraint(metric=_metric_name(match["metric"]), op=_OPS[match["op"]], value=value, unit=unit)


def _split(items: str | Sequence[str]) -> list[str]:
    texts = [items] if isinstance(items, str) else list(items)
    return [part.strip() for text in texts for part in re.split(r"[,;\n]", text) if part.strip()]


def _is_constraint(item: str) -> bool:
    return any(op in item for op in ("<", ">", "==", "≤", "≥"))


def _parse_priority(item: str, position: int) -> Priority:
    match = _PRIORITY.match(item.strip())
    if not match or not match["metric"].strip():
        raise BadInputError(
            f"priority {item!r}: expected [P<rank>] [lower|higher] METRIC[=WEIGHT], e.g. 'P0 cost' or 'precision=0.4'"
        )
    weight: float | None = None
    if match["weight"] is not None:
        weight, unit = parse_value(match["weight"])
        if unit is not None or weight <= 0:
            raise BadInputError(f"priority {item!r}: the weight must be a positive number, e.g. cost=0.6")
    direction = _DIRECTIONS[match["direction"].lower()] if match["direction"] else None
    rank = int(match["rank"]) if match["rank"] is not None else position
    return Priority(metric=_metric_name(match["metric"]), rank=rank, weight=weight, direction=direction)


def default_weight(rank: int) -> float:
    """Rank reciprocal, 1/(rank+1): P0 counts twice as much as P1 and three times P2 (before normalising)."""
    return 1.0 / (rank + 1)


def assign_weights(priorities: Sequence[Priority]) -> list[Priority]:
    """Weights that sum to 1: explicit ones as given (normalised when every priority has one), and the rest
    share what is left in proportion to 1/(rank+1)."""
    if not priorities:
        return []
    explicit = sum(p.weight for p in priorities if p.weight is not None)
    implicit = [p for p in priorities if p.weight is None]
    if not implicit:
        return [p.model_copy(update={"weight": (p.weight or 0.0) / explicit}) for p in priorities]
    left = 1.0 - explicit
    if left <= 1e-9:
        raise BadInputError(
            f"the explicit priority weights sum to {explicit:g}, leaving nothing for "
            f"{', '.join(p.metric for p in implicit)}: give every priority a weight, or keep the sum below 1"
        )
    total = sum(default_weight(p.rank) for p in implicit)
    return [
        p if p.weight is not None else p.model_copy(update={"weight": left * default_weight(p.rank) / total})
        for p in priorities
    ]


def parse_request(items: str | Sequence[str]) -> tuple[list[Priority], list[Constraint]]:
    """One request in words, e.g. `"P0 cost, P1 precision, latency p95 < 2 s, factual_knowledge >= 0.6"`.

    Items with a comparison operator (< > <= >= ==) are constraints; the others are priorities, ranked by
    their `P<n>` or else by their order. A single `=` is a priority's weight (`cost=0.6`).
    """
    parts = _split(items)
    constraints = [parse_constraint(part) for part in parts if _is_constraint(part)]
    texts = [part for part in parts if not _is_constraint(part)]
    priorities = [_parse_priority(text, i) for i, text in enumerate(texts)]
    seen: set[str] = set()
    for p in priorities:
        if p.metric in seen:
            raise BadInputError(f"priority {p.metric!r} is given twice")
        seen.add(p.metric)
    ranked = sorted(priorities, key=lambda p: p.rank)
    return assign_weights(ranked), constraints


def parse_priorities(items: str | Sequence[str]) -> list[Priority]:
    """`["cost", "precision_score"]`, `["cost=0.6", "latency=0.4"]` or `"P0 lower cost, P1 precision"` ->
    priorities sorted by rank, with weights that sum to 1. Constraints are not accepted here."""
    constraints = [part for part in _split(items) if _is_constraint(part)]
    if constraints:
        raise BadInputError(
            f"{constraints[0]!r} is a constraint, not a priority: pass it with --constraint (or in --priorities)"
        )
    return parse_request(items)[0]


def format_priorities(priorities: Sequence[Priority]) -> str:
    """The inverse of `parse_priorities` (for logs and round trips)."""
    return ", ".join(str(p) for p in priorities)


__all__ = [
    "Constraint",
    "Direction",
    "Op",
    "Priority",
    "Unit",
    "assign_weights",
    "default_weight",
    "format_priorities",
    "parse_constraint",
    "parse_priorities",
    "parse_request",
    "parse_value",
]
