"""Factual knowledge scores (fmeval §1.4): substring inclusion, OR/AND, fmeval parity vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.core.errors import BadInputError
from fmops.metrics.factual import FACTUAL_SCORE_NAMES, factual_knowledge_scores
from fmops.metrics.text import normalize_text_quac

# (model_output, target_output, delimiter, operator, (factual_knowledge, quasi_exact)), observed
# with fmeval 1.2.3's FactualKnowledgeScores transform.
FACTUAL_VECTORS = [
    ("smart move", "art", "<OR>", "OR", (1.0, 1.0)),
    ("Berlin is the capital", "Germany<OR>Berlin", "<OR>", "OR", (1.0, 1.0)),
    ("Paris and Lyon", "Paris<AND>Lyon", "<AND>", "AND", (1.0, 1.0)),
    ("Paris only", "Paris<AND>Lyon", "<AND>", "AND", (0.0, 0.0)),
    ("anything", "", "<OR>", "OR", (1.0, 1.0)),
    ("The U.S.", "us", "<OR>", "OR", (0.0, 1.0)),
    (" Paris", "paris ", "<OR>", "OR", (0.0, 1.0)),
    ("ÉCOLE", "école", "<OR>", "OR", (1.0, 1.0)),
    ("Straße", "STRASSE", "<OR>", "OR", (0.0, 0.0)),
    ("the cat", "a cat", "<OR>", "OR", (0.0, 1.0)),
    ("New York", "new  york", "<OR>", "OR", (0.0, 1.0)),
    ("tab\there", "tab here", "<OR>", "OR", (0.0, 0.0)),
    ("x", "x<AND>", "<AND>", "AND", (1.0, 1.0)),
    ("", "", "<OR>", "OR", (1.0, 1.0)),
    ("", "a", "<OR>", "OR", (0.0, 1.0)),
    ("Paris", "Paris<OR>Lyon", "<OR>", "AND", (0.0, 0.0)),
    ("It's 1,000 km", "1000", "<OR>", "OR", (0.0, 1.0)),
    ("“Quoted” text", "quoted", "<OR>", "OR", (1.0, 1.0)),
    ("He was born in 1990.", "1990<OR>1991", "<OR>", "OR", (1.0, 1.0)),
    ("Rome, Italy", "rome italy", "<OR>", "OR", (0.0, 1.0)),
    ("İzmir", "izmir", "<OR>", "OR", (0.0, 0.0)),
    ("A B C", "a,b", ",", "AND", (1.0, 1.0)),
]


@pytest.mark.parametrize(
    ("model_output", "target_output", "delimiter", "operator", "expected"), FACTUAL_VECTORS
)
def test_matches_fmeval(
    model_output: str, target_output: str, delimiter: str, operator: str, expected: tuple[float, float]
) -> None:
    scores = factual_knowledge_scores(model_output, target_output, delimiter, operator)
    assert list(scores) == list(FACTUAL_SCORE_NAMES)
    assert (scores["factual_knowledge"], scores["factual_knowledge_quasi_exact"]) == expected


def test_worked_examples() -> None:
    # Character substring, no word boundaries.
    assert factual_knowledge_scores("smart move", "art") == dict.fromkeys(FACTUAL_SCORE_NAMES, 1.0)
    # An empty target is in everything.
    assert factual_knowledge_scores("anything", "") == dict.fromkeys(FACTUAL_SCORE_NAMES, 1.0)
    assert (
        factual_knowledge_scores("Paris only", "Paris<AND>Lyon", "<AND>", "AND")["factual_knowledge"] == 0.0
    )


def test_invalid_arguments() -> None:
    with pytest.raises(BadInputError):
        factual_knowledge_scores("a", "a", logical_operator="XOR")
    with pytest.raises(BadInputError):
        factual_knowledge_scores("a", "a", target_output_delimiter="")


word = st.sampled_from(["a", "the", "Paris", "paris", "art", "smart", "U.S.", "us", "“x”", "İ", "ß", ""])
sep = st.sampled_from([" ", "  ", "\t", ", ", "."])
phrase = st.lists(st.tuples(word, sep), max_size=5).map(lambda parts: "".join(w + s for w, s in parts))


@given(phrase, st.lists(phrase, min_size=1, max_size=4))
def test_or_and_combine_single_scores(model_output: str, alternatives: list[str]) -> None:
    target_output = "<OR>".join(alternatives)
    either = factual_knowledge_scores(model_output, target_output, "<OR>", "OR")
    both = factual_knowledge_scores(model_output, target_output, "<OR>", "AND")
    singles = [factual_knowledge_scores(model_output, alternative) for alternative in alternatives]
    for name in FACTUAL_SCORE_NAMES:
        assert either[name] == max(single[name] for single in singles)
        assert both[name] == min(single[name] for single in singles)
        assert both[name] <= either[name]
        assert either[name] in (0.0, 1.0)


@given(phrase, phrase, phrase)
def test_contained_target_scores_one(prefix: str, target: str, suffix: str) -> None:
    assert factual_knowledge_scores(prefix + target + suffix, target)["factual_knowledge"] == 1.0


@given(phrase, phrase)
def test_quasi_exact_definition(model_output: str, target: str) -> None:
    expected = float(normalize_text_quac(target.strip()) in normalize_text_quac(model_output.strip()))
    assert factual_knowledge_scores(model_output, target)["factual_knowledge_quasi_exact"] == expected
