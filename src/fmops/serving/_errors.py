"""Errors in OpenAI's JSON shape, so every OpenAI client raises the exception its users expect."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An HTTP error the server answers with `{"error": {"message", "type", "param", "code"}}`.

    The status picks the client's exception (400 BadRequestError, 404 NotFoundError, 503
    InternalServerError...); `code` lets callers branch without parsing the message.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or ("invalid_request_error" if status < 500 else "server_error")
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The error object OpenAI's API returns (all four keys present, null when unknown)."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def overloaded(
    message: str = "the server is overloaded: its request queue is full; retry shortly",
) -> APIError:
    return APIError(503, message, code="overloaded", headers={"Retry-After": "1"})


def install_error_handlers(app: Any, *, unknown_route_hint: str = "") -> None:
    """Answer `APIError`, unknown routes and unexpected exceptions of a FastAPI app in OpenAI's shape.

    Shared by `fmops serve` and the gateway; each adds its own request-validation handler.
    """
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import (
        HTTPException,  # the routers' 404s are starlette's, not fastapi's subclass
    )

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> Any:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Any:
        if exc.status_code == 404:
            message = f"unknown route {request.method} {request.url.path}{unknown_route_hint}"
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


async def read_bounded_body(request: Any, max_bytes: int) -> bytes:
    """The request body, or a 413 as soon as it is known to be over `max_bytes` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise APIError(413, f"the request body is over {max_bytes} bytes", code="body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise APIError(413, f"the request body is over {max_bytes} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
