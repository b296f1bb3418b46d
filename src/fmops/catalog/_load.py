"""Assemble the catalog: shipped example cards, plug-ins' cards (the zoo's), then the user's file (by name)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fmops.catalog._cards import MeasuredValue, ModelCard
from fmops.catalog._measured import ModelMeasurements, load_measurements
from fmops.core.errors import BadInputError
from fmops.core.registry import Registry

SHIPPED = "fmops catalog"


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
    plugin_measured: dict[str, dict[str, MeasuredValue]] = {}
    for origin, entries, measured in _plugin_entries():
        for entry in entries:
            # One plug-in card that does not fit is left out, as a failing source is: never the catalog.
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                with contextlib.suppress(BadInputError):
                    _merge(cards, [entry], origin)
        plugin_measured.update(measured)
    user = user_catalog_path(extra)
    if user is not None:
        if not user.is_file():
            raise BadInputError(f"{user}: catalog file not found")
        _merge(cards, _entries(user.read_text(encoding="utf-8"), str(user)), str(user))
    return _with_measurements(cards, plugin_measured, load_measurements())


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
    plugin_measured: Mapping[str, Mapping[str, MeasuredValue]],
    stored: Mapping[str, ModelMeasurements],
) -> dict[str, ModelCard]:
    out = {}
    for name, card in cards.items():
        figures = dict(plugin_measured.get(name, {}))
        for key, entry in stored.items():
            if key == name or (card.spec is not None and card.spec in (key, entry.spec)):
                figures.update(entry.figures)
        out[name] = card.model_copy(update={"measured": figures}) if figures else card
    return out


#: A card source: () -> (origin, card entries, model name -> {figure: MeasuredValue fields}).
CardSource = Callable[[], tuple[str, list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]]

#: Packages that bring their own cards (the zoo, ...) plug in through the `fmops.catalog_cards` entry
#: points, so the catalog imports none of them.
CARD_SOURCES: Registry[CardSource] = Registry("catalog card source", "fmops.catalog_cards")


def _plugin_entries() -> list[tuple[str, list[dict[str, Any]], dict[str, dict[str, MeasuredValue]]]]:
    """Every card source's cards, in name order. Guarded: a source that is missing or half-built must
    never break `fmops catalog`, so one that fails is left out."""
    found = []
    for name in CARD_SOURCES.names():
        try:
            origin, entries, measured = CARD_SOURCES.get(name)()
            figures = {
                model: {key: MeasuredValue.model_validate(value) for key, value in values.items()}
                for model, values in measured.items()
            }
        except Exception:  # a plug-in's failure is its own: the shipped and user cards still count
            continue
        found.append((origin, entries, figures))
    return found


__all__ = ["load_catalog", "user_catalog_path"]
