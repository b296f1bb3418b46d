"""The three semantic perturbations of fmeval 1.2.3 (`transforms/semantic_perturbations.py`).

Each function consumes the numpy Generator it is given exactly as fmeval's current transforms do
(same draws, same order, same 32-bit buffer left behind), so one `default_rng(seed)` shared across
calls yields byte-identical texts. ButterFinger replays the stream in bulk for speed; the others call
the Generator directly. Text in, list of texts out; only the generator's state changes.
"""

from __future__ import annotations

import math

import numpy as np

# QWERTY neighbours (NL-Augmenter's table, as fmeval ships it). Each string starts with the key itself,
# so a "typo" can leave the letter unchanged, and some repeat a key ("a" lists "w" twice), which
# weights the draw: keep the strings exactly as they are.
KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "q": "qwasedzx",
    "w": "wqesadrfcx",
    "e": "ewrsfdqazxcvgt",
    "r": "retdgfwsxcvgt",
    "t": "tryfhgedcvbnju",
    "y": "ytugjhrfvbnji",
    "u": "uyihkjtgbnmlo",
    "i": "iuojlkyhnmlp",
    "o": "oipklujm",
    "p": "plo['ik",
    "a": "aqszwxwdce",
    "s": "swxadrfv",
    "d": "decsfaqgbv",
    "f": "fdgrvwsxyhn",
    "g": "gtbfhedcyjn",
    "h": "hyngjfrvkim",
    "j": "jhknugtblom",
    "k": "kjlinyhn",
    "l": "lokmpujn",
    "z": "zaxsvde",
    "x": "xzcsdbvfrewq",
    "c": "cxvdfzswergb",
    "v": "vcfbgxdertyn",
    "b": "bvnghcftyun",
    "n": "nbmhjvgtuik",
    "m": "mnkjloik",
    " ": " ",
}


class _Pcg64Reader:
    """Reads ahead in bulk what a PCG64 `Generator` would return for `random()` and `integers(0, n)`.

    ButterFinger makes one `random()` call per key and a neighbour pick on a hit; done through the
    Generator that is ~1000 Python-level numpy calls per 200-character text. Instead we pull raw
    64-bit outputs in one `random_raw` call and replay numpy's own formulas (stable since 1.17, checked
    against the Generator in the tests): `random() = (raw >> 11) / 2**53`, and `integers(0, n)` = Lemire
    rejection on 32-bit halves, where PCG64 keeps the unused upper half for its next 32-bit draw.
    `commit()` then moves the real Generator exactly as far as the calls would have, buffer included.
    """

    __slots__ = ("_bit_generator", "_start", "has_uint32", "pos", "raw", "uinteger")

    def __init__(self, rng: np.random.Generator) -> None:
        bit_generator = rng.bit_generator
        state = bit_generator.state
        if state["bit_generator"] != "PCG64":
            raise TypeError(f"fmeval parity needs a PCG64 generator, got {state['bit_generator']}")
        self._bit_generator = bit_generator
        self._start = state  # read ahead from the generator itself; commit() rewinds to here
        self.raw: list[int] = []
        self.pos = 0  # raw outputs consumed so far
        self.has_uint32 = bool(state["has_uint32"])
        self.uinteger = int(state["uinteger"])

    def reserve(self, count: int) -> None:
        """Make sure `count` unread raw outputs are available (over-reading is undone by commit)."""
        missing = count - (len(self.raw) - self.pos)
        if missing > 0:
            self.raw.extend(self._bit_generator.random_raw(max(missing, 256)).tolist())

    def _next_uint32(self) -> int:
        if self.has_uint32:
            self.has_uint32 = False
            return self.uinteger
        self.reserve(1)
        value = self.raw[self.pos]
        self.pos += 1
        self.has_uint32 = True
        self.uinteger = value >> 32
        return value & 0xFFFFFFFF

    def below(self, n: int) -> int:
        """`Generator.integers(0, n)` (same as `choice` of an n-element list) for 1 <= n < 2**32."""
        if n == 1:
            return 0  # numpy returns without drawing for a single-value range
        m = self._next_uint32() * n
        leftover = m & 0xFFFFFFFF
        if leftover < n:
            threshold = (0x100000000 - n) % n
            while leftover < threshold:
                m = self._next_uint32() * n
                leftover = m & 0xFFFFFFFF
        return m >> 32

    def commit(self) -> None:
        """Advance the real generator by the raw outputs consumed and restore the 32-bit buffer."""
        bit_generator = self._bit_generator
        bit_generator.state = self._start
        bit_generator.advance(self.pos)
        state = bit_generator.state
        state["has_uint32"] = int(self.has_uint32)
        state["uinteger"] = self.uinteger
        bit_generator.state = state


