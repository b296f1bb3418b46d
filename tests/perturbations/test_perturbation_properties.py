"""Property tests: determinism, what each perturbation may change, and the fast ButterFinger stream."""

from __future__ import annotations

import re
import string

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.perturbations import PERTURBATION_TYPES, Perturber
from fmops.perturbations.algorithms import KEYBOARD_NEIGHBOURS, _Pcg64Reader, butter_finger

# Mostly keyboard letters and whitespace (where the perturbations act), plus any code point.
CHARS = st.one_of(
    st.sampled_from(string.ascii_letters + "  \t\n"),
    st.characters(codec="utf-8"),
)
TEXTS = st.text(alphabet=CHARS, max_size=60)
SEEDS = st.integers(min_value=0, max_value=2**64)
PROBS = st.floats(min_value=0.0, max_value=1.0)
COUNTS = st.integers(min_value=1, max_value=6)


def _case_stable(ch: str) -> bool:
    """Characters whose lower()/upper() round trip is one code point and lossless."""
    low = ch.lower()
    return len(low) == 1 and (low == ch or low.upper() == ch)


def _params(ptype: str, p: float, q: float) -> dict[str, float]:
    return {
        "butter_finger": {"butter_finger_perturbation_prob": p},
        "random_upper_case": {"random_uppercase_corrupt_proportion": p},
        "whitespace_add_remove": {"whitespace_add_prob": p, "whitespace_remove_prob": q},
    }[ptype]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PERTURBATION_TYPES), SEEDS, PROBS, PROBS, st.lists(TEXTS, max_size=4), COUNTS)
def test_same_seed_same_outputs(ptype: str, seed: int, p: float, q: float, texts: list[str], n: int) -> None:
    first, second = (
        Perturber(ptype, seed, **_params(ptype, p, q)),
        Perturber(ptype, seed, **_params(ptype, p, q)),
    )
    outputs = [first.perturb(text, n) for text in texts]
    assert outputs == [second.perturb(text, n) for text in texts]
    assert all(len(out) == n and all(isinstance(s, str) for s in out) for out in outputs)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PERTURBATION_TYPES), SEEDS, TEXTS, COUNTS, COUNTS)
def test_perturbations_are_drawn_one_after_another(ptype: str, seed: int, text: str, a: int, b: int) -> None:
    # n = a + b in one call equals a then b on one instance (fmeval draws per perturbation).
    split = Perturber(ptype, seed)
    assert split.perturb(text, a) + split.perturb(text, b) == Perturber(ptype, seed).perturb(text, a + b)


@settings(max_examples=80, deadline=None)
@given(SEEDS, st.text(alphabet=string.ascii_lowercase, max_size=80), PROBS, COUNTS)
def test_random_upper_case_changes_exactly_the_chosen_count(
    seed: int, text: str, prop: float, n: int
) -> None:
    for out in Perturber("random_upper_case", seed, random_uppercase_corrupt_proportion=prop).perturb(
        text, n
    ):
        assert out.lower() == text
        assert sum(c.isupper() for c in out) == int(len(text) * prop)


@settings(max_examples=80, deadline=None)
@given(SEEDS, st.text(alphabet=CHARS.filter(lambda c: len(c.upper()) == 1), max_size=60), PROBS)
def test_random_upper_case_only_changes_case(seed: int, text: str, prop: float) -> None:
    for out in Perturber("random_upper_case", seed, random_uppercase_corrupt_proportion=prop).perturb(
        text, 3
    ):
        assert len(out) == len(text)
        changed = [i for i, (a, b) in enumerate(zip(text, out, strict=True)) if a != b]
        assert all(out[i] == text[i].upper() for i in changed)
        assert len(changed) <= int(len(text) * prop)


def _whitespace_pattern(text: str) -> re.Pattern[str]:
    # Each whitespace char may disappear; each other char may be followed by one added space.
    parts = [f"(?:{re.escape(c)})?" if c.isspace() else f"{re.escape(c)} ?" for c in text]
    return re.compile("".join(parts), re.DOTALL)


