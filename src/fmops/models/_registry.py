"""Providers by name: a built-in table of lazily imported modules, `register_provider`, and the
`fmops.providers` entry-point group for providers that live in other packages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.models._api import ModelAPI

#: A provider: called as factory(model_name, **args) -> ModelAPI. A ModelAPI subclass is one.
ProviderFactory = Callable[..., ModelAPI]

ENTRY_POINT_GROUP = "fmops.providers"

_BUILTIN: dict[str, str] = {
    "openai": "fmops.models._providers.openai:OpenAIModel",
    "bedrock": "fmops.models._providers.bedrock:BedrockModel",
    "hf": "fmops.models._providers.hf:HFModel",
    "echo": "fmops.models._providers.echo:EchoModel",
    "zoo": "fmops.models._providers.zoo:ZooModel",
}
_REGISTRY: dict[str, ProviderFactory | str] = dict(_BUILTIN)
_entry_points_loaded = False


def register_provider(name: str, factory: ProviderFactory | str) -> None:
    """Register (or replace) a provider: a factory, or "package.module:attribute" imported on first use."""
    _REGISTRY[name.lower()] = factory


def provider_names() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def get_provider(name: str) -> ProviderFactory:
    """The factory registered under `name`, importing it now if it was registered by path."""
    _load_entry_points()
    target = _REGISTRY.get(name.lower())
    if target is None:
        raise BadInputError(f"unknown model provider {name!r}; known: {', '.join(provider_names())}")
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        _REGISTRY[name.lower()] = target
    return target


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(ep.name.lower(), ep.value)


def local_folder_provider(resolve: Callable[[str], Path]) -> ProviderFactory:
    """A provider for models that are plain Hugging Face folders found by name (e.g. fmops's own zoo).

    `resolve(model_name)` returns the folder (raising BadInputError when there is none); loading,
    batching and scoring are the `hf` provider's. Register with
    `register_provider("zoo", local_folder_provider(zoo_folder))`.
    """

    def factory(model: str, **args: Any) -> ModelAPI:
        from fmops.models._providers.hf import HFModel

        return HFModel(str(resolve(model)), **args)

    factory.availability = lambda model, args: _folder_availability(resolve, model)  # type: ignore[attr-defined]
    return factory


def _folder_availability(resolve: Callable[[str], Path], model: str) -> str | None:
    from fmops.models._providers.hf import HFModel

    try:
        folder = resolve(model)
    except BadInputError as exc:
        return str(exc)
    return HFModel.availability(str(folder), {})


def availability(provider: str, model: str, args: dict[str, Any]) -> str | None:
    """None when the model looks usable (dependency installed, credentials or files present), else why not."""
    try:
        factory = get_provider(provider)
    except BadInputError as exc:
        return str(exc)
    check = getattr(factory, "availability", None)
    return check(model, args) if check is not None else None
