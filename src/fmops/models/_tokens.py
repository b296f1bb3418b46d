"""Token counting when the provider reports no usage: a local tokenizer, else an estimate (flagged)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

#: Encodings quicktok ships (offline) that we use for OpenAI-style models.
OPENAI_ENCODINGS = ("o200k_base", "cl100k_base")


def estimate_tokens(text: str) -> int:
    """About four characters per token for English; used only when nothing better is known."""
    return math.ceil(len(text) / 4) if text else 0


@functools.lru_cache(maxsize=16)
def _encoding(name: str) -> Any | None:
    try:
        import quicktok
    except ImportError:
        return None
    try:
        return quicktok.get_encoding(name)
    except (RuntimeError, KeyError, ValueError):
        return None


def encoding_for(model: str, explicit: str | None = None) -> str | None:
    """The OpenAI encoding for a model name (or the one given), None when unknown: we never guess."""
    if explicit:
        return explicit
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base"
    if name.startswith(("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")):
        return "cl100k_base"
    return None


def count_with_encoding(encoding: str, texts: Sequence[str]) -> list[int] | None:
    """Exact counts with a bundled BPE encoding (quicktok), None when it is not installed."""
    enc = _encoding(encoding)
    if enc is None:
        return None
    return [int(enc.count(t)) for t in texts]
