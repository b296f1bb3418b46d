"""The HTTP face with raw requests: OpenAI's error shape everywhere, SSE framing, overload, resilience."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from fmops.serving import BackgroundServer
from tests.serving.conftest import ServerFactory
from tests.support.openai_server import iter_sse


def _assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def test_models_health_and_usage_in_every_answer(echo_server: ServerFactory) -> None:
    with echo_server() as server, httpx.Client(base_url=server.root) as http:
        assert http.get("/health").json()["status"] == "ok"
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["e"]
        assert http.get("/v1/models/e").json()["id"] == "e"
        _assert_error(http.get("/v1/models/other"), 404, "model_not_found")
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "e", "messages": [{"role": "user", "content": "one two three"}]},
        ).json()
        assert chat["object"] == "chat.completion"
        assert chat["choices"][0]["message"] == {
            "role": "assistant",
            "content": "one two three",
            "refusal": None,
        }
        assert chat["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        # The spec the model was loaded from is accepted as a name too; list prompts give one choice each.
        done = http.post("/v1/completions", json={"model": "echo/e", "prompt": ["a b", "c"], "n": 2}).json()
        assert [c["text"] for c in done["choices"]] == ["a b", "a b", "c", "c"]
        assert [c["index"] for c in done["choices"]] == [0, 1, 2, 3]
        assert done["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}


def test_streams_are_server_sent_events_ending_with_done(echo_server: ServerFactory) -> None:
    with echo_server() as server, httpx.Client(base_url=server.root) as http:
        body = {"model": "e", "prompt": "alpha beta gamma", "stream": True, "logprobs": 1}
        raw = http.post("/v1/completions", json={**body, "stream_options": {"include_usage": True}})
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.text.rstrip().endswith("data: [DONE]")
        chunks = list(iter_sse(raw.text))
        assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "alpha beta gamma"
        lps = [c["choices"][0]["logprobs"] for c in chunks if c["choices"] and c["choices"][0]["logprobs"]]
        assert [lp["tokens"][0] for lp in lps] == ["alpha", " beta", " gamma"]
        assert [lp["text_offset"][0] for lp in lps] == [0, 5, 10]
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
        assert all(c["usage"] is None for c in chunks[:-1])
        # Without include_usage, no usage chunk (as OpenAI does).
        plain = list(iter_sse(http.post("/v1/completions", json=body).text))
        assert all("usage" not in c for c in plain)

        chat = http.post(
            "/v1/chat/completions",
            json={"model": "e", "messages": [{"role": "user", "content": "x y"}], "stream": True},
        )
        chunks = list(iter_sse(chat.text))
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "x y"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


GARBAGE: list[tuple[str, str, bytes | None]] = [
    ("POST", "/v1/completions", b"{"),
    ("POST", "/v1/completions", b""),
    ("POST", "/v1/completions", b"\xff\xfe\x00garbage"),
    ("POST", "/v1/completions", b"[1, 2, 3]"),
    ("POST", "/v1/completions", b'"just a string"'),
    ("POST", "/v1/completions", b"null"),
    ("POST", "/v1/completions", b'{"prompt": "no model"}'),
    ("POST", "/v1/completions", b'{"model": "e"}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": 12}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": [[1, 2]]}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": []}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "max_tokens": -5}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "max_tokens": "many"}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "temperature": NaN}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "temperature": 1e999}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "top_p": 0}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "n": 1000}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "logprobs": 99}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "stop": [""]}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "seed": 1e400}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "best_of": 3}'),
    ("POST", "/v1/completions", b'{"model": "e", "prompt": "x", "stream_options": 7}'),
    ("POST", "/v1/completions", b'{"model": "nope", "prompt": "x"}'),
    ("POST", "/v1/completions", b"[" * 100_000 + b"]" * 100_000),
    ("POST", "/v1/chat/completions", b'{"model": "e", "messages": "hi"}'),
    ("POST", "/v1/chat/completions", b'{"model": "e", "messages": []}'),
    ("POST", "/v1/chat/completions", b'{"model": "e", "messages": [{"content": "no role"}]}'),
    ("POST", "/v1/chat/completions", b'{"model": "e", "messages": [{"role": "robot", "content": "x"}]}'),
    ("POST", "/v1/chat/completions", b'{"model": "e", "messages": [{"role": "user", "content": 5}]}'),
    (
        "POST",
        "/v1/chat/completions",
        b'{"model": "e", "messages": [{"role": "user", "content": "x"}], "tools": [{}]}',
    ),
    (
        "POST",
        "/v1/chat/completions",
        b'{"model": "e", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 5}}',
    ),
    ("GET", "/v1/chat/completions", None),
    ("POST", "/v1/embeddings", b"{}"),
    ("DELETE", "/health", None),
]


def test_a_burst_of_garbage_gets_openai_errors_and_the_server_stays_up(echo_server: ServerFactory) -> None:
    async def burst(root: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=root, timeout=30) as http:
            return await asyncio.gather(*(http.request(m, p, content=b) for m, p, b in GARBAGE))

    with echo_server() as server:
        responses = asyncio.run(burst(server.root))
        for (_, path, body), response in zip(GARBAGE, responses, strict=True):
            assert response.status_code in (400, 404, 405), (path, body[:60] if body else None, response.text)
            _assert_error(response, response.status_code)
        statuses = [r.status_code for r in responses]
        assert 422 not in statuses
        assert (
            statuses[GARBAGE.index(("POST", "/v1/completions", b'{"model": "nope", "prompt": "x"}'))] == 404
        )
        # A good request right after is answered.
        good = httpx.post(server.base_url + "/completions", json={"model": "e", "prompt": "still here"})
        assert good.status_code == 200 and good.json()["choices"][0]["text"] == "still here"


def test_validation_errors_name_the_field(echo_server: ServerFactory) -> None:
    with echo_server() as server, httpx.Client(base_url=server.base_url) as http:
        missing = _assert_error(http.post("/completions", json={"model": "e"}), 400)
        assert missing["param"] == "prompt" and "required" in missing["message"]
        wrong = _assert_error(
            http.post("/completions", json={"model": "e", "prompt": "x", "max_tokens": -1}), 400
        )
        assert wrong["param"] == "max_tokens" and "-1" in wrong["message"]
        bad_json = _assert_error(http.post("/completions", content=b"{nope"), 400, "invalid_json")
        assert "JSON" in bad_json["message"]
        role = _assert_error(
            http.post(
                "/chat/completions", json={"model": "e", "messages": [{"role": "tool", "content": "x"}]}
            ),
            400,
        )
        assert role["param"] == "messages.0.role"


def test_a_prompt_over_the_context_window_is_refused_naming_the_limit(echo_server: ServerFactory) -> None:
    with echo_server(context_window=10) as server, httpx.Client(base_url=server.base_url) as http:
        long = " ".join(["word"] * 12)
        error = _assert_error(http.post("/completions", json={"model": "e", "prompt": long}), 400)
        assert error["code"] == "context_length_exceeded" and "10 tokens" in error["message"]
        error = _assert_error(
            http.post("/completions", json={"model": "e", "prompt": "a b c", "max_tokens": 8}), 400
        )
        assert "11 tokens (3 in the prompt, 8 in the completion)" in error["message"]
        assert error["param"] == "max_tokens"
        assert (
            http.post("/completions", json={"model": "e", "prompt": "a b c", "max_tokens": 7}).status_code
            == 200
        )


def test_overload_answers_503_with_retry_after_then_recovers(echo_server: ServerFactory) -> None:
    async def flood(root: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=root, timeout=30) as http:
            body = {"model": "e", "prompt": "slow"}
            return await asyncio.gather(*(http.post("/v1/completions", json=body) for _ in range(6)))

    options = {"max_queue": 1, "max_batch_size": 1, "batch_wait_ms": 0}
    with echo_server(args=["latency=0.3", "max_concurrency=1"], **options) as server:
        responses = asyncio.run(flood(server.root))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
        rejected = next(r for r in responses if r.status_code == 503)
        _assert_error(rejected, 503, "overloaded")
        assert rejected.headers["retry-after"] == "1"
        assert (
            httpx.post(server.base_url + "/completions", json={"model": "e", "prompt": "ok"}).status_code
            == 200
        )
        assert httpx.get(server.root + "/health").json()["batching"]["rejected"] >= 1


def test_concurrent_http_requests_are_batched(echo_server: ServerFactory) -> None:
    async def many(server: BackgroundServer) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            bodies = [{"model": "e", "prompt": f"request {i}", "temperature": 0} for i in range(12)]
            responses = await asyncio.gather(*(http.post("/completions", json=b) for b in bodies))
            return [r.json() for r in responses]

    with echo_server(args=["batch_size=4", "max_concurrency=1", "latency=0.05"], batch_wait_ms=50) as server:
        answers = asyncio.run(many(server))
        assert [a["choices"][0]["text"] for a in answers] == [f"request {i}" for i in range(12)]
        stats = httpx.get(server.root + "/health").json()["batching"]
        assert stats["largest_batch"] == 4 and stats["batches"] <= 5, stats


def test_errors_are_json_even_for_unexpected_methods(echo_server: ServerFactory) -> None:
    with echo_server() as server:
        response = httpx.get(server.base_url + "/completions")
        assert response.status_code == 405
        assert json.loads(response.text)["error"]["type"] == "invalid_request_error"
