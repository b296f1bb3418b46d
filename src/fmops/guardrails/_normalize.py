"""Text as a word filter sees it: canonical word forms, each with its span in the original text.

Evasions the forms undo: case (casefold), accents and compatibility forms (NFKD, e.g. fullwidth or
mathematical letters), look-alike letters from other scripts (a small confusables table), leetspeak
(`sh1t`, `@ss`), stretched letters (`fuuuck`: compared by runs, see `shape`), zero-width and combining
characters inside a word, and words spelled out letter by letter (`f u c k`, `f.u.c.k`). Spans always point
into the original string, so whoever acts on a match never rewrites a byte it did not match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# Latin look-alikes from Cyrillic and Greek (the letters that NFKD leaves alone).
CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
        "ɡ": "g", "ᴜ": "u", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "ϲ": "c", "ɑ": "a",
    }
)  # fmt: skip
# Leetspeak, two readings of the ambiguous ones ("1" is i or l).
_LEET = ({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
          "@": "a", "$": "s", "!": "i", "|": "i", "+": "t", "€": "e", "£": "l"},
         {"1": "l", "!": "l", "|": "l"})  # fmt: skip
_SYMBOLS = frozenset("@$!|+€£*")
_SPELL_SEPARATORS = frozenset(" .-_·*")
_MAX_SPELLED = 24  # longer letter-by-letter runs are matched whole only (the stretches grow quadratically)


@dataclass(frozen=True)
class Token:
    """One word of the text: its canonical forms and where it is in the original."""

    forms: tuple[str, ...]
    start: int
    end: int
    spelled: bool = False  # joined from letters spelled out one by one


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """Case, compatibility and accents folded; combining marks and format characters vanish."""
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return ""
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.casefold().translate(CONFUSABLES)


def _is_word_char(folded: str, original: str) -> bool:
    return bool(folded) and (folded.isalnum() or original in _SYMBOLS)


def _forms(raw: str) -> tuple[str, ...]:
    """Canonical forms of one folded word: leet readings, and without symbol prefixes/suffixes ("fuck!")."""
    out: list[str] = []
    for candidate in {raw, raw.strip("".join(_SYMBOLS))}:
        if not candidate:
            continue
        base = "".join(_LEET[0].get(c, c) for c in candidate)
        out.append(base)
        alt = "".join(_LEET[1].get(c, _LEET[0].get(c, c)) for c in candidate)
        if alt != base:
            out.append(alt)
    return tuple(dict.fromkeys(f for f in out if f.isalpha()))


def tokens(text: str) -> list[Token]:
    """The words of `text` with their forms and spans, plus letter-by-letter spellings joined into words."""
    words: list[tuple[str, int, int]] = []
    current: list[str] = []
    start = -1
    for i, char in enumerate(text):
        folded = _fold(char)
        if _is_word_char(folded, char):
            if start < 0:
                start = i
            current.append(folded)
        elif folded == "" and start >= 0:
            continue  # zero-width or combining: part of the word it sits in
        elif start >= 0:
            words.append(("".join(current), start, i))
            current, start = [], -1
    if start >= 0:
        words.append(("".join(current), start, len(text)))
    out = [Token(_forms(w), s, e) for w, s, e in words]
    out += list(_spelled_out(text, words))
    return out


def _spelled_out(text: str, words: list[tuple[str, int, int]]) -> Iterator[Token]:
    """Runs of 3+ one-letter words separated by at most two separator characters, joined: `f u c k`."""
    run: list[tuple[str, int, int]] = []
    for word in [*words, ("", -1, -1)]:
        joinable = (
            len(word[0]) == 1
            and run
            and 0 < word[1] - run[-1][2] <= 2
            and all(c in _SPELL_SEPARATORS for c in text[run[-1][2] : word[1]])
        )
        if joinable:
            run.append(word)
            continue
        if len(run) >= 3:
            # every stretch of 3+ letters: the run may start or end with a real one-letter word ("a f u c k")
            starts = range(len(run) - 2) if len(run) <= _MAX_SPELLED else [0]
            for i in starts:
                for j in range(i + 3, len(run) + 1) if len(run) <= _MAX_SPELLED else [len(run)]:
                    joined = "".join(w for w, _, _ in run[i:j])
                    yield Token(_forms(joined), run[i][1], run[j - 1][2], spelled=True)
        run = [word] if len(word[0]) == 1 else []


def shape(word: str) -> tuple[str, tuple[int, ...]]:
    """(letters with repeats collapsed, run lengths): "fuuck" -> ("fuck", (1, 2, 1, 1))."""
    letters: list[str] = []
    runs: list[int] = []
    for char in word:
        if letters and letters[-1] == char:
            runs[-1] += 1
        else:
            letters.append(char)
            runs.append(1)
    return "".join(letters), tuple(runs)


def canonical_words(text: str) -> tuple[str, ...]:
    """A listed word or phrase in canonical form, word by word ("Sh1t  Head" -> ("shit", "head"))."""
    out = []
    for word in text.split():
        forms = _forms("".join(_fold(c) for c in word))
        if forms:
            out.append(forms[0])
    return tuple(out)
