"""The model registry and the prompt catalog: named entries with immutable versions, approval status,
aliases that move (promote, roll back) and an append-only audit log, kept in the fmops database.

    from fmops.registry import model_registry, register_model

    version = register_model("qa", "zoo/tiny-qa", lineage={"base_model": "zoo/tiny"})
    reg = model_registry()
    reg.approve("qa", version.version, reason="beats production")
    reg.promote("qa", version.version, "production")
    get_model("registry:qa@production")  # any model spec place takes registry references

Prompt templates work the same way (`prompt_catalog()`, `register_prompt`, `prompt:NAME@ALIAS`), and so
do guardrail policies (`policy_registry()`, `register_policy` with `fmops guard compare` results as evidence;
`fmops.guardrails.load_policy("registry:NAME@production")` finds them through the `fmops.policy_sources`
entry point, so guardrails never imports the registry).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

import yaml

from fmops.core.errors import BadInputError
from fmops.registry._mlflow import SyncReport, export_to_mlflow, import_from_mlflow
from fmops.registry._resolve import (
    is_prompt_reference,
    resolve_policy_source,
    resolve_prompt,
    resolve_prompt_template,
    resolve_registry_spec,
)
from fmops.registry._store import (
    RegistryConflictError,
    VersionedCatalog,
    alias_stack,
    current_actor,
    parse_reference,
)
from fmops.registry._types import (
    APPROVAL_STATUSES,
    AliasEvent,
    ApprovalStatus,
    AuditEvent,
    EntryInfo,
    Lineage,
    ModelVersionSpec,
    PolicyEvidence,
    PolicyVersionSpec,
    PromptVersionSpec,
    VersionInfo,
)


def model_registry(url: str | None = None) -> VersionedCatalog:
    """Registered models in the fmops database (`url`, else $FMOPS_STORE_URL or FMOPS_HOME's SQLite)."""
    return VersionedCatalog("model", url)


def prompt_catalog(url: str | None = None) -> VersionedCatalog:
    """Registered prompt templates in the fmops database."""
    return VersionedCatalog("prompt", url)


def policy_registry(url: str | None = None) -> VersionedCatalog:
    """Registered guardrail policies in the fmops database."""
    return VersionedCatalog("policy", url)


def register_model(
    name: str,
    spec: str,
    *,
    args: dict[str, Any] | None = None,
    lineage: Lineage | dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
    description: str | None = None,
    actor: str | None = None,
    url: str | None = None,
) -> VersionInfo:
    """Register the next version of model `name` pointing at `spec` (checked to parse as a model spec)."""
    from fmops.models import parse_model_spec

    parse_model_spec(spec, args or {})
    payload = ModelVersionSpec(
        spec=spec,
        args=args or {},
        lineage=Lineage.model_validate(lineage or {}),
        card=_checked_card(card) if card is not None else None,
    )
    return model_registry(url).register(name, payload.model_dump(), description=description, actor=actor)


def register_prompt(
    name: str,
    template: str,
    *,
    parameters: dict[str, Any] | None = None,
    owner: str | None = None,
    tags: list[str] | None = None,
    notes: str | None = None,
    description: str | None = None,
    actor: str | None = None,
    url: str | None = None,
) -> VersionInfo:
    """Register the next (immutable) version of prompt `name`; the template is checked for placeholders."""
    _check_template(template)
    payload = PromptVersionSpec(
        template=template, parameters=parameters or {}, owner=owner, tags=tags or [], notes=notes
    )
    return prompt_catalog(url).register(name, payload.model_dump(), description=description, actor=actor)


def register_policy(
    name: str,
    text: str,
    *,
    evidence: list[PolicyEvidence] | None = None,
    source: str | None = None,
    description: str | None = None,
    actor: str | None = None,
    url: str | None = None,
) -> VersionInfo:
    """Register the next (immutable) version of policy `name` holding the policy file's `text`.

    The registry checks only that the text is a YAML mapping: the policy's own validation lives in
    fmops.guardrails (`parse_policy`), which callers run first (`fmops guard policies register` does).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInputError(f"policy {name!r}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"policy {name!r}: a policy is a mapping of CreateGuardrail fields")
    payload = PolicyVersionSpec(
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
        evidence=evidence or [],
    )
    return policy_registry(url).register(name, payload.model_dump(), description=description, actor=actor)


def _checked_card(card: dict[str, Any]) -> dict[str, Any]:
    """A model card in the catalog's format (validated), as JSON-ready data."""
    from pydantic import ValidationError

    from fmops.catalog import ModelCard

    try:
        return ModelCard.model_validate(card).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'card'}: {e['msg']}" for e in exc.errors())
        raise BadInputError(f"model card: {problems}") from None


def _check_template(template: str) -> None:
    # The same rules as evaluation's PromptTemplate, without importing a higher layer.
    parsed = string.Template(template)
    if not parsed.is_valid() or not parsed.get_identifiers():
        raise BadInputError(
            f"prompt template {template!r}: needs valid placeholders such as $model_input (or ${{name}})"
        )


__all__ = [
    "APPROVAL_STATUSES",
    "AliasEvent",
    "ApprovalStatus",
    "AuditEvent",
    "EntryInfo",
    "Lineage",
    "ModelVersionSpec",
    "PolicyEvidence",
    "PolicyVersionSpec",
    "PromptVersionSpec",
    "RegistryConflictError",
    "SyncReport",
    "VersionInfo",
    "VersionedCatalog",
    "alias_stack",
    "current_actor",
    "export_to_mlflow",
    "import_from_mlflow",
    "is_prompt_reference",
    "model_registry",
    "parse_reference",
    "policy_registry",
    "prompt_catalog",
    "register_model",
    "register_policy",
    "register_prompt",
    "resolve_policy_source",
    "resolve_prompt",
    "resolve_prompt_template",
    "resolve_registry_spec",
]
