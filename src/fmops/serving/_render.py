"""fmops results rendered as OpenAI responses: chat and legacy completions, whole or as SSE chunks."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fmops.models import ModelResult


@dataclass
class Choice:
    """One answer as it will be sent: its text, token pieces with log-probabilities, finish reason.

    For an echoed completion, `prompt_pieces`/`prompt_logprobs` come first and the text includes the
    prompt.
    """

    index: int
    text: str
    finish_reason: str
    pieces: list[str]
    logprobs: list[float | None] | None = None
    prompt: str = ""
    prompt_pieces: list[str] = field(default_factory=list)
    prompt_logprobs: list[float | None] | None = None
    output_tokens: int = 0


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def finite(value: float | None) -> float | None:
    """A log-probability JSON can carry: -inf becomes -9999.0 (as OpenAI reports it), NaN becomes null."""
    if value is None or math.isnan(value):
        return None
    return max(value, -9999.0) if value != math.inf else 0.0


def finish_reason(result: ModelResult) -> str:
    return result.finish_reason if result.finish_reason in ("stop", "length") else "stop"


# -- chat -------------------------------------------------------------------------------------
def _chat_token(piece: str, value: float | None, top: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "token": piece,
        "logprob": value if value is not None else 0.0,
        "bytes": list(piece.encode("utf-8")),
    }
    # Only the chosen token's log-probability is known: it is the one "top" alternative reported.
    entry["top_logprobs"] = [dict(entry)] if top else []
    return entry


def chat_logprobs(choice: Choice, top: bool) -> dict[str, Any] | None:
    if choice.logprobs is None:
        return None
    content = [_chat_token(p, v, top) for p, v in zip(choice.pieces, choice.logprobs, strict=False)]
    return {"content": content, "refusal": None}


def chat_response(
    *, rid: str, model: str, fingerprint: str, choices: Sequence[Choice], top: bool, use: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": [
            {
                "index": c.index,
                "message": {"role": "assistant", "content": c.text, "refusal": None},
                "logprobs": chat_logprobs(c, top),
                "finish_reason": c.finish_reason,
            }
            for c in choices
        ],
        "usage": use,
    }


def chat_chunks(
    *,
    rid: str,
    model: str,
    fingerprint: str,
    choices: Sequence[Choice],
    top: bool,
    use: dict[str, int] | None,
) -> Iterator[dict[str, Any]]:
    """The SSE chunks of a chat answer: a role chunk, one chunk per token, a finish chunk, usage."""
    base = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
    }
    extra = {"usage": None} if use is not None else {}

    def chunk(index: int, delta: dict[str, Any], logprobs: Any = None, finish: str | None = None) -> dict:
        payload = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return {**base, "choices": [payload], **extra}

    for c in choices:
        yield chunk(c.index, {"role": "assistant", "content": ""})
        values = c.logprobs
        for k, piece in enumerate(c.pieces):
            lp = None
            if values is not None:
                value = values[k] if k < len(values) else None
                lp = {"content": [_chat_token(piece, value, top)], "refusal": None}
            if piece or lp is not None:
                yield chunk(c.index, {"content": piece}, lp)
        yield chunk(c.index, {}, None, c.finish_reason)
    if use is not None:
        yield {**base, "choices": [], "usage": use}


# -- legacy completions -----------------------------------------------------------------------
def completion_logprobs(
    pieces: Sequence[str], values: Sequence[float | None], start: int
) -> dict[str, list[Any]]:
    """OpenAI's legacy `logprobs` object: tokens, their log-probabilities and character offsets."""
    tokens, offsets, logprobs, tops = [], [], [], []
    pos = start
    for k, piece in enumerate(pieces):
        value = values[k] if k < len(values) else None
        tokens.append(piece)
        offsets.append(pos)
        logprobs.append(value)
        tops.append({piece: value} if value is not None else None)
        pos += len(piece)
    return {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": tops, "text_offset": offsets}


def _choice_logprobs(c: Choice) -> dict[str, list[Any]] | None:
    if c.logprobs is None and c.prompt_logprobs is None:
        return None
    head = completion_logprobs(c.prompt_pieces, c.prompt_logprobs or [], 0) if c.prompt_pieces else None
    tail = completion_logprobs(c.pieces, c.logprobs or [None] * len(c.pieces), len(c.prompt))
    if head is None:
        return tail
    return {k: head[k] + tail[k] for k in tail}


def completion_response(
    *, rid: str, model: str, fingerprint: str, choices: Sequence[Choice], use: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": [
            {
                "index": c.index,
                "text": c.prompt + c.text,
                "logprobs": _choice_logprobs(c),
                "finish_reason": c.finish_reason,
            }
            for c in choices
        ],
        "usage": use,
    }


def completion_chunks(
    *, rid: str, model: str, fingerprint: str, choices: Sequence[Choice], use: dict[str, int] | None
) -> Iterator[dict[str, Any]]:
    """The SSE chunks of a completion: the echoed prompt, one chunk per token, a finish chunk, usage."""
    base = {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": fingerprint,
    }
    extra = {"usage": None} if use is not None else {}

    def chunk(index: int, text: str, logprobs: Any = None, finish: str | None = None) -> dict[str, Any]:
        payload = {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}
        return {**base, "choices": [payload], **extra}

    for c in choices:
        if c.prompt:
            head = (
                completion_logprobs(c.prompt_pieces, c.prompt_logprobs or [], 0)
                if c.prompt_logprobs is not None
                else None
            )
            yield chunk(c.index, c.prompt, head)
        pos = len(c.prompt)
        for k, piece in enumerate(c.pieces):
            lp = None
            if c.logprobs is not None:
                lp = completion_logprobs([piece], c.logprobs[k : k + 1] or [None], pos)
            pos += len(piece)
            if piece or lp is not None:
                yield chunk(c.index, piece, lp)
        yield chunk(c.index, "", None, c.finish_reason)
    if use is not None:
        yield {**base, "choices": [], "usage": use}


def sse(chunks: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Server-sent events as OpenAI sends them, ending with `data: [DONE]`."""
    for chunk in chunks:
        yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode("utf-8") + b"\n\n"
    yield b"data: [DONE]\n\n"
