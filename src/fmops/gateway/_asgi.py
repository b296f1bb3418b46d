"""The gateway's front door: the /v1 generation routes answered in raw ASGI, everything else by FastAPI.

FastAPI's routing, dependency solving and response classes cost more CPU per request than the rest of
the gateway's work on a whole answer; the three hot routes only move bytes in and out of
`GatewayService.handle`, so they skip it. They stay declared on the FastAPI app, which documents them in
the OpenAPI spec (schemathesis fuzzes that spec against this front door) and answers any method or path
this class does not take. Streams still go through Starlette's `StreamingResponse`, which watches for the
client going away.
"""

from __future__ import annotations

import logging
from typing import Any

from fmops.core.errors import FmopsError
from fmops.gateway._json import dumps
from fmops.serving import APIError, error_body

log = logging.getLogger("fmops.gateway")

HOT_ROUTES = {
    "/v1/chat/completions": "chat/completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_JSON = (b"content-type", b"application/json")


class GatewayASGI:
    """An ASGI app in front of the FastAPI one; attributes (state, openapi...) are the FastAPI app's."""

    def __init__(self, app: Any, service: Any, max_body: int, max_headers: int) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body
        self.max_headers = max_headers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _header_bytes(scope) > self.max_headers:
            # uvicorn's httptools parser has no limit of its own (h11's is set by run_gateway).
            error = APIError(
                431, f"the request headers are over {self.max_headers} bytes", code="headers_too_large"
            )
            await _send_json(send, 431, dumps(error.body()), {})
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = HOT_ROUTES.get(scope["path"])
            if endpoint is not None:
                await self._generate(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _generate(self, endpoint: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        authorization = end_user = declared = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
            elif name == b"x-fmops-end-user":
                end_user = value.decode("latin-1")
        try:
            raw = await self._body(receive, declared)
            if raw is None:  # the client went away before sending its body
                return
            reply = await self.service.handle(endpoint, raw, authorization, end_user)
        except APIError as exc:
            await _send_json(send, exc.status, dumps(exc.body()), exc.headers)
            return
        except FmopsError as exc:
            status = 400 if exc.exit_code == 2 else 500
            await _send_json(send, status, dumps(APIError(status, str(exc)).body()), {})
            return
        except Exception as exc:  # a bug costs one request, not the server; the client sees what
            log.exception("gateway request failed")
            body = error_body(f"internal error: {type(exc).__name__}: {exc}", type="server_error")
            await _send_json(send, 500, dumps(body), {})
            return
        if reply.stream is not None:
            from starlette.responses import StreamingResponse

            response = StreamingResponse(
                reply.stream,
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-accel-buffering": "no", **reply.headers},
            )
            await response(scope, receive, send)
            return
        await _send_json(send, reply.status, reply.body or b"", reply.headers)

    async def _body(self, receive: Any, declared: bytes | None) -> bytes | None:
        """The body, or a 413 as soon as it is known to be over the limit (declared or streamed)."""
        limit = self.max_body
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise APIError(413, f"the request body is over {limit} bytes", code="body_too_large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise APIError(413, f"the request body is over {limit} bytes", code="body_too_large")
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _header_bytes(scope: dict[str, Any]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"])


async def _send_json(send: Any, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw_headers = [_JSON, (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
