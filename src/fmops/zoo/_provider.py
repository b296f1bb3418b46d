"""`zoo/NAME`: the zoo's models as a provider, plugged into the model layer through the `fmops.providers`
entry point (models knows nothing of the zoo). Plain Hugging Face folders, trained on first use; the `hf`
provider does the rest. Their cards carry illustrative prices, so demos show cost figures."""

from __future__ import annotations

from pathlib import Path

from fmops.models import Prices, local_folder_provider
from fmops.zoo._store import ZOO_MODELS, zoo_card, zoo_model_path


def _folder(model: str) -> Path:
    return zoo_model_path(f"zoo/{model}")


def _prices(model: str) -> Prices:
    card = zoo_card(f"zoo/{model}")
    return Prices(input_per_1k=card.price_per_1k_input_tokens, output_per_1k=card.price_per_1k_output_tokens)


def _unknown(model: str) -> str | None:
    if f"zoo/{model}" not in ZOO_MODELS:
        return f"no zoo model zoo/{model}; known: {', '.join(ZOO_MODELS)}"
    return None


zoo_provider = local_folder_provider(_folder, provider="zoo", prices=_prices, unknown=_unknown)

__all__ = ["zoo_provider"]
