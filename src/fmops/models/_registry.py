"""Providers by name, in the one registry mechanism (`fmops.core.registry.Registry`): the built-in ones by
import path (loaded on first use), `register_provider`, and the `fmops.providers` entry-point group for
providers that live in other packages (the zoo's, fine-tuned models', the model registry's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
from fmops.models._api import ModelAPI
from fmops.models._spec import Prices

#: A provider: called as factory(model_name, **args) -> ModelAPI. A ModelAPI subclass is one.
ProviderFactory = Callable[..., ModelAPI]

ENTRY_POINT_GROUP = "fmops.providers"

#: Every provider; `PROVIDERS.create(name, model=..., **args)` records how a model API was built.
PROVIDERS: Registry[ProviderFactory] = Registry("model provider", ENTRY_POINT_GROUP)
for _name, _target in {
    "openai": "fmops.models._providers.openai:OpenAIModel",
    "bedrock": "fmops.models._providers.bedrock:BedrockModel",
    "hf": "fmops.models._providers.hf:HFModel",
    "echo": "fmops.models._providers.echo:EchoModel",
}.items():
    PROVIDERS.register(_name, _target)


def register_provider(name: str, factory: ProviderFactory | str) -> None:
    """Register (or replace) a provider: a factory, or "package.module:attribute" imported on first use."""
    PROVIDERS.register(name, factory)


def provider_names() -> list[str]:
    return PROVIDERS.names()


def get_provider(name: str) -> ProviderFactory:
    """The factory registered under `name`, importing it now if it was registered by path."""
    return PROVIDERS.get(name)


def local_folder_provider(
    resolve: Callable[[str], Path],
    *,
    provider: str = "hf",
    prices: Callable[[str], Prices | None] | None = None,
    unknown: Callable[[str], str | None] | None = None,
    options: Callable[[str], dict[str, Any]] | None = None,
    identity: Callable[[str], dict[str, Any]] | None = None,
) -> ProviderFactory:
    """A provider for models that are plain Hugging Face folders found by name (e.g. fmops's own zoo).

    `resolve(model_name)` returns the folder (raising BadInputError when there is none); loading,
    batching and scoring are the `hf` provider's. `provider` names the models' provider (it is part of
    their fingerprint), `prices(model_name)` gives their default prices, and `unknown(model_name)` says why a
    name is not a model (None if it is) without resolving it, for folders that are built on first use:
    availability then checks the name and the `hf` provider's dependencies only. `options(model_name)`
    gives the `hf` arguments the model takes unless the caller sets them (a LoRA `adapter` folder on a
    base, `chat`, `start_token`), and `identity(model_name)` extra entries of its fingerprint. Register with
    `register_provider("zoo", local_folder_provider(zoo_folder, provider="zoo"))`.
    """
    made: list[type[ModelAPI]] = []  # the provider's class, built on first use (hf imports lazily)

    def factory(model: str, **args: Any) -> ModelAPI:
        if not made:
            from fmops.models._providers.hf import HFModel

            named = HFModel if provider == "hf" else type(f"{provider.title()}FolderModel", (HFModel,), {})
            named.provider = provider  # type: ignore[misc]
            made.append(named)
        folder = resolve(model)
        if options is not None:
            args = {**options(model), **args}
        api = made[0](str(folder), **args)
        if identity is not None:
            api.fingerprint_extra = identity(model)
        if prices is not None:
            api.default_prices = prices(model)
        return api

    def check(model: str, args: dict[str, Any]) -> str | None:
        if unknown is None:
            return _folder_availability(resolve, model)
        from fmops.models._providers.hf import HFModel

        return unknown(model) or HFModel.availability(".", {"download": True})

    factory.availability = check  # type: ignore[attr-defined]
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
