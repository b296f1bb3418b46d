"""`zoo/NAME`: fmops's own tiny models. Plain Hugging Face folders, trained on first use; the `hf`
provider does the rest. Their cards carry illustrative prices, so demos show cost figures."""

from __future__ import annotations

from typing import Any

from fmops.models._providers.hf import HFModel
from fmops.models._spec import Prices


class ZooModel(HFModel):
    provider = "zoo"

    def __init__(self, model: str, **args: Any) -> None:
        from fmops.zoo import zoo_card, zoo_model_path

        name = f"zoo/{model}"
        super().__init__(str(zoo_model_path(name)), **args)
        self.zoo_name = name
        card = zoo_card(name)
        self.default_prices = Prices(
            input_per_1k=card.price_per_1k_input_tokens, output_per_1k=card.price_per_1k_output_tokens
        )

    @classmethod
    def availability(cls, model: str, args: dict[str, Any]) -> str | None:
        from fmops.zoo import ZOO_MODELS

        if f"zoo/{model}" not in ZOO_MODELS:
            return f"no zoo model zoo/{model}; known: {', '.join(ZOO_MODELS)}"
        return HFModel.availability(".", {"download": True})
