"""Robustness metrics: WER as fmeval reports it, mean delta, and the non-deterministic baseline.

Expected WER values were observed with fmeval 1.2.3's `WER` transform (HF "wer" formula over
jiwer 3.1.0, the version fmeval installs), and `MeanDeltaScores`.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.metrics.robustness import (
    baseline_pairs,
    baseline_word_error_rate,
    mean_delta,
    subtract_baseline,
    word_error_rate,
)


@pytest.mark.parametrize(
    ("references", "predictions", "expected"),
    [
        (["Some model output."], ["some model output"], 2 / 3),  # case and punctuation count
        (["a b c"] * 3, ["a b c", "a x c", "a b c d e"], 1 / 3),  # corpus-level, not a mean of rates
        (["hello"], ["one two three"], 3.0),  # insertions: above 1
        (["the cat sat"] * 2, ["", "the cat"], 2 / 3),  # empty prediction = all deletions
        (["x"], ["  "], 1.0),
        (["a\tb c"], ["a b c"], 1.0),  # a lone tab does not split words
        (["a\nb"], ["a b"], 2.0),  # nor does a lone newline
        (["a\n\nb  c"], ["a b c"], 0.0),  # runs of 2+ whitespace collapse to one space
        (["Hello, world!"] * 2, ["Hello world", "hello, World!"], 1.0),
    ],
)
def test_word_error_rate_matches_fmeval(
    references: list[str], predictions: list[str], expected: float
) -> None:
    assert word_error_rate(references, predictions) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("references", [[""], ["   "], ["ok", ""], ["\n"]])
def test_empty_reference_raises_value_error(references: list[str]) -> None:
    # fmeval/jiwer 3.1.0 raise ValueError here (jiwer 4 would quietly score it): we raise one that the
    # caller records as this record's error instead of failing the run.
    with pytest.raises(ValueError, match="empty reference"):
        word_error_rate(references, ["abc"] * len(references))


def test_word_error_rate_input_errors() -> None:
    with pytest.raises(ValueError, match="as many references as predictions"):
        word_error_rate(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        word_error_rate([], [])
    with pytest.raises(ValueError, match="non-text"):
        word_error_rate(["a"], [None])  # type: ignore[list-item]


def _words(text: str) -> list[str]:
    # jiwer's default WER transform, restated: collapse 2+ whitespace, strip, split on " ".
    return [w for w in re.sub(r"\s\s+", " ", text).strip().split(" ") if w]


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


WORDS = st.lists(st.sampled_from(["a", "b", "B", ".", " ", "  ", "\t", "\n", "é"]), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(WORDS.filter(lambda s: s.strip() != ""), WORDS), min_size=1, max_size=5))
def test_word_error_rate_is_total_edits_over_reference_words(pairs: list[tuple[str, str]]) -> None:
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    edits = sum(_edit_distance(_words(r), _words(h)) for r, h in pairs)
    assert word_error_rate(refs, hyps) == pytest.approx(edits / sum(len(_words(r)) for r in refs))


def test_mean_delta() -> None:
    assert mean_delta(0.5, [1.0, 0.25, 0.5]) == 0.25  # observed with fmeval MeanDeltaScores
    assert mean_delta(1.0, [1.0]) == 0.0
    assert isinstance(mean_delta(1, [0]), float)
    with pytest.raises(ValueError):
        mean_delta(0.5, [])


def test_baseline_pairs_follow_combinations_order() -> None:
    outputs = ["b0", "b1", "b2", "original"]
    assert baseline_pairs(outputs) == [
        ("b0", "b1"),
        ("b0", "b2"),
        ("b0", "original"),
        ("b1", "b2"),
        ("b1", "original"),
        ("b2", "original"),
    ]
    assert len(baseline_pairs(["x"] * 5)) == 10
    assert baseline_pairs(outputs) == list(itertools.combinations(outputs, 2))
    with pytest.raises(ValueError):
        baseline_pairs(["only one"])


def test_baseline_word_error_rate_uses_fmeval_orientation() -> None:
    # fmeval passes the first of each pair as the prediction and the second as the reference.
    outputs = ["a b", "a b c", "x", "a b c d"]
    assert baseline_word_error_rate(outputs) == pytest.approx(0.7647058823529411)  # observed
    pairs = baseline_pairs(outputs)
    assert word_error_rate([p[0] for p in pairs], [p[1] for p in pairs]) == pytest.approx(1.0)  # not this
    assert baseline_word_error_rate(["same", "same"]) == 0.0


def test_subtract_baseline_clips_at_zero() -> None:
    assert subtract_baseline(0.3, 0.5) == 0.0
    assert subtract_baseline(0.5, 0.25) == 0.25
    assert isinstance(subtract_baseline(0.1, 0.2), float)
