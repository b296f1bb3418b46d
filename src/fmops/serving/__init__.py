"""`fmops serve`: any fmops model behind an OpenAI-compatible HTTP API, with dynamic batching.

    from fmops.serving import BackgroundServer, create_app, load_model

    model = load_model("zoo/tiny", max_batch_size=16)
    with BackgroundServer(create_app(model, served_name="tiny")) as server:
        ...  # openai.OpenAI(base_url=server.base_url, api_key="unused"), or
        ...  # get_model("openai/tiny", [f"base_url={server.base_url}"])

Endpoints: `POST /v1/chat/completions`, `POST /v1/completions` (with `echo` + `logprobs` for prompt
scoring, as fmops's own openai provider scores), both streaming as SSE; `GET /v1/models`, `GET /health`.
Every answer carries `usage`; every error is OpenAI's `{"error": {message, type, param, code}}` (400 bad
input, 404 unknown model or route, 413 body too large, 500 model failure, 503 queue full).

Concurrent requests are batched (`DynamicBatcher`): up to `max_batch_size` rows with the same decoding
parameters, collected for at most `batch_wait_ms`, go to the model as one `generate`/`score` call.
fastapi and uvicorn are imported only when an app is built or run, and the package's parts only when a
name is first used (`import fmops.serving` stays cheap for the CLI, which mounts `serve_command`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fmops.serving._app import create_app
    from fmops.serving._batcher import (
        BatcherClosedError,
        BatchStats,
        DynamicBatcher,
        QueueFullError,
        batch_key,
    )
    from fmops.serving._command import serve_command
    from fmops.serving._errors import APIError, error_body, install_error_handlers, read_bounded_body
    from fmops.serving._server import BackgroundServer, load_model, run_server, warm_up
    from fmops.serving._service import ServingService

_WHERE = {
    "create_app": "_app",
    "BatcherClosedError": "_batcher",
    "BatchStats": "_batcher",
    "DynamicBatcher": "_batcher",
    "QueueFullError": "_batcher",
    "batch_key": "_batcher",
    "serve_command": "_command",
    "APIError": "_errors",
    "error_body": "_errors",
    "install_error_handlers": "_errors",
    "read_bounded_body": "_errors",
    "BackgroundServer": "_server",
    "load_model": "_server",
    "run_server": "_server",
    "warm_up": "_server",
    "ServingService": "_service",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once imported, an ordinary attribute (monkeypatch-able)
    return value


__all__ = [
    "APIError",
    "BackgroundServer",
    "BatchStats",
    "BatcherClosedError",
    "DynamicBatcher",
    "QueueFullError",
    "ServingService",
    "batch_key",
    "create_app",
    "error_body",
    "install_error_handlers",
    "load_model",
    "read_bounded_body",
    "run_server",
    "serve_command",
    "warm_up",
]
