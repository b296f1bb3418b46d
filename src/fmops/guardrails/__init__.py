"""Guardrails: Bedrock-Guardrails-style policies that run offline, standalone and in the gateway.

    from fmops.guardrails import load_policy

    policy = load_policy("policy.yaml")          # CreateGuardrail's field names, validated
    result = policy.apply(text, source="INPUT")  # or "OUTPUT" (with grounding_source=..., query=...)
    result.action        # "NONE" | "GUARDRAIL_INTERVENED"
    result.blocked       # True when the text must not pass
    result.text          # what to pass on: the original, the masked text or the blocked message
    result.response()    # ApplyGuardrail-shaped JSON: action, outputs, assessments (+ policy_version)

A streamed answer: `guard = StreamGuard(policy)`; `step = guard.feed(chunk)` releases `step.release` (checked,
masked) or ends with `step.blocked` (a result whose `text` is the blocked message); then `guard.finish()`.

Detectors are pluggable through `DETECTORS` (entry-point group `fmops.guardrail_detectors`).
Wherever a policy path goes, a policy source's reference does too (`POLICY_SOURCES`, entry-point group
`fmops.policy_sources`): `load_policy("registry:NAME@production")` loads the version the registry's alias
points at (`fmops guard policies register|promote`).

For the CLI, imported on first use so that `import fmops.guardrails` stays cheap (no numpy, no fastapi):

    from fmops.guardrails import create_app                     # the ApplyGuardrail HTTP app
    from fmops.guardrails import evaluate_policy, read_dataset, write_evaluation, shipped_file
    from fmops.guardrails import compare_policies, write_policy_comparison, read_policy_comparison
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fmops.guardrails._apply import Policy, load_policy
from fmops.guardrails._detectors import DETECTORS, ContentDetector, get_detector
from fmops.guardrails._policy import PolicyConfig, parse_policy, read_policy
from fmops.guardrails._result import GuardrailResult
from fmops.guardrails._sources import POLICY_SOURCES, is_policy_reference
from fmops.guardrails._stream import StreamGuard, StreamStep

if TYPE_CHECKING:
    from fmops.guardrails._compare import (
        Difference,
        PairDifference,
        PolicyComparison,
        compare_policies,
        policy_evidence,
        read_policy_comparison,
        write_policy_comparison,
    )
    from fmops.guardrails._content import shipped_file
    from fmops.guardrails._eval import (
        GuardrailEvaluation,
        Interval,
        evaluate_policy,
        read_dataset,
        write_evaluation,
    )
    from fmops.guardrails._server import create_app

#: Public names served from the private modules on first use.
_LAZY = {
    "create_app": "fmops.guardrails._server",
    "shipped_file": "fmops.guardrails._content",
    **dict.fromkeys(
        ("GuardrailEvaluation", "Interval", "evaluate_policy", "read_dataset", "write_evaluation"),
        "fmops.guardrails._eval",
    ),
    **dict.fromkeys(
        (
            "Difference",
            "PairDifference",
            "PolicyComparison",
            "compare_policies",
            "policy_evidence",
            "read_policy_comparison",
            "write_policy_comparison",
        ),
        "fmops.guardrails._compare",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fmops.guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DETECTORS",
    "POLICY_SOURCES",
    "ContentDetector",
    "Difference",
    "GuardrailEvaluation",
    "GuardrailResult",
    "Interval",
    "PairDifference",
    "Policy",
    "PolicyComparison",
    "PolicyConfig",
    "StreamGuard",
    "StreamStep",
    "compare_policies",
    "create_app",
    "evaluate_policy",
    "get_detector",
    "is_policy_reference",
    "load_policy",
    "parse_policy",
    "policy_evidence",
    "read_dataset",
    "read_policy",
    "read_policy_comparison",
    "shipped_file",
    "write_evaluation",
    "write_policy_comparison",
]
