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
