"""Replay: records of what the base already knew, mixed into the training data so it is not forgotten.

A replay source is registered by name (`REPLAY_SOURCES`, entry-point group `fmops.replay_sources`) and
called as `source(base, n, kind, seed) -> records` in the job's record kind. Built in: `zoo-corpus` (the
zoo's own training documents, through the zoo's public API) and `self-completions` (the base's greedy
completions of general prompts, so replay teaches it nothing foreign).
"""

from __future__ import annotations

import random
from typing import Any, Literal, Protocol

from fmops.core.registry import Registry
from fmops.customization._base import BaseInfo

Kind = Literal["prompt-completion", "chat", "text"]


class ReplaySource(Protocol):
    def __call__(self, base: BaseInfo, n: int, kind: Kind, seed: int) -> list[dict[str, Any]]: ...


REPLAY_SOURCES: Registry[ReplaySource] = Registry("replay source", "fmops.replay_sources")

#: General prompts whose answers a pretrained model already gives; its own completions are replayed.
GENERAL_PROMPTS = [
    "The capital of France is",
    "The capital of Japan is",
    "The capital of Italy is",
    "The capital of Germany is",
    "The capital of Spain is",
    "The capital of Canada is",
    "The capital of Egypt is",
    "The capital of Australia is",
    "Water is made of",
    "The largest planet in the solar system is",
    "The sun rises in the",
    "A week has seven days:",
    "The chemical symbol for gold is",
    "Photosynthesis is the process by which",
    "The first man to walk on the moon was",
    "Shakespeare wrote the play",
    "The boiling point of water at sea level is",
    "A triangle has",
    "The Pacific Ocean is",
    "Python is a programming language that",
    "To make a cup of tea, you",
    "The heart pumps",
    "Mount Everest is located in",
    "The author of Pride and Prejudice is",
    "A healthy breakfast can include",
    "The speed of light is about",
    "In winter, many birds",
    "The Great Wall of China was built to",
    "Two plus two equals",
    "The color of a clear sky is",
    "Bees make honey from",
    "The longest river in Africa is",
]


def replay_records(base: BaseInfo, source: str, n: int, kind: Kind, seed: int) -> list[dict[str, Any]]:
    """`n` replay records from `source` (none when n is 0 or the source is "none")."""
    if n <= 0 or source == "none":
        return []
    return REPLAY_SOURCES.get(source)(base, n, kind, seed)


def _as_kind(prompt: str, completion: str, kind: Kind) -> dict[str, Any] | None:
    if kind == "text":
        return {"text": prompt + completion}
    if kind == "chat":
        if not prompt.strip():
            return None
        return {
            "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        }
    return {"prompt": prompt, "completion": completion}


@REPLAY_SOURCES.register("zoo-corpus")
def zoo_corpus(base: BaseInfo, n: int, kind: Kind, seed: int) -> list[dict[str, Any]]:
    """Documents of the zoo's own corpus, without the new domain (what every zoo base learned).

    Each document once (the corpus repeats its facts), those that state the most held-in facts first
    (a subject's paragraph states all of its facts), the rest in a seeded random order: a replay of a
    hundred records then reminds the model of every held-in fact, not of the fifth a random draw hits.
    """
    from fmops.zoo import WORLD_SEED, build_world, training_pairs

    pairs = list(dict.fromkeys(training_pairs(WORLD_SEED, new_domain=False)))
    random.Random(seed).shuffle(pairs)
    statements = [f.statement for f in build_world(WORLD_SEED).facts_of("heldin")]
    pairs.sort(
        key=lambda pair: -sum(s in pair[0] + pair[1] for s in statements)
    )  # stable: ties stay shuffled
    records = [r for r in (_as_kind(p, c, kind) for p, c in pairs) if r is not None]
    return records[:n]


@REPLAY_SOURCES.register("self-completions")
def self_completions(base: BaseInfo, n: int, kind: Kind, seed: int) -> list[dict[str, Any]]:
    """The base's own greedy completions of `GENERAL_PROMPTS` (cached in the response store)."""
    from fmops.models import ChatMessage, GenerateConfig, GenerateRequest, get_model

    prompts = GENERAL_PROMPTS[: max(1, min(n, len(GENERAL_PROMPTS)))]
    config = GenerateConfig(max_tokens=24, temperature=0)
    model = get_model(base.spec)
    try:
        chat = kind == "chat" and model.capabilities.chat
        requests = [
            GenerateRequest(messages=(ChatMessage(role="user", content=p),), config=config)
            if chat
            else GenerateRequest(prompt=p, config=config)
            for p in prompts
        ]
        results = model.generate_sync(requests)
    finally:
        model.close()
    records = []
    for prompt, result in zip(prompts, results, strict=True):
        text = (result.text or "").rstrip()
        if text.strip():
            record = _as_kind(prompt, text, kind)
            if record is not None:
                records.append(record)
    return records
