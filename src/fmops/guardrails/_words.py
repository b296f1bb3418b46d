"""Word filters: custom words and phrases, and the managed profanity list, matched on canonical forms.

A listed word matches a text word with the same letters in the same order and the same runs of repeated
letters, where a letter stretched to three or more stands for any shorter run: "fuuuck" matches "fuck";
"as" does not match "ass", nor "assess" "asses".
Matching is by whole words (never inside another word: "Scunthorpe", "classic" and "assume" are clean).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from fmops.guardrails._normalize import Token, canonical_words, shape, tokens


@dataclass(frozen=True)
class WordMatch:
    listed: str  # the word or phrase as the policy (or the managed list) writes it
    found: str  # the text as it appears in the input
    start: int
    end: int
    managed: bool


class WordMatcher:
    """Finds listed words and phrases in texts; built once per policy."""

    def __init__(self, custom: list[str], managed: list[str]) -> None:
        # first word's collapsed letters -> [(listed text, per-word shapes, managed)]
        self._index: dict[str, list[tuple[str, tuple[tuple[str, tuple[int, ...]], ...], bool]]] = defaultdict(
            list
        )
        for words, is_managed in ((custom, False), (managed, True)):
            for listed in words:
                parts = canonical_words(listed)
                if not parts:
                    continue
                shapes = tuple(shape(p) for p in parts)
                self._index[shapes[0][0]].append((listed, shapes, is_managed))
                if len(parts) > 1:  # "killyourself" written as one word
                    joined = shape("".join(parts))
                    self._index[joined[0]].append((listed, (joined,), is_managed))

    def __bool__(self) -> bool:
        return bool(self._index)

    def find(self, text: str) -> list[WordMatch]:
        toks = tokens(text)
        plain = [t for t in toks if not t.spelled]
        matches: dict[tuple[str, int, int], WordMatch] = {}
        for token in toks:
            for form in token.forms:
                letters, runs = shape(form)
                for listed, shapes, managed in self._index.get(letters, ()):
                    if not _fits(runs, shapes[0][1]):
                        continue
                    end = token.end
                    if len(shapes) > 1:
                        end = _rest_matches(plain, token, shapes[1:])
                        if end is None:
                            continue
                    matches[(listed, token.start, end)] = WordMatch(
                        listed, text[token.start : end], token.start, end, managed
                    )
        found = matches.values()
        # a match inside a longer one ("fuck" in "f u c k i n g") says nothing more
        outer = [m for m in found if not any(o.start <= m.start and m.end <= o.end and o != m for o in found)]
        return sorted(outer, key=lambda m: (m.start, m.end))


def _fits(runs: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
    """Same runs, except that a letter stretched to 3 or more matches any shorter run ("fuuuck"); a run of
    two does not match a single letter ("assess" is not "asses")."""
    return len(runs) == len(wanted) and all(
        r == w or r >= max(3, w) for r, w in zip(runs, wanted, strict=True)
    )


def _rest_matches(
    plain: list[Token], first: Token, rest: tuple[tuple[str, tuple[int, ...]], ...]
) -> int | None:
    """End of the phrase when the words after `first` match `rest` in order, else None."""
    following = [t for t in plain if t.start >= first.end]  # `plain` is in text order
    if len(following) < len(rest):
        return None
    for token, (letters, runs) in zip(following, rest, strict=False):
        if not any(shape(f)[0] == letters and _fits(shape(f)[1], runs) for f in token.forms):
            return None
    return following[len(rest) - 1].end


@lru_cache(maxsize=1)
def managed_profanity() -> tuple[str, ...]:
    """The shipped profanity list (fmops' own, one word or phrase a line, `#` comments)."""
    text = resources.files("fmops.guardrails").joinpath("data/profanity.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
