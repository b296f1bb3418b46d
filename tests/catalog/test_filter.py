"""Filtering and sorting the capability matrix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.catalog import ModelCard, filter_cards, load_catalog, sort_cards
from fmops.core.errors import BadInputError


def _names(cards: list[ModelCard]) -> list[str]:
    return [c.name for c in cards]


def test_the_issue_example_filters_to_cheap_fine_tunable_commercial_long_context_models() -> None:
    cards = load_catalog()
    chosen = filter_cards(cards, fine_tunable=True, min_context="8k", commercial=True, max_price=0.001)
    assert "gpt-4o-mini" in _names(chosen) and "llama-3.1-8b-instruct" in _names(chosen)
    assert "gpt-4o" not in _names(chosen)  # too dear
    assert "claude-3.5-sonnet" not in _names(chosen)  # not fine-tunable
    assert "gemma-2-9b-it" not in _names(chosen)  # no token price: unknown never meets a limit
    assert all(c.context_window and c.context_window >= 8000 for c in chosen)
    openai = filter_cards(
        cards, fine_tunable=True, min_context="8k", commercial=True, max_price=0.001, provider="openai"
    )
    assert _names(openai) == ["gpt-4o-mini"]


def test_provider_matches_the_maker_or_the_spec_provider() -> None:
    cards = load_catalog()
    assert set(_names(filter_cards(cards, provider="bedrock"))) == {
        "claude-3.5-sonnet",
        "claude-3-haiku",
        "titan-text-express",
    }
    assert set(_names(filter_cards(cards, provider="Meta"))) == {
        "llama-3.1-8b-instruct",
        "llama-3.1-70b-instruct",
    }
    assert set(_names(filter_cards(cards, provider="mistral"))) == {
        "mistral-7b-instruct",
        "mixtral-8x7b-instruct",
    }


def test_availability_params_and_query() -> None:
    cards = load_catalog()
    api = _names(filter_cards(cards, availability="api"))
    assert "gpt-4o" in api and "llama-3.1-8b-instruct" in api and "gemma-2-9b-it" not in api
    assert "gemma-2-9b-it" in _names(filter_cards(cards, availability="self-hosted"))
    mid = _names(filter_cards(cards, min_params="7B", max_params="10B"))
    assert set(mid) == {
        "llama-3.1-8b-instruct",
        "mistral-7b-instruct",
        "gemma-2-9b-it",
        "qwen2.5-7b-instruct",
    }
    assert _names(filter_cards(cards, query="mixture experts")) == ["mixtral-8x7b-instruct"]
    with pytest.raises(BadInputError, match="availability"):
        filter_cards(cards, availability="sometimes")
    with pytest.raises(BadInputError):
        filter_cards(cards, min_context="lots")


def test_sorting_puts_unknown_values_last() -> None:
    cards = list(load_catalog().values())
    by_price = sort_cards(cards, "price")
    priced = [c.price_per_1k for c in by_price if c.price_per_1k is not None]
    assert priced == sorted(priced)
    assert all(c.price_per_1k is None for c in by_price[len(priced) :])
    by_context = sort_cards(cards, "context")
    assert by_context[0].context_window == 200_000
    by_params = sort_cards(cards, "params")
    assert by_params[0].name == "llama-3.1-70b-instruct"
    assert by_params[-1].parameters is None
    assert _names(sort_cards(cards, "name")) == sorted(_names(cards), key=str.lower)
    assert _names(sort_cards(cards, "name", reverse=True)) == sorted(
        _names(cards), key=str.lower, reverse=True
    )
    with pytest.raises(BadInputError, match="sort"):
        sort_cards(cards, "vibes")


_card = st.builds(
    ModelCard,
    name=st.text("abcdefgh", min_size=1, max_size=6),
    provider=st.just("p"),
    availability=st.sampled_from(["api", "self-hosted", "both"]),
    context_window=st.one_of(st.none(), st.integers(1, 10**6)),
    fine_tunable=st.one_of(st.none(), st.booleans()),
    commercial_use=st.one_of(st.none(), st.booleans()),
    parameters=st.one_of(st.none(), st.integers(1, 10**11)),
)


@given(st.lists(_card, max_size=12), st.integers(1, 10**6), st.booleans())
def test_filters_only_remove_and_every_kept_card_meets_them(
    cards: list[ModelCard], floor: int, tune: bool
) -> None:
    kept = filter_cards(cards, min_context=floor, fine_tunable=tune)
    assert all(c in cards for c in kept)
    assert all(
        c.context_window is not None and c.context_window >= floor and c.fine_tunable is tune for c in kept
    )
    dropped = [c for c in cards if c not in kept]
    assert all(
        c.context_window is None or c.context_window < floor or c.fine_tunable is not tune for c in dropped
    )


@given(st.lists(_card, max_size=12), st.sampled_from(["name", "price", "context", "params"]), st.booleans())
def test_sorting_is_a_permutation(cards: list[ModelCard], key: str, reverse: bool) -> None:
    assert sorted(map(id, sort_cards(cards, key, reverse=reverse))) == sorted(map(id, cards))
