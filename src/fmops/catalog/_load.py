"""Assemble the catalog: shipped example cards, the zoo's own cards, then the user's file (overrides by name)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fmops.catalog._cards import MeasuredValue, ModelCard
from fmops.catalog._measured import ModelMeasurements, load_measurements
from fmops.core.errors import BadInputError

SHIPPED = "fmops catalog"
ZOO = "fmops zoo"


def user_catalog_path(path: str | Path | None = None) -> Path | None:
    """The user's catalog: the argument, then $FMOPS_CATALOG, then ~/.config/fmops/catalog.yaml if it exists."""
    if path is not None:
        return Path(path)
    env = os.environ.get("FMOPS_CATALOG")
    if env:
        return Path(env)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = config / "fmops" / "catalog.yaml"
    return default if default.is_file() else None


def load_catalog(extra: Path | None = None) -> dict[str, ModelCard]:
    """Every card by name, with measured figures attached; `extra` replaces $FMOPS_CATALOG and the default file.

    A user entry whose name is already known overrides the fields it sets (and its prices are the user's own,
    so they are not illustrative unless it says so); a new name must be a complete card.
    """
    text = resources.files("fmops.catalog").joinpath("cards.yaml").read_text(encoding="utf-8")
    cards: dict[str, ModelCard] = {}
    _merge(cards, _entries(text, SHIPPED), SHIPPED)
    zoo_cards, zoo_measured = _zoo_entries()
    _merge(cards, zoo_cards, ZOO)
    user = user_catalog_path(extra)
    if user is not None:
        if not user.is_file():
            raise BadInputError(f"{user}: catalog file not found")
        _merge(cards, _entries(user.read_text(encoding="utf-8"), str(user)), str(user))
    return _with_measurements(cards, zoo_measured, load_measurements())


def _entries(text: str, where: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInputError(f"{where}: not valid YAML: {exc}") from None
    defaults: Mapping[str, Any] = {}
    if isinstance(data, dict):
        defaults = data.get("defaults") or {}
        data = data.get("models", data.get("cards"))
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(defaults, dict):
        raise BadInputError(
            f"{where}: expected a top-level `models:` list of cards (and optional `defaults:`)"
        )
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadInputError(f"{where}: models[{i}]: expected a mapping with a `name`")
        entries.append({**defaults, **item})
    return entries


def _merge(cards: dict[str, ModelCard], entries: Iterable[Mapping[str, Any]], where: str) -> None:
    for i, entry in enumerate(entries):
        name = entry["name"]
        base = cards[name].declared() if name in cards else {}
        merged = {**base, **entry, "origin": where}
        if name in cards and "prices" in entry and "price_is_illustrative" not in entry:
            merged["price_is_illustrative"] = False
        try:
            cards[name] = ModelCard.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'card'}: {e['msg']}" for e in exc.errors()
            )
            raise BadInputError(f"{where}: models[{i}] ({name}): {problems}") from None


def _with_measurements(
    cards: Mapping[str, ModelCard],
    zoo_measured: Mapping[str, Mapping[str, MeasuredValue]],
    stored: Mapping[str, ModelMeasurements],
) -> dict[str, ModelCard]:
    out = {}
    for name, card in cards.items():
        figures = dict(zoo_measured.get(name, {}))
        for key, entry in stored.items():
            if key == name or (card.spec is not None and card.spec in (key, entry.spec)):
                figures.update(entry.figures)
        out[name] = card.model_copy(update={"measured": figures}) if figures else card
    return out


_ZOO_FIELDS = (
    "description",
    "licence",
    "commercial_use",
    "fine_tunable",
    "recommended_hardware",
    "price_is_illustrative",
)


def _zoo_entries() -> tuple[list[dict[str, Any]], dict[str, dict[str, MeasuredValue]]]:
    """Cards for the local zoo, read from the zoo module itself so there is one source of truth.

    Imported lazily and guarded: the zoo is optional at this layer, and a zoo that is missing or half-built
    must never break `fmops catalog`. `zoo_card(name)` adds the decoding speed measured when the model was
    trained (it reads a file; it never trains); otherwise only plain attributes are read.
    """
    try:
        import fmops.zoo as zoo

        models = getattr(zoo, "ZOO_MODELS", None)
        version = getattr(zoo, "ZOO_VERSION", None)
        if models is None:
            from fmops.zoo import _registry

            models = getattr(_registry, "ZOO_MODELS", None) or getattr(_registry, "_SPECS", None)
            version = getattr(_registry, "ZOO_VERSION", version)
    except Exception:  # a zoo that fails to import must not take the catalog down with it
        return [], {}
    if models is None:
        return [], {}
    card_of = getattr(zoo, "zoo_card", None)
    entries: list[dict[str, Any]] = []
    measured: dict[str, dict[str, MeasuredValue]] = {}
    for key, item in models.items() if isinstance(models, Mapping) else enumerate(models):
        if callable(card_of) and isinstance(key, str):
            with contextlib.suppress(Exception):  # no measured speed then: the declared card still counts
                item = card_of(key)
        try:
            entry, tokens_per_s = _zoo_entry(item, version)
        except Exception:
            continue
        trained = _zoo_trained_on(entry["name"])
        if trained is not None:
            entry["as_of"] = trained
        entries.append(entry)
        if tokens_per_s is not None:
            # Its own figure: one request decoding greedily, unlike a run's tokens/s over every call.
            measured[entry["name"]] = {
                "decode_tokens_per_s": MeasuredValue(
                    value=float(tokens_per_s),
                    source="fmops zoo: one greedy request, measured after training",
                    recorded_at=trained,
                )
            }
    return entries, measured


def _zoo_trained_on(name: str) -> str | None:
    """The day the cached zoo model was trained (its zoo.json's date), None when it is not trained."""
    try:
        from fmops.zoo import zoo_model_info
        from fmops.zoo._registry import META_FILE
        from fmops.zoo._store import zoo_dir

        if zoo_model_info(name) is None:
            return None
        written = (zoo_dir() / name.removeprefix("zoo/") / META_FILE).stat().st_mtime
    except Exception:  # as for the cards: an unreadable zoo leaves the date unknown
        return None
    return datetime.fromtimestamp(written, UTC).date().isoformat()


def _zoo_entry(item: Any, version: Any) -> tuple[dict[str, Any], float | None]:
    card = getattr(item, "card", None)
    source = card if card is not None and not callable(card) else item
    name = str(source.name)
    entry: dict[str, Any] = {
        "name": name,
        "provider": "fmops zoo",
        "spec": name,
        "parameters": int(source.parameters),
        "context_window": int(source.context_window),
        "availability": "self-hosted",
        "licence": "Apache-2.0",
        "commercial_use": True,
        "fine_tunable": True,
        "recommended_hardware": "CPU",
        "price_is_illustrative": True,
        "source": f"fmops zoo v{version}" if version else "fmops zoo",
    }
    for field in _ZOO_FIELDS:
        value = getattr(source, field, None)
        if value is not None:
            entry[field] = value
    prices = {
        "input_per_1k": getattr(source, "price_per_1k_input_tokens", None),
        "output_per_1k": getattr(source, "price_per_1k_output_tokens", None),
    }
    if any(v is not None for v in prices.values()):
        entry["prices"] = prices
    return entry, getattr(source, "tokens_per_second", None)


__all__ = ["load_catalog", "user_catalog_path"]
