"""METEOR (fmeval §1.5): nltk single_meteor_score on word_tokenize tokens, real WordNet and punkt_tab."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmops.core.errors import BadInputError
from fmops.metrics.meteor import meteor_scores

pytestmark = pytest.mark.usefixtures("nltk_home")

MULTI_TARGET = (
    "The committee approved the budget on Monday. It will fund new schools and roads. "
    "Critics said the plan was too expensive."
)
MULTI_OUTPUT = (
    "On Monday the committee passed the budget. The money funds new roads and schools! "
    "Opponents argued that the plan costs too much."
)

# (target, output, meteor), observed with fmeval 1.2.3's MeteorScore.compute_metric (nltk 3.10.4,
# NLTK_DATA = the folder fmops installs). Exact floats: the same nltk code on the same data.
METEOR_VECTORS = [
    ("I like cake.", "I like cake.", 0.9921875),
    ("", "", 0.0),
    ("hello", "", 0.0),
    ("", "hello", 0.0),
    ("The cat sat on the mat.", "The cat is sitting on the mat.", 0.8294209702660407),
    (
        "It is a guide to action that ensures that the military will forever heed Party commands",
        "It is a guide to action which ensures that the military always obeys the commands of the party",
        0.6944444444444445,
    ),
    (
        MULTI_TARGET,
        MULTI_OUTPUT,
        0.48584997406638997,
    ),
    (
        "He bought a car. It was red. He drove home.",
        "He purchased an automobile. It was crimson. He drove to his house.",
        0.6691919191919191,
    ),
    (
        "The quick brown fox jumps over the lazy dog.",
        "A fast brown fox leaped over a lazy hound!",
        0.6918367346938775,
    ),
    (
        "Dr. Smith arrived at 5 p.m. He left at 6.",
        "Dr. Smith came at 5 p.m. and left at 6.",
        0.6545430672268908,
    ),
    ("Café crème brûlée à Paris.", "Cafe creme brulee a Paris.", 0.3125),
    ("你好世界", "你好世界", 0.5),
    ("He didn't go.", "He did not go.", 0.7500000000000001),
    ("running runs ran", "run running ran", 0.5),
    ("big large huge", "large big huge", 0.5),
    ("!!! ???", "...", 0.0),
    ("the the the", "the", 0.17857142857142855),
    (
        "U.S. officials said on Tuesday. The talks continue.",
        "US officials said Tuesday that talks continue.",
        0.5739795918367346,
    ),
    (
        "Mr. Jones paid $3.50 for it, didn't he? Yes.",
        "Mr Jones paid 3.50 dollars. Yes he did.",
        0.3526410564225691,
    ),
    ("The film was good.", "The movie was great.", 0.3),
    ("Naïve résumé coöperation", "naive resume cooperation", 0.0),
]


def test_matches_fmeval() -> None:
    observed = meteor_scores([t for t, _, _ in METEOR_VECTORS], [o for _, o, _ in METEOR_VECTORS])
    assert observed == [expected for _, _, expected in METEOR_VECTORS]


def test_worked_example() -> None:
    # 4 matches in 1 chunk: Fmean 1, penalty 0.5 * (1/4)^3.
    assert meteor_scores(["I like cake."], ["I like cake."]) == [0.9921875]
    assert meteor_scores([], []) == []


def test_uses_wordnet_synonyms() -> None:
    # These pairs only match through WordNet synsets: 1 match, 1 chunk -> 0.5 (observed in fmeval).
    assert meteor_scores(["car", "dog", "The car is fast."], ["auto", "hound", "The auto is quick."]) == [
        0.5,
        0.5,
        0.996,
    ]
    # nltk quirk kept: synonyms are looked up after stemming, and "movie" stems to "movi".
    assert meteor_scores(["movie"], ["film"]) == [0.0]


def test_uses_real_punkt_model() -> None:
    from nltk import word_tokenize

    # The trained English model knows these abbreviations; an untrained Punkt splits "Dr" "."
    # and "U.S" "." which changes METEOR on multi-sentence text.
    assert word_tokenize("Dr. Smith arrived at 5 p.m. He left at 6.")[0] == "Dr."
    assert word_tokenize("U.S. officials said on Tuesday.")[0] == "U.S."


def test_length_mismatch() -> None:
    with pytest.raises(BadInputError):
        meteor_scores(["a"], [])


word = st.sampled_from(
    [
        "The",
        "the",
        "cat",
        "cats",
        "sat",
        "sitting",
        "film",
        "movie",
        "good",
        "great",
        "Dr.",
        "U.S.",
        "café",
        "你好",
    ]
)
punct = st.sampled_from([" ", " ", ", ", ". ", "! ", "? "])
text = st.lists(st.tuples(word, punct), max_size=15).map(lambda parts: "".join(w + p for w, p in parts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text, text)
def test_equals_plain_nltk(target: str, output: str) -> None:
    # Our memoised stemmer, WordNet look-ups and tokenisation must not change any value.
    from nltk import word_tokenize
    from nltk.translate.meteor_score import single_meteor_score

    (score,) = meteor_scores([target], [output])
    assert score == single_meteor_score(word_tokenize(target), word_tokenize(output))
    assert 0.0 <= score <= 1.0
