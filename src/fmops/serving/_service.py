"""What a request to the server does, without HTTP: validate, fit the context window, batch, render.

The FastAPI app (`_app.py`) only moves bytes in and out of this class, so the logic is testable and the
app stays a face.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

from fmops.core.errors import FmopsError
from fmops.models import GenerateRequest, Model, ModelResult, ScoreRequest
from fmops.serving._batcher import BatcherClosedError, DynamicBatcher, QueueFullError
from fmops.serving._errors import APIError, bad_request, overloaded
from fmops.serving._render import (
    Choice,
    chat_chunks,
    chat_response,
    completion_chunks,
    completion_response,
    finish_reason,
    finite,
    new_id,
    sse,
    usage,
)
from fmops.serving._schemas import ChatCompletionRequest, CompletionRequest, parse_body
from fmops.serving._tokens import TokenInfo, word_pieces

R = TypeVar("R")
S = TypeVar("S")
#: Most rows (prompts x n) one HTTP request may add to the queue.
MAX_ROWS = 256
#: Most words of a prompt scored with echo + logprobs: each word is one scoring row conditioned on the
#: words before it (the model protocol returns one log-probability per scored text), so the cost grows
#: with the square of the prompt's length.
MAX_ECHO_WORDS = 1024


class Stream:
    """A streamed answer: the app sends `body()` as text/event-stream."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    async def body(self) -> AsyncIterator[bytes]:
        for part in sse(self._chunks):
            yield part


