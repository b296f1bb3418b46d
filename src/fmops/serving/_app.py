"""The FastAPI app: routes, OpenAI-shaped errors for everything (never FastAPI's 422), a body size cap.

fastapi is imported inside `create_app`, so `fmops --help` stays fast. No `from __future__ import
annotations` here: FastAPI must see the real `Request` class in the route signatures, which are local.
"""

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fmops.core.errors import MissingDependencyError
from fmops.models import Model
from fmops.serving._errors import APIError, error_body
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
        from starlette.exceptions import HTTPException
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

    def error(exc: APIError) -> Any:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> Any:
        return error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Any:
        return error(validation_error(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Any:
        if exc.status_code == 404:
            message = f"unknown route {request.method} {request.url.path}: see /v1/models, /v1/chat/completions, /v1/completions, /health"
        else:
            message = str(exc.detail)
        return JSONResponse(
            error_body(message, type="invalid_request_error" if exc.status_code < 500 else "server_error"),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Any:
        # A bug must cost one request, not the server; the client sees what went wrong.
        return JSONResponse(
            error_body(f"internal error: {type(exc).__name__}: {exc}", type="server_error"), status_code=500
        )

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise APIError(413, f"the request body is over {MAX_BODY_BYTES} bytes", code="body_too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise APIError(413, f"the request body is over {MAX_BODY_BYTES} bytes", code="body_too_large")
            chunks.append(chunk)
        return b"".join(chunks)

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
