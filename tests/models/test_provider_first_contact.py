"""Issue 15, items 7 and 10: what a newcomer and a hostile server do to the OpenAI and Bedrock providers.

Setup errors (no API key, a base URL without a scheme, no AWS region) fail before any call with one line;
connection errors name the URL; responses are bounded; `content: null` is an error, never a cached answer.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.models import GenerateRequest, get_model


class _Canned(ThreadingHTTPServer):
    """Answers every POST with `body`; keeps the request bodies it saw."""

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body = body
        self.seen: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Canned

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.server.seen.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[Any]:
    servers: list[_Canned] = []

    def start(payload: dict[str, Any] | bytes) -> _Canned:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        server = _Canned(body)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


def _chat(text: str | None, finish: str = "stop") -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }


def test_a_missing_openai_api_key_is_named_before_any_call() -> None:
    with pytest.raises(BadInputError, match="OPENAI_API_KEY is not set.*-M base_url="):
        get_model("openai/gpt-4o-mini", store=False)


def test_a_base_url_without_a_scheme_is_a_setup_error_not_a_retried_call() -> None:
    with pytest.raises(BadInputError, match="base_url '127.0.0.1:8000/v1' has no http:// or https://"):
        get_model("openai/m", ["base_url=127.0.0.1:8000/v1"], store=False)


def test_an_unreachable_base_url_is_named_in_the_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    model = get_model("openai/m", [f"base_url={url}", "api_key=x", "max_retries=0"], store=False)
    [result] = model.generate_sync(["hi"])
    assert result.error is not None and f"cannot reach {url}" in result.error


def test_no_max_tokens_sends_the_default_cap(canned: Any) -> None:
    server = canned(_chat("hello"))
    model = get_model("openai/m", [f"base_url={server.base_url}", "api_key=x"], store=False)
    assert model.generate_sync(["hi"])[0].text == "hello"
    assert server.seen[-1]["max_tokens"] == 1024
    capped = get_model(
        "openai/m", [f"base_url={server.base_url}", "api_key=x", "default_max_tokens=7"], store=False
    )
    capped.generate_sync([GenerateRequest(prompt="hi")])
    assert server.seen[-1]["max_tokens"] == 7


def test_content_null_is_an_error_and_is_not_stored(canned: Any) -> None:
    server = canned(_chat(None, finish="content_filter"))
    args = [f"base_url={server.base_url}", "api_key=x", "max_retries=0"]
    model = get_model("openai/m", args)
    [first] = model.generate_sync(["hi"])
    assert first.error is not None and "content: null" in first.error and "content_filter" in first.error
    [again] = get_model("openai/m", args).generate_sync(["hi"])
    assert not again.cached and len(server.seen) == 2  # asked again: nothing was stored


def test_an_oversized_response_is_refused_without_retries(canned: Any) -> None:
    server = canned(_chat("x" * 5000))
    args = [f"base_url={server.base_url}", "api_key=x", "max_response_bytes=1000"]
    [result] = get_model("openai/m", args, store=False).generate_sync(["hi"])
    assert result.error is not None and "larger than max_response_bytes=1000" in result.error
    assert result.attempts == 1 and len(server.seen) == 1


def test_bedrock_without_a_region_says_how_to_give_one() -> None:
    pytest.importorskip("boto3")
    with pytest.raises(BadInputError, match="no AWS region; pass -M region=.*AWS_REGION"):
        get_model("bedrock/anthropic.claude-3-haiku-20240307-v1:0", store=False)
    get_model("bedrock/anthropic.claude-3-haiku-20240307-v1:0", ["region=us-east-1"], store=False)


def test_bedrock_sends_a_default_max_tokens() -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import Stubber

    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
    expected = {
        "modelId": "m",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 1024},
    }
    with Stubber(client) as stubber:
        stubber.add_response("converse", answer, expected_params=expected)
        model = get_model("bedrock/m", {"client": client}, store=False)
        assert model.generate_sync([GenerateRequest(prompt="hi")])[0].text == "ok"
        stubber.assert_no_pending_responses()
