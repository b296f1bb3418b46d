"""JMESPath "locations": compiled once, with a plain-dict fast path for simple field chains."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from fmops.core.errors import BadInputError


class Missing:
    """Marks a location that found no value in a record; `why` says how (for messages)."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Missing({self.why!r})"


# JMESPath cannot tell "no such key" from "null": only the fast path can, so it gets the precise ones.
NOTHING = Missing("nothing")
NULL = Missing("null")
NOTHING_OR_NULL = Missing("nothing (no match or null)")


@dataclass(frozen=True)
class Location:
    """A compiled JMESPath expression that extracts one column from a record (equal by expression)."""

    expression: str
    compiled: ParsedResult = field(compare=False, repr=False)
    # Set when the expression is a chain of (quoted) fields, e.g. `question`, `"Review Text"`, `a.b`.
    path: tuple[str, ...] | None = field(compare=False)
    # Set when the expression is a projection `<left>[*].<right>`: JSON documents evaluate `right`
    # per element so that a record lacking the field keeps its place instead of being dropped.
    projection: tuple[ParsedResult, Location] | None = field(compare=False, repr=False)

    def find(self, obj: Any) -> Any:
        """The value at this location in `obj`, or a `Missing` when there is none."""
        path = self.path
        if path is not None:
            cur = obj
            for key in path:
                if type(cur) is not dict:
                    return NOTHING
                cur = cur.get(key, NOTHING)
            if cur is None:
                return NULL
            return cur
        try:
            result = self.compiled.search(obj)
        except JMESPathError as e:
            return Missing(f"nothing (JMESPath error: {one_line(str(e))})")
        return NOTHING_OR_NULL if result is None else result


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so a message stays on one line, and cap its length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(value: Any, limit: int = 60) -> str:
    """A short, one-line description of a found value, by JSON type name."""
    if isinstance(value, Missing):
        return value.why
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, dict):
        kind = "an object"
    elif isinstance(value, list):
        kind = "a list"
    else:
        kind = f"a {type(value).__name__}"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    text = one_line(text, limit)
    return f"{kind} {text}"


def _field_chain(node: dict[str, Any]) -> tuple[str, ...] | None:
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression":
        parts: list[str] = []
        for child in node["children"]:
            sub = _field_chain(child)
            if sub is None:
                return None
            parts.extend(sub)
        return tuple(parts)
    return None


def _from_ast(expression: str, ast: dict[str, Any]) -> Location:
    projection = None
    if ast["type"] == "projection":
        left, right = ast["children"]
        projection = (ParsedResult(expression, left), _from_ast(expression, right))
    return Location(
        expression=expression,
        compiled=ParsedResult(expression, ast),
        path=_field_chain(ast),
        projection=projection,
    )


@functools.lru_cache(maxsize=512)
def _compile(expression: str) -> Location:
    return _from_ast(expression, jmespath.compile(expression).parsed)


def compile_location(expression: str, field_name: str) -> Location:
    """Compile `expression` (cached); a syntax error is a BadInputError naming `field_name`."""
    if not isinstance(expression, str):
        raise BadInputError(f"{field_name}: expected a JMESPath string, found {describe(expression)}")
    try:
        return _compile(expression)
    except JMESPathError as e:
        # jmespath's messages span lines (expression + caret): keep the first, without its tail.
        detail = one_line(str(e).split("\n", 1)[0]).removesuffix(", for expression:").rstrip(" :")
        pos = getattr(e, "lex_position", None)
        if isinstance(pos, int) and "column" not in detail:
            detail += f" at column {pos}"
        raise BadInputError(f"{field_name}: invalid JMESPath {expression!r}: {detail}") from None
