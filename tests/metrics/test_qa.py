"""QA accuracy scores (fmeval §1.3): worked examples, fmeval parity vectors, nltk parity."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.metrics.scores import f_measure, precision, recall

from fmops.core.errors import BadInputError
from fmops.metrics.qa import QA_SCORE_NAMES, qa_scores
from fmops.metrics.text import normalize_text_quac

# (model_output, target_output, delimiter, (f1, exact, quasi_exact, precision, recall)), observed
# with fmeval 1.2.3's QAAccuracyScores transform.
QA_VECTORS = [
    ("cat cat dog", "cat", "<OR>", (0.6666666666666666, 0.0, 0.0, 0.5, 1.0)),
    ("", "", "<OR>", (0.0, 1.0, 1.0, 0.0, 0.0)),
    ("", "foo", "<OR>", (0.0, 0.0, 0.0, 0.0, 0.0)),
    ("foo", "", "<OR>", (0.0, 0.0, 0.0, 0.0, 0.0)),
    ("The  Big\tApple!", "big apple", "<OR>", (1.0, 0.0, 0.0, 1.0, 1.0)),
    ("Quentin", "Quentin Tarantino", None, (1.0, 1.0, 1.0, 1.0, 1.0)),
    ("UK", "United Kingdom<OR>UK<OR>Britain", "<OR>", (1.0, 1.0, 1.0, 1.0, 1.0)),
    ("  Paris ", "paris", "<OR>", (1.0, 0.0, 1.0, 1.0, 1.0)),
    ("Paris", " Paris\n", "<OR>", (1.0, 1.0, 1.0, 1.0, 1.0)),
    ("“Hello” — world", "hello world", "<OR>", (0.4, 0.0, 0.0, 0.3333333333333333, 0.5)),
    ("an apple a day", "apple day", "<OR>", (1.0, 0.0, 1.0, 1.0, 1.0)),
    ("the", "a", "<OR>", (0.0, 0.0, 1.0, 0.0, 0.0)),
    (
        "Café au lait",
        "cafe au lait",
        "<OR>",
        (0.6666666666666666, 0.0, 0.0, 0.6666666666666666, 0.6666666666666666),
    ),
    ("New\nYork City", "new york", "<OR>", (0.8, 0.0, 0.0, 0.6666666666666666, 1.0)),
    ("1,000", "1000", "<OR>", (1.0, 0.0, 1.0, 1.0, 1.0)),
    ("İstanbul", "istanbul", "<OR>", (0.0, 0.0, 0.0, 0.0, 0.0)),
    ("yes<OR>no", "yes", "<OR>", (0.0, 0.0, 0.0, 0.0, 0.0)),
    (
        "Barack Obama was president",
        "Obama<OR>Barack Obama<OR>President Obama",
        "<OR>",
        (0.6666666666666666, 0.0, 0.0, 0.5, 1.0),
    ),
    ("foo", "<OR>foo", "<OR>", (1.0, 1.0, 1.0, 1.0, 1.0)),
    ("don't", "do not<OR>dont", "<OR>", (1.0, 0.0, 1.0, 1.0, 1.0)),
    ("U.S.A.", "usa", "<OR>", (1.0, 0.0, 1.0, 1.0, 1.0)),
    ("red green blue", "blue|green yellow|red", "|", (0.5, 0.0, 0.0, 0.3333333333333333, 1.0)),
    ("It is Paris, France.", "Paris France<OR>Lyon", "<OR>", (0.6666666666666666, 0.0, 0.0, 0.5, 1.0)),
    ("the the the", "the", "<OR>", (0.0, 0.0, 1.0, 0.0, 0.0)),
    ("Tokyo Japan", "tokyo, japan", None, (0.6666666666666666, 0.0, 0.0, 0.5, 1.0)),
]


@pytest.mark.parametrize(("model_output", "target_output", "delimiter", "expected"), QA_VECTORS)
def test_matches_fmeval(
    model_output: str, target_output: str, delimiter: str | None, expected: tuple[float, ...]
) -> None:
    scores = qa_scores(model_output, target_output, delimiter)
    assert tuple(scores[name] for name in QA_SCORE_NAMES) == expected


def test_worked_examples() -> None:
    # Set-based F1: SQuAD's Counter F1 would give 0.5.
    assert qa_scores("cat cat dog", "cat")["f1_score"] == pytest.approx(2 / 3)
    # nltk's None for an empty side scores 0.0, even for empty vs empty...
    assert qa_scores("", "")["f1_score"] == 0.0
    # ...while the (quasi) exact matches compare strings.
    assert qa_scores("", "")["exact_match_score"] == 1.0
    # EM is case-sensitive after strip; quasi-EM is not.
    assert qa_scores(" Paris ", "paris")["exact_match_score"] == 0.0
    assert qa_scores(" Paris ", "paris")["quasi_exact_match_score"] == 1.0
    # A None delimiter splits the target on whitespace: each word is an alternative.
    assert set(qa_scores("Quentin", "Quentin Tarantino", None).values()) == {1.0}
    assert list(qa_scores("x", "y")) == list(QA_SCORE_NAMES)


def test_no_possible_target_scores_zero() -> None:
    # "".split(None) == []: fmeval's max([]) raises ValueError; we score the record 0.0.
    assert set(qa_scores("", "  ", None).values()) == {0.0}


def test_empty_delimiter_rejected() -> None:
    with pytest.raises(BadInputError):
        qa_scores("a", "a", "")


def _fmeval_reference(model_output: str, target_output: str, delimiter: str | None) -> dict[str, float]:
    """The spec written out naively: every score per target with nltk, then the max."""

    def words(text: str) -> set[str]:
        return set(normalize_text_quac(text.strip()).split())

    def zero_if_none(value: float | None) -> float:
        return 0.0 if value is None else float(value)

    per_target = [
        {
            "f1_score": zero_if_none(f_measure(words(target), words(model_output))),
            "exact_match_score": float(model_output.strip() == target.strip()),
            "quasi_exact_match_score": float(
                normalize_text_quac(model_output.strip()) == normalize_text_quac(target.strip())
            ),
            "precision_over_words": zero_if_none(precision(words(target), words(model_output))),
            "recall_over_words": zero_if_none(recall(words(target), words(model_output))),
        }
        for target in target_output.split(delimiter)
    ]
    # default=0.0: fmeval's max([]) raises when a None delimiter leaves no target at all.
    return {name: max((scores[name] for scores in per_target), default=0.0) for name in QA_SCORE_NAMES}


# Small vocabulary so that outputs and targets overlap often.
word = st.sampled_from(
    ["a", "the", "An", "cat", "Cat", "dog", "dog.", "New", "york", "“x”", "1,000", "İ", "ß"]
)
sep = st.sampled_from([" ", "  ", "\t", "\n", ", ", "!"])
phrase = st.lists(st.tuples(word, sep), max_size=6).map(lambda parts: "".join(w + s for w, s in parts))
targets = st.lists(phrase, min_size=1, max_size=5)


@settings(max_examples=300)
@given(phrase, targets, st.sampled_from(["<OR>", "|", None]))
def test_equals_nltk_semantics(model_output: str, alternatives: list[str], delimiter: str | None) -> None:
    target_output = (delimiter or " ").join(alternatives)
    assert qa_scores(model_output, target_output, delimiter) == _fmeval_reference(
        model_output, target_output, delimiter
    )


@given(st.text(max_size=40), st.text(max_size=40))
def test_arbitrary_text_equals_nltk_semantics(model_output: str, target_output: str) -> None:
    assert qa_scores(model_output, target_output) == _fmeval_reference(model_output, target_output, "<OR>")


@given(phrase, targets)
def test_max_over_targets(model_output: str, alternatives: list[str]) -> None:
    combined = qa_scores(model_output, "<OR>".join(alternatives))
    singles = [qa_scores(model_output, alternative) for alternative in alternatives]
    for name in QA_SCORE_NAMES:
        assert 0.0 <= combined[name] <= 1.0
        assert combined[name] == max(single[name] for single in singles)
    # The order of the alternatives does not matter.
    assert qa_scores(model_output, "<OR>".join(reversed(alternatives))) == combined


@given(phrase, phrase)
def test_f1_is_harmonic_mean(model_output: str, target: str) -> None:
    scores = qa_scores(model_output, target)
    p, r = scores["precision_over_words"], scores["recall_over_words"]
    expected = 0.0 if p == 0 or r == 0 else 2 * p * r / (p + r)
    assert math.isclose(scores["f1_score"], expected, abs_tol=1e-12)


@given(st.text(alphabet=string.ascii_lowercase + " ", max_size=30))
def test_identical_text(text: str) -> None:
    scores = qa_scores(text, text)
    assert scores["exact_match_score"] == scores["quasi_exact_match_score"] == 1.0
    has_words = bool(normalize_text_quac(text.strip()).split())
    assert scores["f1_score"] == (1.0 if has_words else 0.0)
