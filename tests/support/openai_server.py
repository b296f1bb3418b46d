"""A small OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It speaks enough of the real protocol for the official `openai` client: `GET /v1/models`,
`POST /v1/chat/completions` and `POST /v1/completions` (streaming, `logprobs`, `echo`, `usage`).
Answers are deterministic: the reply to a prompt (or the last user turn) is `"Echo: " + text`, cut at
`max_tokens` tokens and at stop strings. A token is a run of non-spaces with its leading spaces, and its
log-probability is a fixed function of its text (`token_logprob`).

Faults are injectable per request (`add_fault`): an HTTP status (429 with Retry-After, 503, 500...),
a malformed body, a dropped connection, a truncated body, extra latency, a slow stream.

In-process use (the server runs on its own event loop in a daemon thread, on a free port)::

    with OpenAITestServer(latency=0.1) as server:
        server.add_fault("status", status=429, retry_after=0.2, times=1)
        ... base_url=server.base_url ...
        assert server.call_count == 3

Out of process (for honest throughput figures): `python tests/support/openai_server.py --latency 0.1`
prints `PORT <n>` and serves until killed; `GET /_stats` returns the counts, `POST /_reset` clears them,
`POST /_faults` adds a fault (JSON with `add_fault`'s arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "malformed", "drop", "truncate", "delay", "slow_stream"]
MODEL_PATHS = ("/v1/chat/completions", "/v1/completions")
_TOKEN = re.compile(r"\s*\S+")


def tokenize(text: str) -> list[str]:
    """The server's tokens: each run of non-spaces with the spaces before it."""
    return _TOKEN.findall(text)


def token_logprob(token: str) -> float:
    """A fixed, made-up log-probability in [-1.01, -0.01] per token text."""
    return -0.01 - (zlib.crc32(token.strip().encode("utf-8")) % 1000) / 1000


def reply_to(text: str) -> str:
    """What the server answers to a prompt or a last user turn."""
    return "Echo: " + text


