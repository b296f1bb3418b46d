"""One row of the capability matrix: a model card with declared facts, and the figures measured from runs."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from fmops.core.errors import BadInputError
from fmops.models import Prices, parse_model_spec

Availability = Literal["api", "self-hosted", "both"]

_MULTIPLIERS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_COUNT = re.compile(r"^(?P<number>\d+(?:\.\d*)?|\.\d+)(?:e(?P<exp>[+-]?\d+))?\s*(?P<suffix>[kmbgt]?)$")


def parse_count(text: str | int | float) -> int:
    """`8k`, `128K`, `1M`, `7B`, `1.1M`, `8_192` -> an integer (decimal multipliers: 8k is 8000).

    Decimal, not binary, so `--min-context 8k` also admits an 8,192-token model and a card may say `128K`.
    """
    if isinstance(text, bool):
        raise BadInputError(f"expected a count such as 8k or 7B, got {text!r}")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise BadInputError(f"expected a non-negative count, got {text!r}")
        return round(text)
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    match = _COUNT.match(cleaned)
    if not match:
        raise BadInputError(f"expected a count such as 8k, 128K, 1M, 7B or 1.1M, got {text!r}")
    value = float(match["number"]) * 10 ** int(match["exp"] or 0)
    return round(value * _MULTIPLIERS[match["suffix"]])


def format_count(value: int | None, *, binary: bool = False) -> str:
    """The short form people read in model names: 8030000000 -> 8.03B, 128000 -> 128K.

    `binary` (for context windows) writes exact multiples of 1024 the way providers do: 131072 -> 128K.
    """
    if value is None:
        return "-"
    if binary and value % 1000 != 0:
        for suffix, multiplier in (("M", 1024**2), ("K", 1024)):
            if value >= multiplier and value % multiplier == 0:
                return f"{value // multiplier}{suffix}"
    for suffix, multiplier in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= multiplier:
            return f"{value / multiplier:.3g}{suffix}"
    return str(value)


class MeasuredValue(BaseModel):
    """A figure measured by a run (latency, tokens/s, a score), with where and when it was measured."""

    model_config = ConfigDict(frozen=True)

    value: float
    source: str
    recorded_at: str | None = None


class ModelCard(BaseModel):
    """Declared facts about a model (with their source and as-of date) plus figures measured by fmops runs.

    Declared facts come from providers and change (prices especially); `as_of` and `price_is_illustrative`
    say how far to trust them. `measured` is filled by `load_catalog` from the measurements store.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    provider: str = Field(
        min_length=1, description="Who makes or serves the model (OpenAI, Meta, fmops zoo...)."
    )
    spec: str | None = Field(
        default=None, description="An fmops model spec that runs it, e.g. openai/gpt-4o-mini."
    )
    description: str | None = None
    parameters: int | None = Field(default=None, gt=0, description="Total parameters (None: undisclosed).")
    active_parameters: int | None = Field(
        default=None, gt=0, description="Per token, for mixtures of experts."
    )
    context_window: int | None = Field(default=None, gt=0, description="Tokens of input plus output.")
    licence: str | None = Field(default=None, validation_alias=AliasChoices("licence", "license"))
    commercial_use: bool | None = None
    fine_tunable: bool | None = None
    recommended_hardware: str | None = None
    availability: Availability
    prices: Prices | None = None
    price_is_illustrative: bool = False
    source: str | None = Field(default=None, description="Where the declared facts come from.")
    as_of: date | None = Field(default=None, description="When the declared facts were checked.")
    origin: str | None = Field(default=None, description="Which catalog file the card came from.")
    measured: dict[str, MeasuredValue] = Field(default_factory=dict)

    @field_validator("parameters", "active_parameters", "context_window", mode="before")
    @classmethod
    def _counts(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_count(value)
            except BadInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("availability", mode="before")
    @classmethod
    def _availability(cls, value: Any) -> Any:
        if isinstance(value, str):
            normalised = value.strip().lower().replace("_", "-").replace(" ", "-")
            return {"selfhosted": "self-hosted", "self-host": "self-hosted", "local": "self-hosted"}.get(
                normalised, normalised
            )
        return value

    @field_validator("spec")
    @classmethod
    def _spec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_model_spec(value)
            except BadInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def price_per_1k(self) -> float | None:
        """Blended token price: the mean of the input and output prices per 1K tokens (one of them if alone)."""
        if self.prices is None:
            return None
        known = [p for p in (self.prices.input_per_1k, self.prices.output_per_1k) if p is not None]
        return sum(known) / len(known) if known else None

    @property
    def open_weights(self) -> bool:
        return self.availability in ("self-hosted", "both")

    def declared(self) -> dict[str, Any]:
        """The declared facts only (what the card says, not what fmops measured)."""
        return self.model_dump(mode="json", exclude={"measured"})


__all__ = ["Availability", "MeasuredValue", "ModelCard", "format_count", "parse_count"]
