"""The lean HTTP/1.1 client for whole answers: keep-alive, chunked and close-delimited bodies, a stale
connection retried once, timeouts and refusals turned into OpenAI-shaped 504/502 answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

pytest.importorskip("httptools")

from fmops.gateway._http import HttpPool
from fmops.gateway._upstream import HttpDeployment

OK = b'{"ok": true}'


class Server:
    """A loopback server answering each request with `reply(n)` (n counts requests); records connections."""

    def __init__(self, reply: Callable[[int], bytes | None], close_after: bool = False) -> None:
        self.reply = reply
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.startswith(b"content-length")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.reply(len(self.requests))
                if answer is None:  # never answer
                    await asyncio.sleep(3600)
                if not answer:  # drop the connection without answering
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aexit__(self, *_: object) -> None:
        self.server.close()


def _length(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


def test_keep_alive_chunked_and_close_delimited_bodies() -> None:
    async def run() -> None:
        chunked = b'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"ok"\r\n7\r\n: true}\r\n0\r\n\r\n'
        replies = {1: _length(OK), 2: chunked, 3: _length(OK)}
        server = Server(lambda n: replies[n])
        async with server as base_url:
            pool = HttpPool(base_url, {"authorization": "Bearer k"})
            assert await pool.post("chat/completions", b"{}") == (200, OK)
            assert await pool.post("chat/completions", b"{}") == (201, OK)
            assert await pool.post("completions", b"{}") == (200, OK)
            pool.close()
        assert server.connections == pool.opened == 1  # one connection, kept alive
        first = server.requests[0]
        assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert b"authorization: Bearer k\r\n" in first and first.endswith(b"\r\n\r\n{}")

        # No length, no chunks: the body ends when the server closes; that connection is not reused.
        closing = Server(lambda n: b"HTTP/1.0 200 OK\r\n\r\n" + OK, close_after=True)
        async with closing as base_url:
            pool = HttpPool(base_url, {})
            assert await pool.post("x", b"{}") == (200, OK)
            assert await pool.post("x", b"{}") == (200, OK)
            pool.close()
        assert closing.connections == pool.opened == 2

    asyncio.run(run())


def test_a_kept_connection_the_server_closed_is_replaced_once() -> None:
    async def run() -> None:
        # The second request meets a connection the server drops without answering (as a server closing
        # an idle keep-alive connection at that very moment does): sent again on a new one.
        server = Server(lambda n: b"" if n == 2 else _length(OK))
        async with server as base_url:
            pool = HttpPool(base_url, {})
            assert await pool.post("x", b"{}") == (200, OK)
            assert await pool.post("x", b"{}") == (200, OK)
            pool.close()
        assert server.connections == pool.opened == 2 and len(server.requests) == 3

    asyncio.run(run())


def test_timeouts_and_refusals_are_openai_shaped_answers() -> None:
    async def run() -> None:
        async with Server(lambda n: None) as base_url:  # accepts, never answers
            deployment = HttpDeployment("slow", "m", base_url, None, client=None)
            answer = await deployment.send("chat/completions", {"model": "x"}, False, 0.2)
            assert answer.status == 504 and answer.error_type == "timeout"
            assert "timed out after 0.2 s" in answer.body["error"]["message"]
            await deployment.close()
        refused = HttpDeployment("gone", "m", base_url, None, client=None)  # the server is gone now
        answer = await refused.send("chat/completions", {"model": "x"}, False, 5)
        assert answer.status == 502 and answer.error_type == "connect_error"

    asyncio.run(run())
