"""The zoo's rows of the capability matrix, handed to the catalog through the `fmops.catalog_cards` entry
point (the catalog sits below the zoo and knows nothing of it)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from fmops.zoo._registry import META_FILE, ZOO_VERSION
from fmops.zoo._store import ZOO_MODELS, zoo_card, zoo_dir, zoo_model_info

ORIGIN = "fmops zoo"


def catalog_cards() -> tuple[str, list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """(origin, card entries, model -> measured figures) for every zoo model.

    Reads files only, never trains: a trained model adds its training date (`as_of`) and the decoding
    speed measured after training.
    """
    entries: list[dict[str, Any]] = []
    measured: dict[str, dict[str, dict[str, Any]]] = {}
    for name in ZOO_MODELS:
        card = ZOO_MODELS[name]
        with contextlib.suppress(Exception):  # no measured speed then: the declared card still counts
            card = zoo_card(name)
        entry: dict[str, Any] = {
            "name": card.name,
            "provider": ORIGIN,
            "spec": card.name,
            "parameters": card.parameters,
            "context_window": card.context_window,
            "availability": "self-hosted",
            "description": card.description,
            "licence": card.licence,
            "commercial_use": card.commercial_use,
            "fine_tunable": card.fine_tunable,
            "recommended_hardware": card.recommended_hardware,
            "price_is_illustrative": card.price_is_illustrative,
            "source": f"fmops zoo v{ZOO_VERSION}",
            "prices": {
                "input_per_1k": card.price_per_1k_input_tokens,
                "output_per_1k": card.price_per_1k_output_tokens,
            },
        }
        trained = _trained_on(name)
        if trained is not None:
            entry["as_of"] = trained
        entries.append(entry)
        if card.tokens_per_second is not None:
            # Its own figure: one request decoding greedily, unlike a run's tokens/s over every call.
            measured[card.name] = {
                "decode_tokens_per_s": {
                    "value": float(card.tokens_per_second),
                    "source": "fmops zoo: one greedy request, measured after training",
                    "recorded_at": trained,
                }
            }
    return ORIGIN, entries, measured


def _trained_on(name: str) -> str | None:
    """The day the cached zoo model was trained (its zoo.json's date), None when it is not trained."""
    try:
        if zoo_model_info(name) is None:
            return None
        written = (zoo_dir() / name.removeprefix("zoo/") / META_FILE).stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(written, UTC).date().isoformat()


__all__ = ["catalog_cards"]
