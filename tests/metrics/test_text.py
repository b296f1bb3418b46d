"""QuAC normalisation (fmeval §1.2) and the memoised stemmer."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.metrics.text import normalize_text_quac, porter_stem

# (input, normalize_text_quac_protocol(input)) observed with fmeval 1.2.3.
NORMALIZE_VECTORS = [
    ("The  Big\tApple!", "big\tapple"),
    ("A an THE the", ""),
    ("“Quoted” — dash’s", "“quoted” — dash’s"),
    ("Mr. O'Neil's  U.S.A.", "mr oneils usa"),
    ("", ""),
    ("   ", ""),
    ("İstanbul Straße", "i̇stanbul straße"),
    ("line1\nline2 the end.", "line1\nline2 end"),
    ("a,b c-d e_f", "ab cd ef"),
    ("théâtre, l'été!", "théâtre lété"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_VECTORS)
def test_matches_fmeval(text: str, expected: str) -> None:
    assert normalize_text_quac(text) == expected


# Text built from the characters that matter: letters, articles, ASCII and Unicode
# punctuation, and every kind of whitespace.
quac_text = st.lists(
    st.one_of(
        st.sampled_from(["a", "an", "the", "The", "A", "AN", "  ", "\t", "\n", "“", "—", "İ", "ß"]),
        st.text(alphabet=string.ascii_letters + string.punctuation + " \t\n", max_size=8),
        st.text(max_size=6),
    ),
    max_size=12,
).map("".join)


@given(quac_text)
def test_output_shape(text: str) -> None:
    normalized = normalize_text_quac(text)
    # No ASCII punctuation, single spaces only, no leading/trailing space, no articles.
    assert not set(normalized) & set(string.punctuation)
    tokens = normalized.split(" ")
    assert normalized == "" or all(tokens)
    assert not {"a", "an", "the"} & set(tokens)


@given(quac_text)
def test_idempotent(text: str) -> None:
    # Every step (lower, deletion, space split + filter) is a projection, so normalising
    # twice changes nothing: the QA/factual scores may normalise already-normal text.
    once = normalize_text_quac(text)
    assert normalize_text_quac(once) == once


@given(quac_text)
def test_case_insensitive_for_ascii(text: str) -> None:
    ascii_only = text.encode("ascii", "ignore").decode()
    assert normalize_text_quac(ascii_only.upper()) == normalize_text_quac(ascii_only.lower())


def test_porter_stem_matches_nltk() -> None:
    from nltk.stem.porter import PorterStemmer

    stemmer = PorterStemmer()
    for word in ["running", "generalization", "organizations", "caresses", "ponies", "dying", "Cats"]:
        assert porter_stem(word) == stemmer.stem(word)
