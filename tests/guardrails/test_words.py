"""Word filters: custom words and the managed profanity list, against evasive spellings and innocent words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.guardrails._normalize import tokens
from fmops.guardrails._words import WordMatcher, managed_profanity

MATCHER = WordMatcher(["kill yourself", "Project Nightingale", "acme"], list(managed_profanity()))


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        ("this is shit", "shit"),
        ("THIS IS SHIT", "shit"),
        ("what the fuuuuck", "fuck"),
        ("sh1t happens", "shit"),
        ("you a$$hole", "asshole"),
        ("f u c k this", "fuck"),
        ("f.u.c.k", "fuck"),
        ("a f-u-c-k", "fuck"),
        ("\u0455hit", "shit"),  # Cyrillic dze
        ("fυck", "fuck"),  # Greek upsilon
        ("ｆｕｃｋ", "fuck"),  # fullwidth
        ("fu\u200bck", "fuck"),  # zero-width space inside
        ("shït", "shit"),  # diaeresis
        ("𝐬𝐡𝐢𝐭", "shit"),  # mathematical bold
        ("you should k1ll y0urself", "kill yourself"),
        ("killyourself", "kill yourself"),
        ("tell me about project   NIGHTINGALE", "Project Nightingale"),
        ("ACME's plans", "acme"),
        ("b!tch", "bitch"),
    ],
)
def test_listed_words_are_found_however_spelled(text: str, listed: str) -> None:
    assert listed in [m.listed for m in MATCHER.find(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe is a town in England",
        "a classic assignment: assume nothing",
        "as you like it",
        "shitake mushrooms and cocktails",
        "I will skill up in Python",
        "the nightingale sang; a project started",
        "please assess the class",
        "Dickens wrote novels",
        "a b c d e",
        "",
    ],
)
def test_innocent_text_is_not_matched(text: str) -> None:
    assert MATCHER.find(text) == []


def test_phrases_need_their_words_in_order() -> None:
    assert MATCHER.find("yourself kill") == []
    assert MATCHER.find("Nightingale Project") == []


def test_a_match_reports_the_original_text_and_span() -> None:
    text = "well, Sh1t."
    (match,) = MATCHER.find(text)
    assert (match.found, text[match.start : match.end], match.managed) == ("Sh1t", "Sh1t", True)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_token_spans_always_point_into_the_text(text: str) -> None:
    for token in tokens(text):
        assert 0 <= token.start < token.end <= len(text)
    for match in MATCHER.find(text):
        assert match.found == text[match.start : match.end]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["\u200b", "\u00ad", "\u200d", "\u0301"]), min_size=1, max_size=3),
    st.integers(min_value=1, max_value=3),
    st.booleans(),
)
def test_invisible_characters_and_case_do_not_hide_a_word(invisible: list[str], at: int, upper: bool) -> None:
    word = "shit".upper() if upper else "shit"
    hidden = word[:at] + "".join(invisible) + word[at:]
    assert [m.listed for m in MATCHER.find(f"oh {hidden}!")] == ["shit"]
