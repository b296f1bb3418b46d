"""`registry:NAME@ALIAS` / `registry:NAME/VERSION` model specs and guardrail policies, and
`prompt:NAME@ALIAS` prompt templates.

The model layer finds `resolve_registry_spec` through the `fmops.spec_resolvers` entry point, and
guardrails find `resolve_policy_source` through `fmops.policy_sources`, so neither imports the registry.
"""

from __future__ import annotations

from fmops.core.errors import BadInputError
from fmops.models import ModelSpec, parse_model_spec
from fmops.registry._store import VersionedCatalog
from fmops.registry._types import PromptVersionSpec, VersionInfo

PROMPT_PREFIX = "prompt:"


def resolve_registry_spec(reference: str) -> ModelSpec:
    """`NAME@ALIAS` or `NAME/VERSION` (the part after `registry:`) -> the registered version's model spec."""
    version = VersionedCatalog("model").resolve(reference)
    registered = version.model_spec()
    if registered.spec.startswith("registry:"):  # registering a reference would let aliases loop
        raise BadInputError(f"registry:{reference} points at another registry reference {registered.spec!r}")
    return parse_model_spec(registered.spec, registered.args)


def is_prompt_reference(template: str | None) -> bool:
    return template is not None and template.strip().startswith(PROMPT_PREFIX)


def resolve_prompt(reference: str) -> tuple[VersionInfo, PromptVersionSpec]:
    """`prompt:NAME@ALIAS`, `prompt:NAME/VERSION` or `prompt:NAME` -> (the version, its template and params)."""
    text = reference.strip().removeprefix(PROMPT_PREFIX)
    version = VersionedCatalog("prompt").resolve(text)
    return version, version.prompt_spec()


def resolve_prompt_template(template: str) -> str:
    """The template text a `prompt:...` reference stands for; any other text is returned as is."""
    if not is_prompt_reference(template):
        return template
    return resolve_prompt(template)[1].template


def resolve_policy_source(reference: str) -> tuple[str, str]:
    """`NAME@ALIAS`, `NAME/VERSION` or `NAME` (the part after `registry:`) -> (the registered policy text,
    the version label `registry:NAME/VERSION` that results and intervention logs carry)."""
    version = VersionedCatalog("policy").resolve(reference)
    return version.policy_spec().text, f"registry:{version.name}/{version.version}"
