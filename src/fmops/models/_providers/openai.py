"""`openai/MODEL`: any OpenAI-compatible HTTP server (OpenAI, vLLM, Ollama, TGI, LM Studio, `fmops serve`).

Chat completions by default, legacy completions with `-M api=completions`; `-M stream=true` streams (and
measures time to first token). Scoring uses legacy completions with `echo` and `logprobs`, which vLLM and
similar servers support (OpenAI itself only for some models).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import ssl
import time
from collections.abc import Sequence
from typing import Any

import httpx

from fmops.core.errors import BadInputError
from fmops.models._api import ModelAPI, take_args
from fmops.models._tokens import count_with_encoding, encoding_for
from fmops.models._types import (
    Capabilities,
    GenerateRequest,
    ModelCallError,
    ModelResult,
    ScoreRequest,
    TokenSource,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Tokens asked for when a request sets no max_tokens: a runaway completion costs money and memory twice
#: (stored, then written to the records). `-M default_max_tokens=N` changes it; 0 sends none.
DEFAULT_MAX_TOKENS = 1024
#: A response body larger than this is refused: no sane completion or score response comes near it.
MAX_RESPONSE_BYTES = 16 << 20
#: HTTP clients per event loop that requests rotate over (see `_client`).
_POOLS = 8

_ARGS: dict[str, Any] = {
    "base_url": None,
    "api_key": None,
    "api": "chat",
    "stream": False,
    "tokenizer": None,
    "max_tokens_param": "max_tokens",
    "extra_body": None,
    "headers": None,
    "connect_timeout": 10.0,
    "default_max_tokens": DEFAULT_MAX_TOKENS,
    "max_response_bytes": MAX_RESPONSE_BYTES,
}


def _base_url(args: dict[str, Any]) -> str:
    return str(args.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


class OpenAIModel(ModelAPI):
    provider = "openai"
    default_concurrency = 32

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        opts = take_args("openai", args, _ARGS)
        if opts["api"] not in ("chat", "completions"):
            raise BadInputError(f"openai: api={opts['api']!r}; expected chat or completions")
        self.base_url = _base_url(opts)
        if not self.base_url.lower().startswith(("http://", "https://")):  # a setup error: never retried
            raise BadInputError(
                f"openai: base_url {self.base_url!r} has no http:// or https:// scheme "
                "(e.g. -M base_url=http://127.0.0.1:8000/v1)"
            )
        self.api = str(opts["api"])
        self.stream = bool(opts["stream"])
        self.encoding = encoding_for(model, opts["tokenizer"])
        self.max_tokens_param = str(opts["max_tokens_param"])
        self.extra_body = dict(opts["extra_body"] or {})
        api_key = opts["api_key"] or os.environ.get("OPENAI_API_KEY")
        if not api_key and self.base_url == DEFAULT_BASE_URL:  # say so before any call, not after retries
            raise BadInputError(
                f"openai/{model}: OPENAI_API_KEY is not set; export it (or pass -M api_key=...), or point "
                "-M base_url= at an OpenAI-compatible server"
            )
        self.default_max_tokens = int(opts["default_max_tokens"] or 0) or None
        self.max_response_bytes = int(opts["max_response_bytes"])
        self._headers = {"Content-Type": "application/json", **(opts["headers"] or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connect_timeout = float(opts["connect_timeout"])
        self._clients: dict[asyncio.AbstractEventLoop, list[httpx.AsyncClient]] = {}
        self._turn = 0
        self._ssl: ssl.SSLContext | None = None

    @classmethod
    def availability(cls, model: str, args: dict[str, Any]) -> str | None:
        base = _base_url(args)
        if base == DEFAULT_BASE_URL and not (args.get("api_key") or os.environ.get("OPENAI_API_KEY")):
            return "OPENAI_API_KEY is not set"
        return None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            chat=self.api == "chat", logprobs=True, score=True, streaming=True, max_batch_size=1
        )

    def fingerprint_data(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            "api": self.api,
            "extra_body": self.extra_body,
        }

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        return count_with_encoding(self.encoding, texts) if self.encoding else None

    # -- transport ----------------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        """A pooled client of the running event loop (a client cannot move between loops).

        Requests rotate over a few clients: httpcore scans its whole pool on every request, so several
        small pools cost far less CPU at high concurrency than one big one.
        """
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]
            if self._ssl is None:  # one context for all pools: building one costs ~30 ms
                self._ssl = httpx.create_ssl_context()
            clients = [
                httpx.AsyncClient(
                    verify=self._ssl,
                    base_url=self.base_url,
                    headers=self._headers,
                    timeout=httpx.Timeout(600.0, connect=self._connect_timeout),
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
                )
                for _ in range(_POOLS)
            ]
            self._clients[loop] = clients
        self._turn = (self._turn + 1) % len(clients)
        return clients[self._turn]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        for client in self._clients.pop(loop, []):
            await client.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._client().stream("POST", path, json=body) as response:
                text = await self._read_bounded(response)
        except httpx.TimeoutException as exc:
            raise ModelCallError(
                f"timeout: {type(exc).__name__} calling {self.base_url}", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from None
        _raise_for_status(response.status_code, response.headers, text)
        try:
            data = json.loads(text)
        except ValueError:
            raise ModelCallError(f"malformed response body: {text[:120]!r}", retryable=True) from None
        if not isinstance(data, dict):
            raise ModelCallError(f"malformed response body: {text[:120]!r}", retryable=True)
        return data

    async def _read_bounded(self, response: httpx.Response) -> str:
        """The body, refused past `max_response_bytes` (checked as it arrives, not after)."""
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._too_large(int(declared))
        parts, size = [], 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > self.max_response_bytes:
                raise self._too_large(size)
            parts.append(part)
        return b"".join(parts).decode(response.encoding or "utf-8", "replace")

    def _too_large(self, size: int) -> ModelCallError:
        return ModelCallError(
            f"response from {self.base_url} is larger than max_response_bytes={self.max_response_bytes} "
            f"({size} bytes or more); refused"
        )

    def _transport_error(self, exc: httpx.TransportError) -> ModelCallError:
        """A connection failure names the URL; a malformed URL is a setup error, not worth a retry."""
        permanent = isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL)
        return ModelCallError(
            f"connection error: cannot reach {self.base_url} ({type(exc).__name__}: {exc})",
            retryable=not permanent,
        )

    async def _stream(
        self, path: str, body: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], float | None, float]:
        """The parsed SSE chunks, time to the first text, and the total time."""
        chunks: list[dict[str, Any]] = []
        ttft: float | None = None
        started = time.perf_counter()
        size = 0
        try:
            async with self._client().stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    text = await self._read_bounded(response)
                    _raise_for_status(response.status_code, response.headers, text)
                async for line in response.aiter_lines():
                    size += len(line) + 1
                    if size > self.max_response_bytes:
                        raise self._too_large(size)
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        chunk = json.loads(payload)
                    except ValueError:
                        raise ModelCallError(
                            f"malformed stream chunk: {payload[:120]!r}", retryable=True
                        ) from None
                    if ttft is None and _chunk_text(chunk):
                        ttft = time.perf_counter() - started
                    chunks.append(chunk)
                else:
                    raise ModelCallError("the stream ended without [DONE]", retryable=True)
        except httpx.TimeoutException as exc:
            raise ModelCallError(
                f"timeout: {type(exc).__name__} calling {self.base_url}", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from None
        return chunks, ttft, time.perf_counter() - started

    # -- generate -----------------------------------------------------------------------------
    def _body(self, req: GenerateRequest) -> dict[str, Any]:
        cfg = req.config
        body: dict[str, Any] = {"model": self.model}
        if self.api == "chat":
            body["messages"] = [{"role": m.role, "content": m.content} for m in req.chat_messages()]
            if cfg.logprobs:
                body["logprobs"] = True
        else:
            body["prompt"] = req.input_text()
            if cfg.logprobs:
                body["logprobs"] = 1
        optional = {
            self.max_tokens_param: cfg.max_tokens if cfg.max_tokens is not None else self.default_max_tokens,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "stop": list(cfg.stop) or None,
            "seed": cfg.seed,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(self.extra_body)
        return body

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        return [await self._generate_one(r) for r in requests]

    async def _generate_one(self, req: GenerateRequest) -> ModelResult:
        path = "/chat/completions" if self.api == "chat" else "/completions"
        body = self._body(req)
        try:
            if self.stream:
                chunks, ttft, elapsed = await self._stream(path, body)
                return _from_stream(chunks, ttft, elapsed, self.api)
            started = time.perf_counter()
            data = await self._post(path, body)
            elapsed = time.perf_counter() - started
            return _from_response(data, self.api, elapsed)
        except _NoContent as exc:  # an error result: the store keeps none, so a later run asks again
            raise ModelCallError(str(exc)) from None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ModelCallError(f"malformed response: {type(exc).__name__}: {exc}", retryable=True) from None

    # -- score --------------------------------------------------------------------------------
    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        return [await self._score_one(r) for r in requests]

    async def _score_one(self, req: ScoreRequest) -> ModelResult:
        full = req.prefix + req.text
        # max_tokens=1 rather than 0: vLLM and others refuse 0; the generated token lies past the text.
        body = {
            "model": self.model,
            "prompt": full,
            "max_tokens": 1,
            "echo": True,
            "logprobs": 1,
            "temperature": 0,
        }
        body.update(self.extra_body)
        started = time.perf_counter()
        data = await self._post("/completions", body)
        elapsed = time.perf_counter() - started
        try:
            lp = data["choices"][0]["logprobs"]
            tokens: list[str] = lp["tokens"]
            values: list[float | None] = lp["token_logprobs"]
            offsets: list[int] | None = lp.get("text_offset")
            if offsets is None:  # offsets from the token texts themselves
                offsets, pos = [], 0
                for tok in tokens:
                    offsets.append(pos)
                    pos += len(tok)
            start, end = len(req.prefix), len(full)
            picked = [v for off, v in zip(offsets, values, strict=True) if start <= off < end]
            usage = data.get("usage") or {}
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ModelCallError(
                f"malformed score response: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        return ModelResult(
            logprob=float(sum(v for v in picked if v is not None)),
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            token_source=TokenSource.PROVIDER if usage else None,
            latency_s=elapsed,
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date) or retry-after-ms."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


def _raise_for_status(status: int, headers: httpx.Headers, text: str) -> None:
    if status < 400:
        return
    try:
        detail = json.loads(text).get("error", {})
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
    except (ValueError, AttributeError):
        message = None
    message = f"HTTP {status}: {message or text[:200]}"
    overloaded = status in (429, 503)
    retryable = overloaded or status in (408, 409, 500, 502, 504)
    raise ModelCallError(
        message, retryable=retryable, overloaded=overloaded, retry_after=_retry_after(headers), status=status
    )


def _usage(data: dict[str, Any] | None) -> dict[str, Any]:
    usage = data or {}
    found = usage.get("prompt_tokens") is not None and usage.get("completion_tokens") is not None
    return {
        "input_tokens": usage.get("prompt_tokens"),
        "output_tokens": usage.get("completion_tokens"),
        "token_source": TokenSource.PROVIDER if found else None,
    }


def _logprobs(values: list[float | None] | None) -> dict[str, Any]:
    if values is None:
        return {}
    clean = tuple(float(v) for v in values if v is not None)
    return {"logprob": float(sum(clean)), "token_logprobs": clean}


class _NoContent(Exception):
    """The server answered without text (`content: null`: a refusal, a filter, a tool call)."""


def _from_response(data: dict[str, Any], api: str, elapsed: float) -> ModelResult:
    choice = data["choices"][0]
    if api == "chat":
        text = choice["message"].get("content")
        if text is None:
            raise _NoContent(
                f"the response has no text (content: null, finish_reason={choice.get('finish_reason')!r})"
            )
        content = (choice.get("logprobs") or {}).get("content")
        values = [c["logprob"] for c in content] if content is not None else None
    else:
        text = choice["text"]
        values = (choice.get("logprobs") or {}).get("token_logprobs")
    if not isinstance(text, str):
        raise TypeError("the text is not a string")
    return ModelResult(
        text=text,
        finish_reason=choice.get("finish_reason"),
        latency_s=elapsed,
        **_logprobs(values),
        **_usage(data.get("usage")),
    )


def _chunk_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    if "delta" in choice:
        return (choice["delta"] or {}).get("content") or ""
    return choice.get("text") or ""


def _from_stream(chunks: list[dict[str, Any]], ttft: float | None, elapsed: float, api: str) -> ModelResult:
    parts: list[str] = []
    values: list[float | None] | None = None
    finish = None
    usage = None
    for chunk in chunks:
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            parts.append(_chunk_text(chunk))
            finish = choice.get("finish_reason") or finish
            lp = choice.get("logprobs")
            if lp:
                step = (
                    [c["logprob"] for c in lp.get("content") or []]
                    if api == "chat"
                    else lp.get("token_logprobs") or []
                )
                values = (values or []) + step
    return ModelResult(
        text="".join(parts),
        finish_reason=finish,
        latency_s=elapsed,
        ttft_s=ttft,
        **_logprobs(values),
        **_usage(usage),
    )
