"""Classification accuracy helpers (fmeval §1.7): label extraction quirks and sklearn scores."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.core.errors import BadInputError
from fmops.metrics.classification import classification_scores, convert_model_output_to_label

# (model_output, valid_labels, label), observed with fmeval 1.2.3's convert_model_output_to_label.
CONVERT_VECTORS = [
    ("The answer is 1.", ["0", "1"], "unknown"),
    ("Answer:\n1", ["0", "1"], "unknown"),
    ("1", ["0", "1"], "1"),
    ("Positive vibes", ["positive", "negative"], "positive"),
    ("NEGATIVE", ["Negative"], "negative"),
    (" 1 ", ["1"], "1"),
    ("the label is 0 or 1", ["0", "1"], "0"),
    ("1\n", ["1"], "1"),
    ("yes.", ["yes"], "unknown"),
    ("Yes", ["Yes "], "yes"),
    ("", ["0", "1"], "unknown"),
    ("0\t1", ["0", "1"], "unknown"),
    ("Label: Positive", ["Positive", "Negative"], "positive"),
]

# (y_true, y_pred, average, (balanced_accuracy, precision, recall)), observed with fmeval 1.2.3's
# ClassificationAccuracy._get_score on pandas Series, as evaluate() calls it.
CLASSIFICATION_VECTORS = [
    (["1", "0", "1", "1"], ["1", "0", "0", "1"], "micro", (0.8333333333333333, 0.75, 0.75)),
    (["1", "0", "1", "1"], ["1", "unknown", "0", "1"], "micro", (0.3333333333333333, 0.5, 0.5)),
    (
        ["1", "0", "1", "1"],
        ["1", "unknown", "0", "1"],
        "macro",
        (0.3333333333333333, 0.3333333333333333, 0.2222222222222222),
    ),
    (["1", "0", "1", "1"], ["1", "unknown", "0", "1"], "weighted", (0.3333333333333333, 0.75, 0.5)),
    (["a", "b", "c", "a", "b"], ["a", "c", "c", "a", "unknown"], "macro", (0.6666666666666666, 0.375, 0.5)),
    (["a", "b", "c", "a", "b"], ["a", "c", "c", "a", "unknown"], "micro", (0.6666666666666666, 0.6, 0.6)),
    (["1", "1", "1"], ["1", "1", "1"], "micro", (1.0, 1.0, 1.0)),
    (["1", "1", "1"], ["0", "0", "unknown"], "macro", (0.0, 0.0, 0.0)),
    (["0", "1"], ["1", "0"], "weighted", (0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize(("model_output", "labels", "expected"), CONVERT_VECTORS)
def test_convert_matches_fmeval(model_output: str, labels: list[str], expected: str) -> None:
    assert convert_model_output_to_label(model_output, labels) == expected


@pytest.mark.parametrize(("y_true", "y_pred", "average", "expected"), CLASSIFICATION_VECTORS)
def test_scores_match_fmeval(
    y_true: list[str], y_pred: list[str], average: str, expected: tuple[float, float, float]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the ill-defined-value warnings are silenced inside
        scores = classification_scores(y_true, y_pred, average)
    assert (scores["balanced_accuracy_score"], scores["precision_score"], scores["recall_score"]) == expected


def test_worked_examples() -> None:
    assert convert_model_output_to_label("The answer is 1.", ["0", "1"]) == "unknown"
    assert convert_model_output_to_label("Answer:\n1", ["0", "1"]) == "unknown"
    assert convert_model_output_to_label("the answer is 1", ["0", "1"]) == "1"


def test_bad_inputs() -> None:
    with pytest.raises(BadInputError):
        classification_scores(["1"], ["1", "0"])
    with pytest.raises(BadInputError):
        classification_scores([], [])
    with pytest.raises(BadInputError):  # sklearn: average="binary" needs pos_label for these labels
        classification_scores(["a", "b"], ["a", "a"], "binary")


labels = st.lists(st.sampled_from(["0", "1", "Yes", "no", "N/A"]), min_size=1, max_size=4, unique=True)
words = st.lists(
    st.sampled_from(["0", "1", "yes", "YES", "No", "n/a", "1.", "label:", "\n1", ""]), max_size=6
)


@given(words, labels)
def test_convert_picks_first_matching_word(output_words: list[str], valid: list[str]) -> None:
    label = convert_model_output_to_label(" ".join(output_words), valid)
    normalized = [v.lower().strip() for v in valid]
    matches = [w.lower().strip() for w in output_words if w.lower().strip() in normalized]
    assert label == (matches[0] if matches else "unknown")


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["a", "b", "c", "unknown"])), min_size=1))
def test_scores_in_unit_interval(pairs: list[tuple[str, str]]) -> None:
    y_true, y_pred = zip(*pairs, strict=True)
    for average in ("micro", "macro", "weighted"):
        scores = classification_scores(list(y_true), list(y_pred), average)
        assert all(0.0 <= value <= 1.0 for value in scores.values())
        if average == "micro":
            # Micro precision = micro recall = accuracy for single-label predictions.
            accuracy = sum(t == p for t, p in pairs) / len(pairs)
            assert scores["precision_score"] == pytest.approx(accuracy)
            assert scores["recall_score"] == pytest.approx(accuracy)
