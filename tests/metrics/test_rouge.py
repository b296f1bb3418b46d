"""ROUGE (fmeval §1.5): rouge_score default tokenizer, Porter stemming, F-measure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from fmops.core.errors import BadInputError
from fmops.metrics.rouge import ROUGE_TYPES, rouge_scores

MULTI_TARGET = (
    "The committee approved the budget on Monday. It will fund new schools and roads. "
    "Critics said the plan was too expensive."
)
MULTI_OUTPUT = (
    "On Monday the committee passed the budget. The money funds new roads and schools! "
    "Opponents argued that the plan costs too much."
)

# (target, output, (rouge1 stem, rouge1 no-stem, rouge2 stem, rouge2 no-stem, rougeL stem,
# rougeL no-stem)), observed in fmeval 1.2.3's venv with what its RougeScore transform runs
# (HF evaluate "rouge": RougeScorer + BootstrapAggregator mid F-measure, one pair).
ROUGE_VECTORS = [
    ("I like cake.", "I like cake.", (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)),
    ("", "", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
    ("hello world", "", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
    ("你好世界", "你好世界", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
    ("café", "caf", (1.0, 1.0, 0.0, 0.0, 1.0, 1.0)),
    (
        "The cat sat on the mat.",
        "The cat is sitting on the mat.",
        (
            0.7692307692307692,
            0.7692307692307692,
            0.5454545454545454,
            0.5454545454545454,
            0.7692307692307692,
            0.7692307692307692,
        ),
    ),
    (
        MULTI_TARGET,
        MULTI_OUTPUT,
        (
            0.6511627906976744,
            0.6046511627906977,
            0.24390243902439024,
            0.1951219512195122,
            0.46511627906976744,
            0.4186046511627907,
        ),
    ),
    ("running runs ran quickly", "run running ran quick", (0.75, 0.5, 0.6666666666666666, 0.0, 0.75, 0.5)),
    ("1,000 dollars", "1000 dollars", (0.4, 0.4, 0.0, 0.0, 0.4, 0.4)),
    (
        "The quick brown fox jumps over the lazy dog.",
        "the lazy dog was jumped over by a quick brown fox",
        (
            0.7999999999999999,
            0.7000000000000001,
            0.5555555555555556,
            0.4444444444444445,
            0.39999999999999997,
            0.39999999999999997,
        ),
    ),
    ("Über naïve résumé", "uber naive resume", (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
    ("A B C D", "D C B A", (1.0, 1.0, 0.0, 0.0, 0.25, 0.25)),
    (
        "the the the the",
        "the the",
        (0.6666666666666666, 0.6666666666666666, 0.5, 0.5, 0.6666666666666666, 0.6666666666666666),
    ),
    (
        "Police arrested the suspect on Monday.",
        "The suspect was arrested by police Monday.",
        (
            0.7692307692307692,
            0.7692307692307692,
            0.1818181818181818,
            0.1818181818181818,
            0.4615384615384615,
            0.4615384615384615,
        ),
    ),
    (
        "İstanbul is big",
        "istanbul is big",
        (0.5714285714285715, 0.5714285714285715, 0.4, 0.4, 0.5714285714285715, 0.5714285714285715),
    ),
    ("generalization organizations", "generalize organize", (1.0, 0.0, 1.0, 0.0, 1.0, 0.0)),
]

VARIANTS = [(rouge_type, stem) for rouge_type in ROUGE_TYPES for stem in (True, False)]


@pytest.mark.parametrize(("target", "output", "expected"), ROUGE_VECTORS)
def test_matches_fmeval(target: str, output: str, expected: tuple[float, ...]) -> None:
    observed = tuple(rouge_scores([target], [output], rouge_type, stem)[0] for rouge_type, stem in VARIANTS)
    assert observed == expected


def test_worked_examples() -> None:
    # Default is ROUGE-2 with stemming; non-Latin text tokenises to nothing; accents split words.
    assert rouge_scores(["I like cake."], ["I like cake."]) == [1.0]
    assert rouge_scores(["你好世界"], ["你好世界"], "rouge1") == [0.0]
    assert rouge_scores(["café"], ["caf"], "rouge1") == [1.0]
    assert rouge_scores([], []) == []


def test_bad_arguments() -> None:
    with pytest.raises(BadInputError):
        rouge_scores(["a"], ["a"], "rougeLsum")
    with pytest.raises(BadInputError):
        rouge_scores(["a", "b"], ["a"])


word = st.sampled_from(
    ["the", "cat", "cats", "running", "runs", "Über", "naïve", "1,000", "dog", "a", "你好", "!"]
)
text = st.lists(word, max_size=12).map(" ".join)


@settings(max_examples=150)
@given(st.lists(st.tuples(text, text), max_size=4), st.sampled_from(VARIANTS))
def test_equals_rouge_score_default_tokenizer(
    pairs: list[tuple[str, str]], variant: tuple[str, bool]
) -> None:
    rouge_type, stem = variant
    reference = rouge_scorer.RougeScorer([rouge_type], use_stemmer=stem)
    expected = [reference.score(t, o)[rouge_type].fmeasure for t, o in pairs]
    observed = rouge_scores([t for t, _ in pairs], [o for _, o in pairs], rouge_type, stem)
    assert observed == expected
    assert all(0.0 <= value <= 1.0 for value in observed)


@given(text, text, st.sampled_from(ROUGE_TYPES))
def test_f_measure_is_symmetric(a: str, b: str, rouge_type: str) -> None:
    assert rouge_scores([a], [b], rouge_type) == pytest.approx(rouge_scores([b], [a], rouge_type))
