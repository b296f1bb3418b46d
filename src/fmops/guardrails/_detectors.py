"""Pluggable detectors: one registry (`fmops.core.registry`), built once per process per configuration.

A content detector turns texts into per-category probabilities (categories: the policy's content filter
types, PROMPT_ATTACK included); the policy's `detectors.content` names which one runs. Built in:

* `minilm-static` (default) and `minilm`: the offline embedding classifiers (`_content.py`);
* `llama-guard`: a Llama Guard 3 model behind any OpenAI-compatible endpoint (`_remote.py`);
* `guard-model`: Llama Guard or ShieldGemma through any fmops model spec, e.g. a local HF folder
  (`hf/PATH`), `finetuned/NAME` or `registry:NAME@ALIAS` (`_guard_model.py`);
* `detoxify`: Unitary's detoxify checkpoint through fmops' toxicity metric (`_remote.py`);
* `bedrock`: a remote guardrail's ApplyGuardrail content filters (Amazon Bedrock, or `fmops guard serve`).

Other packages add theirs through the `fmops.guardrail_detectors` entry-point group.

Contextual grounding has its own registry, `GROUNDING_SCORERS` (entry-point group
`fmops.grounding_scorers`; the policy's `detectors.grounding` names one): `lexical` (default, offline,
`_grounding.py`), `judge` (an LLM judge through any fmops model spec, `_judge.py`) and `nli` (an NLI model
from a local folder, `_nli.py`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry


class ContentDetector(Protocol):
    """Per-category probabilities in [0, 1] for each text; categories it does not score are absent."""

    name: str

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]: ...


DETECTORS: Registry[Any] = Registry("guardrail detector", "fmops.guardrail_detectors")
DETECTORS.register("minilm-static", "fmops.guardrails._content:EmbeddingClassifier")
DETECTORS.register("minilm", "fmops.guardrails._detectors:_full_minilm")
DETECTORS.register("llama-guard", "fmops.guardrails._remote:LlamaGuard")
DETECTORS.register("guard-model", "fmops.guardrails._guard_model:GuardModel")
DETECTORS.register("detoxify", "fmops.guardrails._remote:DetoxifyDetector")
DETECTORS.register("bedrock", "fmops.guardrails._remote:BedrockGuardrail")


def _full_minilm(**args: Any) -> ContentDetector:
    from fmops.guardrails._content import EmbeddingClassifier

    return EmbeddingClassifier(encoder="minilm", **args)


class GroundingScorer(Protocol):
    """Scores in [0, 1]: is `answer` supported by `source` (grounding); does it address `query` (relevance)."""

    name: str

    def grounding(self, answer: str, source: str) -> float: ...

    def relevance(self, answer: str, query: str) -> float: ...


GROUNDING_SCORERS: Registry[Any] = Registry("grounding scorer", "fmops.grounding_scorers")
GROUNDING_SCORERS.register("lexical", "fmops.guardrails._grounding:LexicalGrounding")
GROUNDING_SCORERS.register("judge", "fmops.guardrails._judge:JudgeGrounding")
GROUNDING_SCORERS.register("nli", "fmops.guardrails._nli:NliGrounding")


_BUILT: dict[str, Any] = {}
_LOCK = threading.Lock()


def get_detector(name: str, args: dict[str, Any] | None = None) -> ContentDetector:
    """The process-wide detector for (name, args), built on first use."""
    return _built(DETECTORS, name, args)


def get_grounding_scorer(name: str, args: dict[str, Any] | None = None) -> GroundingScorer:
    """The process-wide grounding scorer for (name, args), built on first use."""
    return _built(GROUNDING_SCORERS, name, args)


def _built(registry: Registry[Any], name: str, args: dict[str, Any] | None) -> Any:
    key = json.dumps([registry.kind, name.lower(), args or {}], sort_keys=True, default=str)
    built = _BUILT.get(key)
    if built is None:
        with _LOCK:
            built = _BUILT.get(key)
            if built is None:
                try:
                    built = _BUILT[key] = registry.create(name, **(args or {}))
                except TypeError as exc:  # a missing or unknown argument in the policy's `args`
                    raise BadInputError(f"{registry.kind} {name!r}: {exc}") from None
    return built
