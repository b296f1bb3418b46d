"""Gateways on loopback: a config written for each test, keys, an official openai client, upstreams."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from fmops.gateway import Tenancy, build_gateway, load_gateway_config, open_gateway_database
from fmops.serving import BackgroundServer, create_app, load_model

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "FMOPS_STORE_URL", "FMOPS_MODELS", "FMOPS_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)


ECHO_PRICES = {"input_per_1k": 0.5, "output_per_1k": 1.5}


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(routes: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
        data = {"routes": routes or [{"name": "chat", "model": "echo/x", "prices": ECHO_PRICES}], **extra}
        path = tmp_path / f"gateway-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write


class Running:
    def __init__(self, server: BackgroundServer, config_path: Path) -> None:
        self.server = server
        self.config = load_gateway_config(config_path)
        self.tenancy = Tenancy(open_gateway_database(self.config), org=self.config.org)
        self.service = server._server.config.app.state.service

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def key(self, team: str = "research", **options: Any) -> str:
        return self.tenancy.create_key(team, **options).key

    def client(self, key: str) -> Any:
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0)

    def flush(self) -> None:
        import asyncio

        loop = self.server._server_loop
        asyncio.run_coroutine_threadsafe(self.service.ledger.flush(), loop).result(10)


GatewayFactory = Callable[..., AbstractContextManager[Running]]


@pytest.fixture
def gateway(write_config: Callable[..., Path]) -> GatewayFactory:
    """`with gateway(routes=[...], **config) as gw:` a gateway on loopback from a fresh config."""

    @contextmanager
    def make(routes: list[dict[str, Any]] | None = None, **extra: Any) -> Iterator[Running]:
        path = write_config(routes, **extra)
        app = build_gateway(load_gateway_config(path))
        server = _LoopServer(app)
        with server:
            yield Running(server, path)

    return make


class _LoopServer(BackgroundServer):
    """A BackgroundServer that remembers its event loop (tests flush the ledger on it)."""

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        import asyncio

        original = self._server.startup

        async def startup(*args: Any, **kwargs: Any) -> None:
            self._server_loop = asyncio.get_running_loop()
            await original(*args, **kwargs)

        self._server.startup = startup  # type: ignore[method-assign]
        return super().start(timeout)


@pytest.fixture
def upstream() -> Callable[..., AbstractContextManager[BackgroundServer]]:
    """`fmops serve` of echo/e as `e`: a real OpenAI-compatible upstream on loopback."""

    @contextmanager
    def make(args: list[str] | None = None) -> Iterator[BackgroundServer]:
        model = load_model("echo/e", args or [])
        with BackgroundServer(create_app(model, served_name="e")) as server:
            yield server

    return make


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    schema = f"gw_{uuid.uuid4().hex[:10]}"
    yield f"{PG_URL}?schema={schema}"
    from fmops.store._database import _engines

    for url in [u for u in _engines if schema in u]:
        _engines.pop(url).dispose()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of its own; its keys are deleted afterwards."""
    import redis

    prefix = f"fmops:test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


class RecordingUpstream:
    """An OpenAI-compatible upstream on loopback that keeps every body it receives (chat, completions,
    embeddings with float or base64 vectors), answers with fixed texts and usage."""

    VECTOR: ClassVar[list[float]] = [0.25, -0.5, 1.0]

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def answer(request: Request) -> JSONResponse:
            endpoint = request.url.path.removeprefix("/v1/")
            body = await request.json()
            self.received.append((endpoint, body))
            usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
            if endpoint == "embeddings":
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                return JSONResponse(
                    {
                        "object": "list",
                        "model": body["model"],
                        "data": [
                            {"object": "embedding", "index": i, "embedding": self._vector(body)}
                            for i in range(len(inputs))
                        ],
                        "usage": {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)},
                    }
                )
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if endpoint == "chat/completions":
                choice["message"] = {"role": "assistant", "content": "noted"}
            else:
                choice["text"] = "noted"
            return JSONResponse(
                {
                    "id": f"up-{len(self.received)}",
                    "object": "chat.completion" if endpoint == "chat/completions" else "text_completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [choice],
                    "usage": usage,
                }
            )

        paths = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
        return Starlette(routes=[Route(p, answer, methods=["POST"]) for p in paths])

    def _vector(self, body: dict[str, Any]) -> Any:
        if body.get("encoding_format") == "base64":  # what the openai client asks for by default
            import base64
            import struct

            return base64.b64encode(struct.pack(f"<{len(self.VECTOR)}f", *self.VECTOR)).decode()
        return self.VECTOR


@pytest.fixture
def recording_upstream() -> Iterator[tuple[RecordingUpstream, BackgroundServer]]:
    upstream = RecordingUpstream()
    with BackgroundServer(upstream.app()) as server:
        yield upstream, server