class ServingService:
    """One served model behind a dynamic batcher, speaking OpenAI's chat and legacy completions."""

    def __init__(
        self,
        model: Model,
        *,
        served_name: str | None = None,
        aliases: Sequence[str] = (),
        max_batch_size: int | None = None,
        batch_wait_ms: float = 5.0,
        max_queue: int = 256,
        context_window: int | None = None,
    ) -> None:
        self.model = model
        self.name = served_name or model.name
        self.names = {self.name, model.name, *aliases}
        self.tokens = TokenInfo(model, context_window)
        concurrency = model.limits.max_concurrency or model.api.default_concurrency
        self.batcher = DynamicBatcher(
            model,
            max_batch_size=max_batch_size or model.capabilities.max_batch_size,
            batch_wait_s=batch_wait_ms / 1000,
            max_queue=max_queue,
            concurrency=max(1, concurrency),
        )
        self.fingerprint = f"fmops-{model.fingerprint[:12]}"
        self._samples = itertools.count()

    # -- info ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model": self.name,
            "spec": self.model.name,
            "context_window": self.tokens.context_window,
            "max_batch_size": self.batcher.max_batch_size,
            "batch_wait_ms": self.batcher.batch_wait_s * 1000,
            "queued": self.batcher.queued,
            "running_batches": self.batcher.in_flight,
            "max_queue": self.batcher.max_queue,
            "batching": self.batcher.stats.as_dict(),
        }

    def model_card(self) -> dict[str, Any]:
        return {"id": self.name, "object": "model", "created": 0, "owned_by": "fmops"}

    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [self.model_card()]}

    def check_model(self, name: str) -> None:
        if name not in self.names:
            raise APIError(
                404,
                f"The model `{name}` does not exist: this server serves `{self.name}`",
                param="model",
                code="model_not_found",
            )

    async def close(self) -> None:
        await self.batcher.close()
        await self.model.aclose()

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, raw: bytes) -> dict[str, Any] | Stream:
        body: ChatCompletionRequest = parse_body(raw, ChatCompletionRequest)
        self.check_model(body.model)
        body.check_supported()
        caps = self.model.capabilities
        if not caps.chat:
            raise bad_request(
                f"`{self.name}` has no chat template, so it cannot take messages: send a prompt to "
                "/v1/completions instead",
                param="messages",
                code="chat_not_supported",
            )
        if body.logprobs and not caps.logprobs:
            raise bad_request(f"`{self.name}` does not return log-probabilities", param="logprobs")
        request = GenerateRequest(
            messages=body.chat_messages(), config=body.generate_config(body.limit(), body.logprobs)
        )
        request = self._fit(
            request, "messages", "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
        )
        self._check_rows(body.n)
        results = await self._generate(self._samples_of(request, body.n))
        need_pieces = body.stream or body.logprobs
        choices = [self._choice(i, r, body.logprobs, need_pieces) for i, r in enumerate(results)]
        use = usage(_input_tokens(results[0], self.tokens, request), sum(c.output_tokens for c in choices))
        top = bool(body.top_logprobs)
        rid = new_id("chatcmpl")
        if body.stream:
            return Stream(
                chat_chunks(
                    rid=rid,
                    model=self.name,
                    fingerprint=self.fingerprint,
                    choices=choices,
                    top=top,
                    use=use if body.include_usage else None,
                )
            )
        return chat_response(
            rid=rid, model=self.name, fingerprint=self.fingerprint, choices=choices, top=top, use=use
        )

    # -- legacy completions -------------------------------------------------------------------
    async def completions(self, raw: bytes) -> dict[str, Any] | Stream:
        body: CompletionRequest = parse_body(raw, CompletionRequest)
        self.check_model(body.model)
        body.check_supported()
        prompts = body.prompts()
        caps = self.model.capabilities
        want_lp = body.logprobs is not None
        if want_lp and not caps.logprobs:
            raise bad_request(f"`{self.name}` does not return log-probabilities", param="logprobs")
        score_prompt = body.echo and want_lp
        if score_prompt and not caps.score:
            raise bad_request(f"`{self.name}` cannot score prompts (echo with logprobs)", param="echo")
        self._check_rows(len(prompts) * body.n)
        config = body.generate_config(body.max_tokens, want_lp)
        requests = [
            self._fit(GenerateRequest(prompt=p, config=config), "prompt", "max_tokens") for p in prompts
        ]
        generate = not (body.echo and body.max_tokens == 0)
        rows = [s for r in requests for s in self._samples_of(r, body.n)] if generate else []
        pieces = [word_pieces(p) if score_prompt else [] for p in prompts]
        if score_prompt:
            for p, ps in zip(prompts, pieces, strict=True):
                self._fit_score(p)
                if len(ps) > MAX_ECHO_WORDS:
                    raise bad_request(
                        f"echo with logprobs scores prompts of up to {MAX_ECHO_WORDS} words; this one has "
                        f"{len(ps)}",
                        param="prompt",
                    )
        scoring = [
            ScoreRequest(text=piece, prefix="".join(ps[:k])) for ps in pieces for k, piece in enumerate(ps)
        ]
        generated, scored = await _both(self._generate(rows), self._score(scoring))
        if not generate:
            generated = [
                ModelResult(text="", finish_reason="length", output_tokens=0, logprob=0.0, token_logprobs=())
                for _ in prompts
                for _ in range(body.n)
            ]
        choices, prompt_tokens, start = [], 0, 0
        for p_i, prompt in enumerate(prompts):
            values = [finite(r.logprob) for r in scored[start : start + len(pieces[p_i])]]
            start += len(pieces[p_i])
            results = generated[p_i * body.n : (p_i + 1) * body.n]
            prompt_tokens += _input_tokens(results[0], self.tokens, requests[p_i])
            for j, result in enumerate(results):
                choice = self._choice(p_i * body.n + j, result, want_lp, body.stream or want_lp)
                if body.echo:
                    choice.prompt = prompt
                if score_prompt:
                    choice.prompt_pieces = pieces[p_i]
                    choice.prompt_logprobs = list(values)
                choices.append(choice)
        use = usage(prompt_tokens, sum(c.output_tokens for c in choices))
        rid = new_id("cmpl")
        if body.stream:
            return Stream(
                completion_chunks(
                    rid=rid,
                    model=self.name,
                    fingerprint=self.fingerprint,
                    choices=choices,
                    use=use if body.include_usage else None,
                )
            )
        return completion_response(
            rid=rid, model=self.name, fingerprint=self.fingerprint, choices=choices, use=use
        )

    # -- parts --------------------------------------------------------------------------------
    def _choice(self, index: int, result: ModelResult, logprobs: bool, need_pieces: bool) -> Choice:
        text = result.text or ""
        values = (
            [finite(v) for v in result.token_logprobs]
            if logprobs and result.token_logprobs is not None
            else None
        )
        if values is not None:
            pieces = self.tokens.pieces(text, len(values))
        elif need_pieces:
            pieces = self.tokens.pieces(text)
        else:
            pieces = []
        return Choice(
            index=index,
            text=text,
            finish_reason=finish_reason(result),
            pieces=pieces,
            logprobs=values if logprobs else None,
            output_tokens=result.output_tokens or 0,
        )

    def _samples_of(self, request: GenerateRequest, n: int) -> list[GenerateRequest]:
        """`n` rows for one prompt: the same greedy row (computed once), or distinct random samples.

        Random rows get server-wide sample numbers, so two callers with the same prompt in one batch are
        not answered with one shared sample.
        """
        if request.config.deterministic:
            return [request] * n
        first = next(self._samples) * n
        return [request.model_copy(update={"sample_index": first + i}) for i in range(n)]

    def _check_rows(self, rows: int) -> None:
        if rows > MAX_ROWS:
            raise bad_request(f"a request may ask for at most {MAX_ROWS} answers (prompts x n), got {rows}")

    def _fit(self, request: GenerateRequest, param: str, limit_param: str) -> GenerateRequest:
        """Refuse a prompt that does not fit the context window; shorten an unset completion to fit."""
        window = self.tokens.context_window
        if window is None:
            return request
        n_prompt = self.tokens.prompt_tokens(request)
        asked = request.config.max_tokens
        where = "messages" if param == "messages" else "prompt"
        if asked is not None and n_prompt + asked > window:
            raise bad_request(
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{n_prompt + asked} tokens ({n_prompt} in the {where}, {asked} in the completion). "
                f"Please reduce the length of the {where} or of {limit_param}.",
                param=param if n_prompt > window else limit_param,
                code="context_length_exceeded",
            )
        if asked is None and n_prompt >= window:
            raise bad_request(
                f"This model's maximum context length is {window} tokens. However, your {where} has "
                f"{n_prompt} tokens, which leaves no room for the completion. Please reduce the length "
                f"of the {where}.",
                param=param,
                code="context_length_exceeded",
            )
        default = self.tokens.default_max_tokens
        if asked is None and default is not None and n_prompt + default > window:
            config = request.config.model_copy(update={"max_tokens": window - n_prompt})
            return request.model_copy(update={"config": config})
        return request

    def _fit_score(self, prompt: str) -> None:
        window = self.tokens.context_window
        if window is None:
            return
        n_prompt = self.tokens.count(prompt) + self.tokens.score_overhead
        if n_prompt > window:
            raise bad_request(
                f"This model's maximum context length is {window} tokens. However, your prompt has "
                f"{n_prompt} tokens. Please reduce the length of the prompt.",
                param="prompt",
                code="context_length_exceeded",
            )

    async def _generate(self, rows: list[GenerateRequest]) -> list[ModelResult]:
        return await self._call("generate", rows)

    async def _score(self, rows: list[ScoreRequest]) -> list[ModelResult]:
        return await self._call("score", rows)

    async def _call(self, op: str, rows: list[Any]) -> list[ModelResult]:
        if not rows:
            return []
        try:
            results = await self.batcher.submit(op, rows)  # type: ignore[arg-type]
        except QueueFullError:
            raise overloaded() from None
        except BatcherClosedError:
            raise overloaded("the server is shutting down") from None
        except FmopsError as exc:  # e.g. a capability the model lacks, a model that cannot load
            raise APIError(500, f"the model failed: {exc}", code="model_error") from None
        for r in results:
            if r.error is not None:
                raise APIError(500, f"the model failed: {r.error}", code="model_error")
        return results


async def _both(first: Awaitable[R], second: Awaitable[S]) -> tuple[R, S]:
    """Await two calls together; when one fails the other is cancelled (no orphaned rows run on)."""
    a, b = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await a, await b
    except BaseException:
        a.cancel()
        b.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        raise


def _input_tokens(result: ModelResult, tokens: TokenInfo, request: GenerateRequest) -> int:
    if result.input_tokens is not None:
        return result.input_tokens
    return tokens.prompt_tokens(request)
