"""`echo/NAME`: a deterministic offline model for end-to-end tests and dry runs.

It answers with the prompt's (or last user turn's) words, cut at `max_tokens` words and at stop strings;
log-probabilities are a fixed function of each word, so every figure is reproducible without a network.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from typing import Any

from fmops.models._api import ModelAPI, take_args
from fmops.models._types import Capabilities, GenerateRequest, ModelResult, ScoreRequest, TokenSource


def word_logprob(word: str) -> float:
    """A fixed, made-up log-probability per word in [-5, -0.1]."""
    return -0.1 - (zlib.crc32(word.encode("utf-8")) % 50) / 10


class EchoModel(ModelAPI):
    provider = "echo"
    default_concurrency = 8

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        opts = take_args("echo", args, {"latency": 0.0, "batch_size": 1, "prefix": ""})
        self.latency = float(opts["latency"])
        self.batch_size = int(opts["batch_size"])
        self.prefix = str(opts["prefix"])
        self.calls = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=True, logprobs=True, score=True, max_batch_size=self.batch_size)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model, "prefix": self.prefix}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        return [self._answer(r) for r in requests]

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        out = []
        for r in requests:
            words = r.text.split()
            out.append(
                ModelResult(
                    logprob=sum(word_logprob(w) for w in words),
                    input_tokens=len((r.prefix + " " + r.text).split()),
                    output_tokens=0,
                    token_source=TokenSource.PROVIDER,
                )
            )
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def _answer(self, req: GenerateRequest) -> ModelResult:
        source = req.prompt if req.prompt is not None else req.chat_messages()[-1].content
        text = self.prefix + source
        finish = "stop"
        for stop in req.config.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        words = text.split()
        limit = req.config.max_tokens
        if limit is not None and len(words) > limit:
            words, finish = words[:limit], "length"
        text = " ".join(words)
        logprobs = tuple(word_logprob(w) for w in words) if req.config.logprobs else None
        return ModelResult(
            text=text,
            finish_reason=finish,
            logprob=sum(logprobs) if logprobs is not None else None,
            token_logprobs=logprobs,
            input_tokens=len(req.input_text().split()),
            output_tokens=len(words),
            token_source=TokenSource.PROVIDER,
        )
