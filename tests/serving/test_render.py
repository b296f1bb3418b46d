"""Rendering details that clients parse: legacy logprob offsets, JSON-safe values, token pieces."""

from __future__ import annotations

import math

from fmops.models import get_model
from fmops.serving._render import completion_logprobs, finite
from fmops.serving._tokens import TokenInfo, word_pieces


def test_legacy_logprobs_offsets_follow_the_text() -> None:
    lp = completion_logprobs(["Hello", " world", "!"], [-1.0, None], start=4)
    assert lp["text_offset"] == [4, 9, 15]
    assert lp["token_logprobs"] == [-1.0, None, None]
    assert lp["top_logprobs"] == [{"Hello": -1.0}, None, None]


def test_values_json_can_carry() -> None:
    assert finite(-math.inf) == -9999.0 and finite(math.nan) is None and finite(-0.5) == -0.5


def test_pieces_always_join_back_into_the_text() -> None:
    assert word_pieces("  a bc  d ") == ["  a", " bc", "  d", " "]
    tokens = TokenInfo(get_model("echo/e", store=False))  # no tokenizer: words
    assert tokens.pieces("one two three") == ["one", " two", " three"]
    assert tokens.pieces("one two three", 2) == ["one", " two three"]
    assert tokens.pieces("one two", 4) == ["one", " two", "", ""]
    assert tokens.pieces("", 2) == ["", ""]
