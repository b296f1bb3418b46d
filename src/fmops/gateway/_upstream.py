"""Deployments a route sends to, and the router: least outstanding requests, retries, fallbacks, timeouts.

An `openai/NAME` deployment with a `base_url` is an HTTP upstream: bodies and SSE streams are passed
through with aiohttp, byte for byte, as they arrive. Every other model spec (echo, zoo, hf, finetuned,
registry...) runs in the gateway process behind `fmops.serving.ServingService`, the same code as
`fmops serve`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fmops.gateway._config import Deployment, Route
from fmops.gateway._http import HttpPool
from fmops.gateway._json import dumps, loads
from fmops.serving import APIError

#: Upstream answers worth another try on another deployment.
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(slots=True)
class Answer:
    """A whole answer: status and the JSON body (already parsed)."""

    status: int
    body: dict[str, Any]
    error_type: str | None = None


@dataclass(slots=True)
class StreamAnswer:
    """A 200 whose body arrives as raw SSE bytes; `close` releases the upstream connection."""

    chunks: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]
    status: int = 200


@dataclass(slots=True)
class Outcome:
    answer: Answer | StreamAnswer
    deployment: DeploymentRuntime
    route: str
    retries: int = 0
    fallback: str | None = None


class DeploymentRuntime:
    """One deployment and its outstanding requests (the balancer's measure)."""

    provider: str
    name: str
    upstream_model: str

    def __init__(self) -> None:
        self.outstanding = 0

    async def send(
        self, endpoint: str, body: dict[str, Any], stream: bool, timeout_s: float
    ) -> Answer | StreamAnswer:
        raise NotImplementedError

    def count_tokens(self, text: str) -> tuple[int, str]:
        """(tokens, source) for a text the upstream gave no usage for."""
        encoding = _openai_encoding(self.upstream_model)
        if encoding is not None:
            return int(encoding.count(text)), "tokenizer"
        return math.ceil(len(text) / 4), "estimate"

    async def close(self) -> None:
        pass


class HttpDeployment(DeploymentRuntime):
    """An OpenAI-compatible server: `fmops serve`, vLLM, OpenAI itself.

    Whole answers go through `_http.HttpPool` (keep-alive connections and httptools' parser: a quarter
    of aiohttp's CPU per request); streams, and everything when httptools is missing, through aiohttp
    (not httpx: its connection pool scans every connection for every request, which under a few hundred
    concurrent requests costs more CPU than the rest of the gateway).
    """

    provider = "openai"

    def __init__(
        self, name: str, upstream_model: str, base_url: str, api_key: str | None, client: Any
    ) -> None:
        super().__init__()
        self.name = name
        self.upstream_model = upstream_model
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        self.pool = _pool_or_none(self.base_url, self.headers)

    async def send(
        self, endpoint: str, body: dict[str, Any], stream: bool, timeout_s: float
    ) -> Answer | StreamAnswer:
        import aiohttp

        body["model"] = self.upstream_model
        content = dumps(body)
        if not stream and self.pool is not None:
            return await self._whole(endpoint, content, timeout_s)
        url = f"{self.base_url}/{endpoint}"
        # Whole answers must finish within the timeout; a stream must start within it and keep moving.
        timeout = (
            aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
            if stream
            else aiohttp.ClientTimeout(total=timeout_s)
        )
        try:
            response = await self.client.session().post(
                url, data=content, headers=self.headers, timeout=timeout
            )
            if not stream or response.status != 200:
                data = await response.read()
                response.release()
                return Answer(response.status, _json_or_error(data, response.status))
        except TimeoutError:
            return Answer(
                504, _error(f"the upstream {self.name} timed out after {timeout_s:g} s", "timeout"), "timeout"
            )
        except aiohttp.ClientError as exc:
            return Answer(
                502,
                _error(f"the upstream {self.name} is unreachable: {exc}", "upstream_error"),
                "connect_error",
            )

        async def close() -> None:
            response.release()

        return StreamAnswer(_chunks(response), close)

    async def _whole(self, endpoint: str, content: bytes, timeout_s: float) -> Answer:
        assert self.pool is not None
        try:
            async with asyncio.timeout(timeout_s):
                status, data = await self.pool.post(endpoint, content)
        except TimeoutError:
            return Answer(
                504, _error(f"the upstream {self.name} timed out after {timeout_s:g} s", "timeout"), "timeout"
            )
        except OSError as exc:  # refused, reset, closed, not HTTP
            return Answer(
                502,
                _error(f"the upstream {self.name} is unreachable: {exc}", "upstream_error"),
                "connect_error",
            )
        return Answer(status, _json_or_error(data, status))

    async def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _pool_or_none(base_url: str, headers: dict[str, str]) -> HttpPool | None:
    try:
        import httptools  # noqa: F401 - the parser HttpPool needs
    except ImportError:
        return None
    try:
        return HttpPool(base_url, headers)
    except ValueError:  # not http(s): left to aiohttp, which says what is wrong with it
        return None


async def _chunks(response: Any) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_any():
        yield chunk


class Sessions:
    """One aiohttp session per event loop (created on first use inside it), closed with the gateway."""

    def __init__(self) -> None:
        self._session: Any = None

    def session(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LocalDeployment(DeploymentRuntime):
    """Any fmops model in this process, answered by the serving layer (batching included)."""

    def __init__(self, name: str, service: Any) -> None:
        super().__init__()
        self.name = name
        self.service = service
        self.provider = service.model.api.provider
        self.upstream_model = service.model.api.model

    async def send(
        self, endpoint: str, body: dict[str, Any], stream: bool, timeout_s: float
    ) -> Answer | StreamAnswer:
        if endpoint == "embeddings":
            return Answer(400, _error(f"{self.name} does not compute embeddings", "invalid_request_error"))
        body["model"] = self.service.name
        raw = json.dumps(body).encode()
        call = self.service.chat if endpoint == "chat/completions" else self.service.completions
        try:
            async with asyncio.timeout(timeout_s):
                answer = await call(raw)
        except APIError as exc:
            return Answer(exc.status, exc.body(), exc.code)
        except TimeoutError:
            return Answer(504, _error(f"{self.name} timed out after {timeout_s:g} s", "timeout"), "timeout")
        if isinstance(answer, dict):
            return Answer(200, answer)
        return StreamAnswer(answer.body(), _nothing)

    def count_tokens(self, text: str) -> tuple[int, str]:
        counted = self.service.model.api.count_tokens([text])
        if counted is not None:
            return counted[0], "tokenizer"
        return super().count_tokens(text)

    async def close(self) -> None:
        await self.service.close()


async def _nothing() -> None:
    return None


@functools.lru_cache(maxsize=8)
def _openai_encoding(model: str) -> Any:
    """The bundled BPE (quicktok) of an OpenAI model family; None when unknown: we never guess silently."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")):
        encoding = "o200k_base"
    elif name.startswith(("gpt-4", "gpt-3.5", "text-embedding")):
        encoding = "cl100k_base"
    else:
        return None
    try:
        import quicktok

        return quicktok.get_encoding(encoding)
    except (ImportError, RuntimeError, KeyError, ValueError):
        return None


def _error(message: str, type_: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": None}}


def _json_or_error(data: bytes, status: int) -> dict[str, Any]:
    try:
        parsed = loads(data)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    text = data[:500].decode("utf-8", "replace")
    return _error(f"the upstream answered {status} with a body that is not JSON: {text}", "upstream_error")


def build_deployment(route: Route, index: int, deployment: Deployment, client: Any) -> DeploymentRuntime:
    from fmops.models import parse_model_spec

    spec = parse_model_spec(deployment.model, deployment.args)
    name = deployment.name or (f"{route.name}#{index}" if len(route.deployments) > 1 else route.name)
    args = dict(spec.args)
    if spec.provider == "openai" and (args.get("base_url") or os.environ.get("OPENAI_BASE_URL")):
        key = args.get("api_key")
        if key is None and args.get("api_key_env"):
            key = os.environ.get(str(args["api_key_env"]))
        base_url = str(args.get("base_url") or os.environ["OPENAI_BASE_URL"])
        return HttpDeployment(f"{name}:{spec.model}@{base_url}", spec.model, base_url, key, client)
    from fmops.serving import ServingService, load_model

    model = load_model(deployment.model, [f"{k}={_arg(v)}" for k, v in args.items()])
    return LocalDeployment(f"{name}:{deployment.model}", ServingService(model, served_name=route.name))


def _arg(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


@dataclass
class RouteRuntime:
    route: Route
    deployments: list[DeploymentRuntime]
    _ties: Any = field(default_factory=itertools.count)

    def pick(self, exclude: set[int]) -> tuple[int, DeploymentRuntime]:
        """The deployment with the fewest outstanding requests (ties: round robin), avoiding ones just tried."""
        n = len(self.deployments)
        start = next(self._ties) % n
        order = [(start + i) % n for i in range(n)]
        fresh = [i for i in order if i not in exclude] or order
        best = min(fresh, key=lambda i: self.deployments[i].outstanding)
        return best, self.deployments[best]


class Router:
    def __init__(self, routes: dict[str, RouteRuntime]) -> None:
        self.routes = routes

    async def call(self, name: str, endpoint: str, body: dict[str, Any], stream: bool) -> Outcome:
        """Send to `name`'s deployments (retries on other replicas), then to its fallbacks, in order."""
        first = self.routes[name]
        chain = [name, *first.route.fallbacks]
        retries = 0
        last: Outcome | None = None
        for position, route_name in enumerate(chain):
            runtime = self.routes[route_name]
            tried: set[int] = set()
            for _attempt in range(runtime.route.max_retries + 1):
                index, deployment = runtime.pick(tried)
                tried.add(index)
                deployment.outstanding += 1
                try:
                    answer = await deployment.send(endpoint, dict(body), stream, runtime.route.timeout_s)
                except BaseException:
                    deployment.outstanding -= 1
                    raise
                if not isinstance(answer, StreamAnswer):  # a stream holds its slot until it ends
                    deployment.outstanding -= 1
                outcome = Outcome(answer, deployment, route_name, retries, route_name if position else None)
                if isinstance(answer, StreamAnswer):
                    answer.close = _released(answer.close, deployment)
                    return outcome
                if answer.status not in RETRYABLE:
                    return outcome
                last = outcome
                retries += 1
        assert last is not None
        last.retries = retries - 1
        return last

    async def close(self) -> None:
        for runtime in self.routes.values():
            for d in runtime.deployments:
                await d.close()


def _released(
    close: Callable[[], Awaitable[None]], deployment: DeploymentRuntime
) -> Callable[[], Awaitable[None]]:
    done = False

    async def wrapped() -> None:
        nonlocal done
        if not done:
            done = True
            deployment.outstanding -= 1
        await close()

    return wrapped
