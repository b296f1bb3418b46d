"""Model specs (`PROVIDER/MODEL` plus `-M key=value` arguments) and named entries in `models.yaml`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
from fmops.core.settings import fmops_home


class Prices(BaseModel):
    """Prices in any currency unit: per 1K input/output tokens (APIs) or per hour (self-hosted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_1k: float | None = Field(default=None, ge=0)
    output_per_1k: float | None = Field(default=None, ge=0)
    per_hour: float | None = Field(default=None, ge=0)

    def token_cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if self.input_per_1k is None and self.output_per_1k is None:
            return None
        return (
            (input_tokens or 0) * (self.input_per_1k or 0.0)
            + (output_tokens or 0) * (self.output_per_1k or 0.0)
        ) / 1000


class ModelSpec(BaseModel):
    """What to build: a provider, the provider's model name and its arguments."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    args: dict[str, Any] = Field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class ModelEntry(BaseModel):
    """One named model in `models.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    spec: str
    args: dict[str, Any] = Field(default_factory=dict)
    prices: Prices | None = None
    description: str | None = None

    def model_spec(self) -> ModelSpec:
        spec = parse_model_spec(self.spec)
        return spec.model_copy(update={"args": {**spec.args, **self.args}})


#: Spec resolvers by prefix: `resolver(reference) -> ModelSpec` for `PREFIX:REFERENCE` specs. Plug-ins
#: (the model registry's `registry:`) register here or through the `fmops.spec_resolvers` entry-point group,
#: so this layer never imports them.
SPEC_RESOLVERS: Registry[Callable[[str], ModelSpec]] = Registry("model spec resolver", "fmops.spec_resolvers")


def has_spec_resolver(spec: str) -> bool:
    """True when `spec` reads `PREFIX:...` (no `/` before the colon) and PREFIX has a spec resolver."""
    prefix, sep, _ = spec.strip().partition(":")
    return bool(sep) and bool(prefix) and "/" not in prefix and prefix in SPEC_RESOLVERS


def resolve_spec_reference(spec: str) -> ModelSpec | None:
    """The ModelSpec a `PREFIX:REFERENCE` spec stands for, or None when `spec` is not one."""
    if not has_spec_resolver(spec):
        return None
    prefix, _, reference = spec.strip().partition(":")
    return SPEC_RESOLVERS.get(prefix)(reference)


def parse_model_spec(spec: str, args: Iterable[str] | Mapping[str, Any] | None = None) -> ModelSpec:
    """`openai/gpt-4o-mini` plus `["base_url=http://..."]` (or a dict) -> ModelSpec.

    Only the first `/` separates the provider, so `hf/./path/to/model` and `bedrock/a.b:0` keep theirs.
    A `PREFIX:REFERENCE` spec whose prefix has a spec resolver (e.g. `registry:NAME@production`) is
    replaced by the spec it resolves to; `args` are added on top of the resolved spec's own.
    """
    resolved = resolve_spec_reference(spec)
    if resolved is not None:
        extra = dict(args) if isinstance(args, Mapping) else parse_model_args(args or [])
        return resolved.model_copy(update={"args": {**resolved.args, **extra}})
    provider, sep, model = spec.strip().partition("/")
    if not sep or not provider or not model:
        raise BadInputError(
            f"model spec {spec!r}: expected PROVIDER/MODEL, e.g. openai/gpt-4o-mini or hf/./my-model"
        )
    parsed = dict(args) if isinstance(args, Mapping) else parse_model_args(args or [])
    return ModelSpec(provider=provider.lower(), model=model, args=parsed)


def parse_model_args(items: Iterable[str]) -> dict[str, Any]:
    """`-M key=value` options -> dict; values become bool/int/float/None/JSON where they read as such."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInputError(
                f"model argument {item!r}: expected KEY=VALUE (e.g. -M base_url=http://127.0.0.1:8000/v1)"
            )
        out[key] = _scalar(value.strip())
    return out


def _scalar(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return value


def models_config_path(path: str | Path | None = None) -> Path | None:
    """Where models.yaml is: the argument, $FMOPS_MODELS, ./models.yaml, then FMOPS_HOME/models.yaml."""
    if path is not None:
        return Path(path)
    env = os.environ.get("FMOPS_MODELS")
    if env:
        return Path(env)
    for candidate in (Path("models.yaml"), fmops_home() / "models.yaml"):
        if candidate.is_file():
            return candidate
    return None


def load_models_config(path: str | Path | None = None) -> dict[str, ModelEntry]:
    """Read the named models; no file means no named models (an explicit path that is missing is an error)."""
    resolved = models_config_path(path)
    if resolved is None:
        return {}
    if not resolved.is_file():
        raise BadInputError(f"{resolved}: models file not found")
    try:
        data = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BadInputError(f"{resolved}: not valid YAML: {exc}") from None
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise BadInputError(f"{resolved}: expected a top-level `models:` list of entries with name and spec")
    entries: dict[str, ModelEntry] = {}
    for i, item in enumerate(items):
        try:
            entry = ModelEntry.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise BadInputError(f"{resolved}: models[{i}]: {problems}") from None
        if entry.name in entries:
            raise BadInputError(f"{resolved}: models[{i}]: the name {entry.name!r} is used twice")
        try:
            parse_model_spec(entry.spec)  # fail early on a malformed spec
        except BadInputError as exc:
            raise BadInputError(f"{resolved}: models[{i}] ({entry.name}): {exc}") from None
        entries[entry.name] = entry
    return entries
