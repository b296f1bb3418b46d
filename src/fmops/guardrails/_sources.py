"""Policies from somewhere other than a file: `PREFIX:REFERENCE` wherever a policy path goes.

A policy source turns the reference into (policy text, version label). The fmops registry plugs in
`registry:NAME@ALIAS` (or `registry:NAME/VERSION`) through the `fmops.policy_sources` entry-point group,
so guardrails never import the registry (the two sit on the same layer; the registry's side is
`fmops.registry.resolve_policy_source`). The text is validated here like a file's.
"""

from __future__ import annotations

from collections.abc import Callable

from fmops.core.registry import Registry

#: prefix -> (reference -> (policy text, version label)).
POLICY_SOURCES: Registry[Callable[[str], tuple[str, str]]] = Registry(
    "guardrail policy source", "fmops.policy_sources"
)


def is_policy_reference(value: str) -> bool:
    """True when `value` reads `PREFIX:...` (no `/` before the colon) and PREFIX is a policy source."""
    prefix, sep, _ = value.strip().partition(":")
    return bool(sep) and len(prefix) > 1 and "/" not in prefix and prefix in POLICY_SOURCES


def resolve_policy_reference(value: str) -> tuple[str, str]:
    """(policy text, version label) for a `PREFIX:REFERENCE` value (check `is_policy_reference` first)."""
    prefix, _, reference = value.strip().partition(":")
    return POLICY_SOURCES.get(prefix)(reference)