@dataclass
class Fault:
    """What to do to matching model calls. `times=None`: every matching call; else the next N of them."""

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    #: Only calls whose prompt (or any message) contains this text.
    match: str | None = None
    #: Only this endpoint ("/v1/chat/completions" or "/v1/completions").
    path: str | None = None
    times: int | None = None
    hits: int = 0

    def matches(self, path: str, text: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.path is not None and self.path != path:
            return False
        return self.match is None or self.match in text


@dataclass
class Call:
    """One model call as the server saw it."""

    path: str
    body: dict[str, Any]
    at: float
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return _request_text(self.body)


def _request_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else json.dumps(prompt)


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class OpenAITestServer:
    """See the module docstring. Thread-safe: tests read counts while the server runs."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        models: tuple[str, ...] = ("test-model",),
        usage: bool = True,
        stream_chunk_delay: float = 0.0,
        api_key: str | None = None,
    ) -> None:
        self.latency = latency
        self.host = host
        self.port = port
        self.models = models
        #: Report `usage` in responses (turn off to test token counting fallbacks).
        self.usage = usage
        self.stream_chunk_delay = stream_chunk_delay
        self.api_key = api_key
        self._faults: list[Fault] = []
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._in_flight = 0
        #: The most model calls the server was answering at once (in its own event loop).
        self.peak_in_flight = 0

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> OpenAITestServer:
        self._thread = threading.Thread(target=self._run, name="openai-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = self._thread = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port, backlog=1024, reuse_address=True)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    async def serve_forever(self) -> None:
        """Run on the current loop (the out-of-process mode)."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, backlog=1024, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        print(f"PORT {self.port}", flush=True)
        async with self._server:
            await self._server.serve_forever()

    # -- control ------------------------------------------------------------------------------
    def add_fault(self, kind: FaultKind, **options: Any) -> Fault:
        """Inject a fault; see `Fault` for the options. Faults are checked in the order they were added."""
        fault = Fault(kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget calls and faults."""
        with self._lock:
            self._faults.clear()
            self._calls.clear()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def call_count(self) -> int:
        with self._lock:
            return len(self._calls)

    def calls_for(self, text: str) -> int:
        """How many calls carried `text` in their prompt or messages."""
        return sum(1 for c in self.calls if text in c.text)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": len(self._calls),
                "faulted": sum(1 for c in self._calls if c.fault),
                "by_path": {p: sum(1 for c in self._calls if c.path == p) for p in MODEL_PATHS},
            }

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, headers, body = request
                keep = await self._respond(writer, method, path, headers, body)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(
        self, writer: asyncio.StreamWriter, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> bool:
        """Write one response; False closes the connection."""
        path = path.split("?", 1)[0]
        try:
            if path == "/_stats" and method == "GET":
                return await _send_json(writer, 200, self.stats())
            if path == "/_reset" and method == "POST":
                self.reset()
                return await _send_json(writer, 200, {"ok": True})
            if path == "/_faults" and method == "POST":
                fault = self.add_fault(**json.loads(raw or b"{}"))
                return await _send_json(writer, 200, asdict(fault))
            if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
                raise _HTTPError(401, "Incorrect API key provided")
            if path == "/v1/models" and method == "GET":
                data = [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fmops-tests"} for m in self.models
                ]
                return await _send_json(writer, 200, {"object": "list", "data": data})
            if path not in MODEL_PATHS or method != "POST":
                raise _HTTPError(404, f"no route for {method} {path}")
            try:
                body = json.loads(raw)
            except ValueError:
                raise _HTTPError(400, "the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _HTTPError(400, "the body must be a JSON object")
            # Counted here, not from arrival times: concurrency checks must not depend on a clock.
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            try:
                return await self._model_call(writer, path, body, headers)
            finally:
                self._in_flight -= 1
        except _HTTPError as exc:
            payload = {"error": {"message": exc.message, "type": "invalid_request_error", "code": exc.status}}
            return await _send_json(writer, exc.status, payload, exc.headers)

    async def _model_call(
        self, writer: asyncio.StreamWriter, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> bool:
        text = _request_text(body)
        with self._lock:
            fault = next((f for f in self._faults if f.matches(path, text)), None)
            if fault is not None:
                fault.hits += 1
            self._calls.append(Call(path, body, time.time(), fault.kind if fault else None, headers))
        delay = self.latency + (fault.delay if fault is not None and fault.kind == "delay" else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            if fault.kind == "status":
                extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                raise _HTTPError(fault.status, f"injected error {fault.status}", extra)
            if fault.kind == "drop":
                writer.transport.abort()
                return False
            if fault.kind == "malformed":
                return await _send_raw(
                    writer, 200, b'{"id": "cmpl-broken", "choices": [{"mess', "application/json"
                )
            if fault.kind == "truncate":
                head = _head(200, {"Content-Type": "application/json", "Content-Length": "4096"})
                writer.write(head + b'{"id": "cmpl-cut", "choices"')
                await writer.drain()
                writer.transport.abort()
                return False
        model = body.get("model")
        if not model:
            raise _HTTPError(400, "you must provide a model parameter")
        chat = path == "/v1/chat/completions"
        if chat and not body.get("messages"):
            raise _HTTPError(400, "`messages` is required")
        if not chat and "prompt" not in body:
            raise _HTTPError(400, "`prompt` is required")
        result = _compute(body, chat)
        if body.get("stream"):
            chunk_delay = self.stream_chunk_delay
            if fault is not None and fault.kind == "slow_stream":
                chunk_delay = fault.delay
            return await self._stream(writer, body, result, chat, chunk_delay)
        return await _send_json(writer, 200, self._full_response(body, result, chat))

    def _full_response(self, body: dict[str, Any], r: _Result, chat: bool) -> dict[str, Any]:
        created = int(time.time())
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": r.text, "refusal": None},
                "finish_reason": r.finish_reason,
                "logprobs": None,
            }
            if body.get("logprobs"):
                choice["logprobs"] = {"content": [_chat_lp(t) for t in r.tokens], "refusal": None}
            out = {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": created,
                "model": body["model"],
                "choices": [choice],
            }
        else:
            choice = {"index": 0, "text": r.text, "finish_reason": r.finish_reason, "logprobs": None}
            if body.get("logprobs") is not None:
                choice["logprobs"] = r.completion_logprobs()
            if body.get("echo"):
                choice["text"] = r.prompt + r.text
            out = {
                "id": "cmpl-test",
                "object": "text_completion",
                "created": created,
                "model": body["model"],
                "choices": [choice],
            }
        if self.usage:
            out["usage"] = r.usage()
        return out

    async def _stream(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], r: _Result, chat: bool, delay: float
    ) -> bool:
        writer.write(
            _head(
                200,
                {
                    "Content-Type": "text/event-stream",
                    "Transfer-Encoding": "chunked",
                    "Cache-Control": "no-cache",
                },
            )
        )
        base = {
            "id": "chatcmpl-test" if chat else "cmpl-test",
            "created": int(time.time()),
            "model": body["model"],
        }
        kind = "chat.completion.chunk" if chat else "text_completion"

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            line = f"data: {data}\n\n".encode()
            writer.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            await writer.drain()

        if chat:
            await event(
                {
                    **base,
                    "object": kind,
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    ],
                }
            )
        for i, token in enumerate(r.tokens):
            if delay and i:
                await asyncio.sleep(delay)
            if chat:
                choice: dict[str, Any] = {"index": 0, "delta": {"content": token}, "finish_reason": None}
                if body.get("logprobs"):
                    choice["logprobs"] = {"content": [_chat_lp(token)]}
            else:
                choice = {"index": 0, "text": token, "finish_reason": None, "logprobs": None}
                if body.get("logprobs") is not None:
                    choice["logprobs"] = {
                        "tokens": [token],
                        "token_logprobs": [token_logprob(token)],
                        "top_logprobs": [{token: token_logprob(token)}],
                    }
            await event({**base, "object": kind, "choices": [choice]})
        last = {"index": 0, "finish_reason": r.finish_reason, **({"delta": {}} if chat else {"text": ""})}
        await event({**base, "object": kind, "choices": [last]})
        if self.usage and (body.get("stream_options") or {}).get("include_usage"):
            await event({**base, "object": kind, "choices": [], "usage": r.usage()})
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


@dataclass
class _Result:
    """One computed answer: the prompt's tokens and the output's."""

    prompt: str
    prompt_tokens: list[str]
    tokens: list[str]
    finish_reason: str
    echo: bool = False

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def usage(self) -> dict[str, int]:
        n_in, n_out = len(self.prompt_tokens), len(self.tokens)
        return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}

    def completion_logprobs(self) -> dict[str, Any]:
        """Legacy completions `logprobs`; with echo the prompt comes first and its first token has none."""
        out = _completion_lp(self.tokens, len(self.prompt))
        if not self.echo:
            return out
        head = _completion_lp(self.prompt_tokens, 0)
        if self.prompt_tokens:
            head["token_logprobs"][0] = None
            head["top_logprobs"][0] = None
        return {k: head[k] + out[k] for k in out}


def _compute(body: dict[str, Any], chat: bool) -> _Result:
    if chat:
        messages = body["messages"]
        users = [m for m in messages if m.get("role") == "user"] or messages
        source = str(users[-1].get("content", ""))
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
    else:
        prompt = body["prompt"] if isinstance(body["prompt"], str) else json.dumps(body["prompt"])
        source = prompt
    answer = reply_to(source)
    finish = "stop"
    stops = body.get("stop") or []
    for stop in [stops] if isinstance(stops, str) else stops:
        cut = answer.find(stop)
        if cut >= 0:
            answer = answer[:cut]
    tokens = tokenize(answer)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and len(tokens) > int(limit):
        tokens, finish = tokens[: int(limit)], "length"
    return _Result(prompt, tokenize(prompt), tokens, finish, echo=not chat and bool(body.get("echo")))


def _completion_lp(tokens: list[str], offset: int) -> dict[str, Any]:
    offsets, pos = [], offset
    for tok in tokens:
        offsets.append(pos)
        pos += len(tok)
    values = [token_logprob(t) for t in tokens]
    return {
        "tokens": list(tokens),
        "token_logprobs": values,
        "top_logprobs": [{t: v} for t, v in zip(tokens, values, strict=True)],
        "text_offset": offsets,
    }


def _chat_lp(token: str) -> dict[str, Any]:
    value = token_logprob(token)
    raw = list(token.encode("utf-8"))
    return {"token": token, "logprob": value, "bytes": raw, "top_logprobs": []}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return method, path, headers, body


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"] + [
        f"{k}: {v}" for k, v in headers.items()
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_raw(
    writer: asyncio.StreamWriter,
    status: int,
    payload: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> bool:
    headers = {"Content-Type": content_type, "Content-Length": str(len(payload)), **(extra or {})}
    writer.write(_head(status, headers) + payload)
    await writer.drain()
    return True


async def _send_json(
    writer: asyncio.StreamWriter, status: int, data: Any, extra: dict[str, str] | None = None
) -> bool:
    return await _send_raw(writer, status, json.dumps(data).encode("utf-8"), "application/json", extra)


def iter_sse(text: str) -> Iterator[dict[str, Any]]:
    """Parse an SSE body the way a client would (helper for tests that read raw streams)."""
    for line in text.splitlines():
        if line.startswith("data: ") and line[6:] != "[DONE]":
            yield json.loads(line[6:])


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpenAI-compatible test server on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--stream-chunk-delay", type=float, default=0.0)
    args = parser.parse_args()
    server = OpenAITestServer(
        latency=args.latency, port=args.port, stream_chunk_delay=args.stream_chunk_delay
    )
    asyncio.run(server.serve_forever())


if __name__ == "__main__":
    main()
