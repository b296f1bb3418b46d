"""Masking: replace chosen spans with `{TYPE}` and leave every other byte of the text as it was.

Presidio's anonymizer merges same-type entities separated only by whitespace (the whitespace is lost), so
masking splices the spans itself: overlapping findings are resolved first (higher score, then longer span,
then earlier start wins), then each kept span is replaced by its placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Span(Protocol):
    """Anything with a type, a span and a score (detector findings, regex matches)."""

    @property
    def type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...


S = TypeVar("S", bound=Span)


def resolve_overlaps(spans: Sequence[S]) -> list[S]:
    """Non-overlapping spans in text order; where spans overlap the strongest one is kept."""
    kept: list[S] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if span.end > span.start and all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def mask(text: str, spans: Sequence[Span]) -> str:
    """`text` with each of the (non-overlapping) `spans` replaced by `{TYPE}`."""
    pieces: list[str] = []
    at = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < at:
            raise ValueError("mask() needs non-overlapping spans: call resolve_overlaps first")
        pieces += [text[at : span.start], "{" + span.type + "}"]
        at = span.end
    pieces.append(text[at:])
    return "".join(pieces)
