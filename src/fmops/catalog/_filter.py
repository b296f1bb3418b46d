"""Filtering and sorting the capability matrix: what `fmops catalog list` options mean, as plain functions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from fmops.catalog._cards import ModelCard, parse_count
from fmops.core.errors import BadInputError

SortKey = Literal["name", "price", "context", "params"]
SORT_KEYS: tuple[str, ...] = ("name", "price", "context", "params")


def filter_cards(
    cards: Iterable[ModelCard] | dict[str, ModelCard],
    *,
    provider: str | None = None,
    fine_tunable: bool | None = None,
    commercial: bool | None = None,
    min_context: int | str | None = None,
    max_price: float | None = None,
    min_params: int | str | None = None,
    max_params: int | str | None = None,
    availability: str | None = None,
    query: str | None = None,
) -> list[ModelCard]:
    """The cards that meet every given criterion; a criterion left as None does not filter.

    An unknown fact never meets a criterion (a card without a declared context window is not "at least 8k").
    `provider` matches the maker or the spec's provider (`openai`, `bedrock`); `availability="api"` also
    admits models available both ways; `max_price` is the blended price per 1K tokens.
    """
    items = list(cards.values()) if isinstance(cards, dict) else list(cards)
    if max_price is not None and max_price < 0:
        raise BadInputError(f"--max-price must be non-negative, got {max_price}")
    context_floor = parse_count(min_context) if min_context is not None else None
    params_floor = parse_count(min_params) if min_params is not None else None
    params_ceiling = parse_count(max_params) if max_params is not None else None
    wanted_availability = _availability(availability) if availability is not None else None
    out = []
    for card in items:
        if provider is not None and not _provider_matches(card, provider):
            continue
        if fine_tunable is not None and card.fine_tunable is not fine_tunable:
            continue
        if commercial is not None and card.commercial_use is not commercial:
            continue
        if context_floor is not None and (card.context_window is None or card.context_window < context_floor):
            continue
        if max_price is not None and (card.price_per_1k is None or card.price_per_1k > max_price):
            continue
        if params_floor is not None and (card.parameters is None or card.parameters < params_floor):
            continue
        if params_ceiling is not None and (card.parameters is None or card.parameters > params_ceiling):
            continue
        if wanted_availability is not None and card.availability not in wanted_availability:
            continue
        if query is not None and not _query_matches(card, query):
            continue
        out.append(card)
    return out


def sort_cards(cards: Iterable[ModelCard], by: str = "name", *, reverse: bool = False) -> list[ModelCard]:
    """Cheapest, longest-context or largest first (names A→Z); cards missing the fact always come last."""
    if by not in SORT_KEYS:
        raise BadInputError(f"unknown sort key {by!r}; choose one of {', '.join(SORT_KEYS)}")
    items = sorted(cards, key=lambda c: c.name.lower())
    if by == "name":
        return items[::-1] if reverse else items

    def value(card: ModelCard) -> float | None:
        if by == "price":
            return card.price_per_1k
        if by == "context":
            return card.context_window
        return card.parameters

    known = [c for c in items if value(c) is not None]
    unknown = [c for c in items if value(c) is None]
    descending = by in ("context", "params")
    known.sort(key=lambda c: value(c) or 0.0, reverse=descending != reverse)
    return known + unknown


def _provider_matches(card: ModelCard, provider: str) -> bool:
    wanted = provider.strip().lower()
    spec_provider = card.spec.partition("/")[0].lower() if card.spec else ""
    return wanted in (card.provider.lower(), spec_provider) or wanted in card.provider.lower().split()


def _query_matches(card: ModelCard, query: str) -> bool:
    text = " ".join(filter(None, (card.name, card.provider, card.spec, card.description))).lower()
    return all(word in text for word in query.lower().split())


def _availability(value: str) -> tuple[str, ...]:
    normalised = value.strip().lower().replace("_", "-")
    if normalised == "api":
        return ("api", "both")
    if normalised in ("self-hosted", "selfhosted", "local", "open"):
        return ("self-hosted", "both")
    if normalised == "both":
        return ("both",)
    raise BadInputError(f"unknown availability {value!r}; choose api, self-hosted or both")


__all__ = ["SORT_KEYS", "SortKey", "filter_cards", "sort_cards"]
