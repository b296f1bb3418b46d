"""Helpers for the guardrails tests: write a policy file from a dict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fmops.guardrails import Policy, load_policy

SHIPPED_POLICY = (
    Path(__file__).resolve().parents[2] / "src" / "fmops" / "guardrails" / "policies" / "default.yaml"
)


@pytest.fixture
def make_policy(tmp_path: Path) -> Callable[..., Policy]:
    def make(**config: Any) -> Policy:
        path = tmp_path / f"policy{len(list(tmp_path.glob('policy*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return load_policy(path)

    return make


def content_filters(strength: str = "HIGH", *types: str) -> dict[str, Any]:
    kinds = types or ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
    return {
        "filtersConfig": [
            {
                "type": t,
                "inputStrength": strength,
                "outputStrength": "NONE" if t == "PROMPT_ATTACK" else strength,
            }
            for t in kinds
        ]
    }
