"""Invented names from syllables: every name in a world is unique and never a substring of another.

The substring rule matters because factual-knowledge scoring is a substring test: a guess must not score
by accident because one invented name happens to contain another.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_ONSETS = (
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
    "br", "dr", "gr", "kr", "th", "sh", "st",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou")
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "m", "k", "x")


# Words our templates and answers use, and common English words: no invented name may contain one or be
# contained in one (a name like "those" or "rain" would make substring scoring meaningless).
_AVOID = """
that this these those there their then than them they what when where which while with would will
were have from about after before again other some such only into over under more most much many
said says people city capital country company river mountain dish language currency founded founder
born owns subsidiary headquartered offices official longest highest national family cooks pay speak
respond following question short answer summarize text sentence classify sentiment review negative
positive love quality price great colour color made sturdy comfortable recommend best purchase year
disappointed cheap poor sending back faded wash flimsy avoid worst bought ordered month sister same
plain every delivery slow worth wait large easy fix dented fine nice fast least shop friendly report
profit rose fell percent strong weak demand launch called next hoping customers talks officials
arrived heavy rain flood parts forcing families leave homes agreed largest maker workers factory
walked demand higher halting production voters polls choose mayor early counts lead snow closed main
roads weather office fall known members guild clan always late money rude strangers afraid water
terrible lazy drivers loud trusted sums travellers often life streets once think meet mount stew
bread soup dumplings crown mark shell coin cloak tunic scarf satchel lantern teapot monday tuesday
wednesday thursday friday saturday sunday trade fishing rights taxes schools rise rises falls strike
vote leads well many rises true false none good bad home hand side part time come came make take
give live work call name game line find kind mind able also back even here just like look long
near open over sure used want week well went word good real area case fact fast feel help high
hold keep last less left let lot love move must need note point rest road room show sign sort
sound stand start state stay step stop talk tell tend test turn upon very view walk wall want
ware wide wild wind wise wish year zero
"""


class NameGenerator:
    """Draws pronounceable invented names from a seeded RNG and remembers every name it gave out."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: list[str] = []
        self._avoid = tuple(w for w in _AVOID.split() if len(w) >= 4)

    def _syllable(self, last: bool) -> str:
        rng = self._rng
        coda = rng.choice(_CODAS) if last or rng.random() < 0.15 else ""
        return rng.choice(_ONSETS) + rng.choice(_VOWELS) + coda

    def root(self, syllables: tuple[int, int] = (2, 2)) -> str:
        """A bare lowercase root, e.g. 'zantor' (not yet reserved)."""
        n = self._rng.randint(*syllables)
        return "".join(self._syllable(i == n - 1) for i in range(n))

    def take(
        self,
        make: Callable[[str], str] | None = None,
        *,
        min_len: int = 4,
        syllables: tuple[int, int] = (2, 2),
    ) -> str:
        """Reserve a new name; `make(root) -> name` decorates the root (suffixes, capitals)."""
        for _ in range(10_000):
            root = self.root(syllables)
            name = make(root) if make is not None else root.capitalize()
            key = name.lower()
            if len(key) < min_len or not self._free(key):
                continue
            self._used.append(key)
            return name
        raise RuntimeError("name space exhausted")  # pragma: no cover - the space is far larger than a world

    def _free(self, key: str) -> bool:
        return all(key not in used and used not in key for used in self._used) and all(
            key not in word and word not in key for word in self._avoid
        )