@settings(max_examples=80, deadline=None)
@given(SEEDS, TEXTS, PROBS, PROBS)
def test_whitespace_only_adds_spaces_or_removes_whitespace(
    seed: int, text: str, add: float, rem: float
) -> None:
    perturber = Perturber("whitespace_add_remove", seed, whitespace_add_prob=add, whitespace_remove_prob=rem)
    pattern = _whitespace_pattern(text)
    for out in perturber.perturb(text, 3):
        assert pattern.fullmatch(out), (text, out)
        assert "".join(out.split()) == "".join(text.split())


@settings(max_examples=30, deadline=None)
@given(SEEDS, TEXTS)
def test_whitespace_extremes(seed: int, text: str) -> None:
    untouched = Perturber("whitespace_add_remove", seed, whitespace_add_prob=0.0, whitespace_remove_prob=0.0)
    assert untouched.perturb(text, 2) == [text, text]
    everything = Perturber("whitespace_add_remove", seed, whitespace_add_prob=1.0, whitespace_remove_prob=1.0)
    assert everything.perturb(text, 1) == ["".join(c + " " for c in text if not c.isspace())]


@settings(max_examples=80, deadline=None)
@given(SEEDS, st.text(alphabet=CHARS.filter(_case_stable), max_size=60), PROBS)
def test_butter_finger_preserves_length_case_and_non_keys(seed: int, text: str, prob: float) -> None:
    for out in Perturber("butter_finger", seed, butter_finger_perturbation_prob=prob).perturb(text, 3):
        assert len(out) == len(text)
        for before, after in zip(text, out, strict=True):
            neighbours = KEYBOARD_NEIGHBOURS.get(before.lower())
            if neighbours is None:
                assert after == before
            else:
                assert after.lower() in neighbours
                assert after == (after.upper() if before.isupper() else after.lower())


def _butter_finger_oracle(rng: np.random.Generator, text: str, n: int, prob: float) -> list[str]:
    """§1.10 read literally, one Generator call per draw (slow, obviously right)."""
    outputs = []
    for _ in range(n):
        chars = []
        for ch in text:
            low = ch.lower()
            new = low
            if low in KEYBOARD_NEIGHBOURS and rng.random() <= prob:
                new = rng.choice(list(KEYBOARD_NEIGHBOURS[low]))
            chars.append(new.upper() if low != ch else new)
        outputs.append("".join(chars))
    return outputs


@settings(max_examples=80, deadline=None)
@given(
    SEEDS, st.lists(TEXTS, min_size=1, max_size=4), st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]) | PROBS, COUNTS
)
def test_fast_butter_finger_equals_generator_calls(seed: int, texts: list[str], prob: float, n: int) -> None:
    fast, slow = np.random.default_rng(seed), np.random.default_rng(seed)
    for text in texts:
        assert butter_finger(fast, text, n, prob) == _butter_finger_oracle(slow, text, n, prob)
        # The real generator ends exactly where the draws would have left it, 32-bit buffer included.
        assert fast.bit_generator.state == slow.bit_generator.state
    assert fast.integers(0, 7, size=3).tolist() == slow.integers(0, 7, size=3).tolist()


@settings(max_examples=60, deadline=None)
@given(
    SEEDS,
    st.booleans(),
    st.lists(st.one_of(st.none(), st.integers(1, 30), st.integers(2**31, 2**32 - 1)), max_size=40),
)
def test_reader_replays_random_and_integers(seed: int, odd_start: bool, ops: list[int | None]) -> None:
    real, ref = np.random.default_rng(seed), np.random.default_rng(seed)
    if odd_start:  # leave half a 64-bit output in PCG64's 32-bit buffer
        real.integers(0, 10)
        ref.integers(0, 10)
    reader = _Pcg64Reader(real)
    for op in ops:
        if op is None:
            reader.reserve(1)
            value = reader.raw[reader.pos]
            reader.pos += 1
            assert (value >> 11) * (1.0 / 2**53) == ref.random()
        else:  # large bounds exercise Lemire's rejection loop
            assert reader.below(op) == ref.integers(0, op)
    reader.commit()
    assert real.bit_generator.state == ref.bit_generator.state