def _raw_threshold(prob: float) -> int:
    """Largest raw output for which `random() <= prob`: random() is (raw >> 11) / 2**53, exactly."""
    if math.isnan(prob):
        return -1
    if prob >= 1.0:
        return 1 << 64
    if prob < 0.0:
        return -1
    return (math.floor(prob * 2.0**53) << 11) | 0x7FF


def butter_finger(rng: np.random.Generator, text: str, num_perturbations: int, prob: float) -> list[str]:
    """Keyboard typos: each key in the table is replaced by a random neighbour with probability `prob`.

    Mirrors fmeval quirks on purpose: one `random()` per table key (a space too, although its only
    neighbour is itself, and no draw for the pick then), the test is `<= prob`, and every character
    goes through `lower()` and back to `upper()` when lowering changed it, so a few non-ASCII
    characters are normalised (Kelvin sign → "K", "ǅ" → "Ǆ", "İ" → "I" + U+0307) even unperturbed.
    """
    # Everything but the random draws is the same for every perturbation: compute it once.
    base: list[str] = []
    slots: list[tuple[int, str, bool]] = []  # (index, neighbours, restore upper case)
    for index, ch in enumerate(text):
        low = ch.lower()
        restore = low != ch
        base.append(low.upper() if restore else low)
        neighbours = KEYBOARD_NEIGHBOURS.get(low)
        if neighbours is not None:
            slots.append((index, neighbours, restore))
    if not slots:
        return ["".join(base)] * num_perturbations  # no key in the table: no draws at all
    reader = _Pcg64Reader(rng)
    threshold = _raw_threshold(prob)
    needed = len(slots) + 4
    results: list[str] = []
    for _ in range(num_perturbations):
        reader.reserve(needed)
        raw = reader.raw  # extended in place by reserve(), so this alias stays valid
        pos = reader.pos
        out = base.copy()
        for index, neighbours, restore in slots:
            value = raw[pos]
            pos += 1
            if value <= threshold:
                reader.pos = pos
                reader.reserve(needed)
                new = neighbours[reader.below(len(neighbours))]
                pos = reader.pos
                out[index] = new.upper() if restore else new
        reader.pos = pos
        results.append("".join(out))
    reader.commit()
    return results


def random_upper_case(
    rng: np.random.Generator, text: str, num_perturbations: int, fraction: float
) -> list[str]:
    """Upper-case exactly `int(len(text) * fraction)` distinct positions (code points) per perturbation.

    `choice(n, k, replace=False)` gives the same draws as fmeval's `choice(range(n), k, False)`;
    the float product is truncated as fmeval does (e.g. 100 * 0.29 → 28).
    """
    n = len(text)
    k = int(n * fraction)
    results: list[str] = []
    for _ in range(num_perturbations):
        positions = rng.choice(n, k, replace=False)
        if k == 0:
            results.append(text)
            continue
        chars = list(text)
        for pos in positions.tolist():
            chars[pos] = chars[pos].upper()
        results.append("".join(chars))
    return results


def whitespace_add_remove(
    rng: np.random.Generator, text: str, num_perturbations: int, add_prob: float, remove_prob: float
) -> list[str]:
    """One draw p per character: whitespace with p < remove_prob is dropped; other chars with p < add_prob
    get a space after them.

    `random(len(text))` yields the same doubles as fmeval's per-character `random()` calls.
    """
    is_space = [ch.isspace() for ch in text]
    results: list[str] = []
    for _ in range(num_perturbations):
        draws = rng.random(len(text)).tolist()
        out: list[str] = []
        append = out.append
        for ch, space, p in zip(text, is_space, draws, strict=True):
            if space:
                if p >= remove_prob:
                    append(ch)
            elif p < add_prob:
                append(ch + " ")
            else:
                append(ch)
        results.append("".join(out))
    return results
