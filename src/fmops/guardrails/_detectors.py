"""Pluggable detectors: one registry (`fmops.core.registry`), built once per process per configuration.

A content detector turns texts into per-category probabilities (categories: the policy's content filter
types, PROMPT_ATTACK included); the policy's `detectors.content` names which one runs. Built in:

* `minilm-static` (default) and `minilm`: the offline embedding classifiers (`_content.py`);
* `llama-guard`: a Llama Guard 3 model behind any OpenAI-compatible endpoint (`_remote.py`);
* `detoxify`: Unitary's detoxify checkpoint through fmops' toxicity metric (`_remote.py`);
* `bedrock`: a remote guardrail's ApplyGuardrail content filters (Amazon Bedrock, or `fmops guard serve`).

Other packages add theirs through the `fmops.guardrail_detectors` entry-point group.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from fmops.core.registry import Registry


class ContentDetector(Protocol):
    """Per-category probabilities in [0, 1] for each text; categories it does not score are absent."""

    name: str

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]: ...


DETECTORS: Registry[Any] = Registry("guardrail detector", "fmops.guardrail_detectors")
DETECTORS.register("minilm-static", "fmops.guardrails._content:EmbeddingClassifier")
DETECTORS.register("minilm", "fmops.guardrails._detectors:_full_minilm")
DETECTORS.register("llama-guard", "fmops.guardrails._remote:LlamaGuard")
DETECTORS.register("detoxify", "fmops.guardrails._remote:DetoxifyDetector")
DETECTORS.register("bedrock", "fmops.guardrails._remote:BedrockGuardrail")


def _full_minilm(**args: Any) -> ContentDetector:
    from fmops.guardrails._content import EmbeddingClassifier

    return EmbeddingClassifier(encoder="minilm", **args)


_BUILT: dict[str, ContentDetector] = {}
_LOCK = threading.Lock()


def get_detector(name: str, args: dict[str, Any] | None = None) -> ContentDetector:
    """The process-wide detector for (name, args), built on first use."""
    key = json.dumps([name.lower(), args or {}], sort_keys=True, default=str)
    detector = _BUILT.get(key)
    if detector is None:
        with _LOCK:
            detector = _BUILT.get(key)
            if detector is None:
                detector = _BUILT[key] = DETECTORS.create(name, **(args or {}))
    return detector
