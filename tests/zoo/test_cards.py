"""The zoo's catalog rows: declared cards for every model, the decoding speed measured after training."""

from __future__ import annotations

import pytest

from fmops.zoo import _cards
from fmops.zoo._store import ZOO_MODELS


def test_every_zoo_model_has_a_card_and_a_failing_measurement_keeps_the_declared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured_card = ZOO_MODELS["zoo/tiny"].model_copy(update={"tokens_per_second": 321.0})

    def zoo_card(name: str) -> object:
        if name == "zoo/tiny":
            return measured_card
        raise OSError("unreadable zoo.json")

    monkeypatch.setattr(_cards, "zoo_card", zoo_card)
    origin, entries, measured = _cards.catalog_cards()
    assert origin == "fmops zoo"
    assert [e["name"] for e in entries] == list(ZOO_MODELS)
    small = next(e for e in entries if e["name"] == "zoo/small")
    assert small["prices"]["output_per_1k"] == ZOO_MODELS["zoo/small"].price_per_1k_output_tokens
    assert measured == {
        "zoo/tiny": {
            "decode_tokens_per_s": {
                "value": 321.0,
                "source": "fmops zoo: one greedy request, measured after training",
                "recorded_at": None,  # not trained here: no training date
            }
        }
    }
