"""The FastAPI app: routes, OpenAI-shaped errors for everything (never FastAPI's 422), a body size cap.

fastapi is imported inside `create_app`, so `fmops --help` stays fast. No `from __future__ import
annotations` here: FastAPI must see the real `Request` class in the route signatures, which are local.
"""

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fmops.core.errors import MissingDependencyError
from fmops.models import Model
from fmops.serving._errors import install_error_handlers, read_bounded_body
from fmops.serving._schemas import validation_error
from fmops.serving._service import ServingService, Stream

#: Bodies larger than this are refused (413) before parsing: a prompt this long fits no local model.
MAX_BODY_BYTES = 16 * 1024 * 1024


def create_app(
    model: Model,
    *,
    served_name: str | None = None,
    aliases: Sequence[str] = (),
    max_batch_size: int | None = None,
    batch_wait_ms: float = 5.0,
    max_queue: int = 256,
    context_window: int | None = None,
) -> Any:
    """An ASGI app serving `model` with OpenAI's API; see `fmops.serving` for the endpoints.

    `served_name` is the `model` clients send (default: the model's spec; the spec is always accepted
    too). `max_batch_size` defaults to the provider's batch size; `context_window` to what the model's
    config says (None: unknown, prompts are not checked).
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, StreamingResponse
    except ImportError:
        raise MissingDependencyError("fastapi", "serve", "Serving a model") from None

    service = ServingService(
        model,
        served_name=served_name,
        aliases=aliases,
        max_batch_size=max_batch_size,
        batch_wait_ms=batch_wait_ms,
        max_queue=max_queue,
        context_window=context_window,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        await service.close()

    app = FastAPI(
        title="fmops serve",
        summary=f"OpenAI-compatible API for {service.name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service

    install_error_handlers(
        app, unknown_route_hint=": see /v1/models, /v1/chat/completions, /v1/completions, /health"
    )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Any:
        error = validation_error(exc)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    async def read_body(request: Request) -> bytes:
        return await read_bounded_body(request, MAX_BODY_BYTES)

    def respond(answer: dict[str, Any] | Stream) -> Any:
        if isinstance(answer, Stream):
            return StreamingResponse(
                answer.body(),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return JSONResponse(answer)

    @app.get("/health")
    async def health() -> Any:
        return JSONResponse(service.health())

    @app.get("/v1/models")
    async def models() -> Any:
        return JSONResponse(service.models())

    @app.get("/v1/models/{model_id:path}")
    async def model_card(model_id: str) -> Any:
        service.check_model(model_id)
        return JSONResponse(service.model_card())

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        return respond(await service.chat(await read_body(request)))

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return respond(await service.completions(await read_body(request)))

    return app
