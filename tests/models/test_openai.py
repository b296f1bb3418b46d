"""The OpenAI-compatible provider against the loopback server, and the server against the official client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fmops.models import ChatMessage, GenerateConfig, GenerateRequest, ScoreRequest, get_model
from tests.support.openai_server import OpenAITestServer, token_logprob, tokenize

pytestmark = pytest.mark.anyio


def model(server: Any, *args: str) -> Any:
    return get_model("openai/test-model", [f"base_url={server.base_url}", *args], store=False)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", ["chat", "completions"])
async def test_generate_with_decoding_parameters_and_logprobs(server: Any, api: str, stream: bool) -> None:
    m = model(server, f"api={api}", f"stream={stream}")
    cfg = GenerateConfig(max_tokens=3, temperature=0.5, top_p=0.9, seed=7, logprobs=True)
    system = "Be brief." if api == "chat" else None  # completions put it before the prompt (tested below)
    out = await m.generate([GenerateRequest(prompt="alpha beta gamma delta", system=system, config=cfg)])
    r = out[0]
    assert r.ok, r.error
    assert r.text == "Echo: alpha beta" and r.finish_reason == "length"
    expected = [token_logprob(t) for t in tokenize("Echo: alpha beta")]
    assert r.token_logprobs == pytest.approx(expected) and r.logprob == pytest.approx(sum(expected))
    assert r.output_tokens == 3 and r.input_tokens == (6 if api == "chat" else 4)
    assert (r.ttft_s is not None) == stream
    body = server.calls[0].body
    assert (
        body["max_tokens"] == 3 and body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["seed"] == 7
    )
    if api == "chat":
        assert body["messages"][0] == {"role": "system", "content": "Be brief."} and body["logprobs"] is True
    else:
        assert body["prompt"] == "alpha beta gamma delta" and body["logprobs"] == 1
        await m.generate([GenerateRequest(prompt="x", system="Be brief.")])
        assert server.calls[-1].body["prompt"] == "Be brief.\nx"
    assert body.get("stream", False) == stream


async def test_chat_messages_and_stop(server: Any) -> None:
    conv = (
        ChatMessage(role="user", content="first"),
        ChatMessage(role="assistant", content="ok"),
        ChatMessage(role="user", content="say STOP now"),
    )
    out = await model(server).generate(
        [GenerateRequest(messages=conv, config=GenerateConfig(stop=("STOP",)))]
    )
    assert out[0].text == "Echo: say" and out[0].finish_reason == "stop"
    assert [m["role"] for m in server.calls[0].body["messages"]] == ["user", "assistant", "user"]
    assert server.calls[0].body["stop"] == ["STOP"]


async def test_score_uses_echoed_prompt_logprobs(server: Any) -> None:
    m = model(server)
    out = await m.score([ScoreRequest(text="The cat sat"), ScoreRequest(text=" sat down", prefix="The cat")])
    whole = [token_logprob(t) for t in tokenize("The cat sat")][1:]  # the first token has no log-prob
    assert out[0].logprob == pytest.approx(sum(whole))
    assert out[1].logprob == pytest.approx(token_logprob(" sat") + token_logprob(" down"))
    body = server.calls[0].body
    assert server.calls[0].path == "/v1/completions" and body["echo"] is True and body["max_tokens"] == 1


async def test_api_key_and_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAITestServer(api_key="sk-local") as srv:
        no_key = await model(srv, "max_retries=0").generate(["x"])
        assert "HTTP 401" in (no_key[0].error or "")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
        assert (await model(srv).generate(["x"]))[0].ok
        monkeypatch.delenv("OPENAI_API_KEY")
        m = get_model(
            "openai/test-model",
            [f"base_url={srv.base_url}", "api_key=sk-local", 'headers={"X-Team": "a"}'],
            store=False,
        )
        assert (await m.generate(["x"]))[0].ok
        assert srv.calls[-1].headers["x-team"] == "a"
        assert "sk-local" not in str(m.api.fingerprint_data())


async def test_extra_body_and_max_tokens_param(server: Any) -> None:
    m = model(server, 'extra_body={"repetition_penalty": 1.1}', "max_tokens_param=max_completion_tokens")
    out = await m.generate([GenerateRequest(prompt="a b c d", config=GenerateConfig(max_tokens=2))])
    assert out[0].text == "Echo: a"
    assert server.calls[0].body["repetition_penalty"] == 1.1 and "max_tokens" not in server.calls[0].body


def test_official_openai_client_speaks_to_the_test_server(server: Any) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["test-model"]
    chat = client.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": "hello there"}], logprobs=True, max_tokens=2
    )
    assert chat.choices[0].message.content == "Echo: hello" and chat.choices[0].finish_reason == "length"
    assert chat.choices[0].logprobs.content[0].token == "Echo:"
    assert chat.usage.prompt_tokens == 2 and chat.usage.completion_tokens == 2
    comp = client.completions.create(
        model="test-model", prompt="one two", echo=True, logprobs=1, max_tokens=1
    )
    assert comp.choices[0].text == "one twoEcho:"
    assert comp.choices[0].logprobs.token_logprobs[0] is None and comp.choices[0].logprobs.text_offset == [
        0,
        3,
        7,
    ]
    chunks = list(
        client.chat.completions.create(
            model="test-model",
            messages=[{"role": "user", "content": "streamed"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: streamed"
    assert chunks[-1].usage.completion_tokens == 2
    server.add_fault("status", status=429, retry_after=0, times=1)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="test-model", messages=[])


def test_server_controls_over_http(server: Any) -> None:
    httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
    )
    root = server.base_url.removesuffix("/v1")
    assert httpx.get(f"{root}/_stats").json()["calls"] == 1
    httpx.post(f"{root}/_faults", json={"kind": "status", "status": 503, "times": 1})
    assert httpx.post(f"{server.base_url}/completions", json={"model": "m", "prompt": "x"}).status_code == 503
    httpx.post(f"{root}/_reset")
    assert server.call_count == 0
    assert httpx.post(f"{server.base_url}/completions", content=b"{not json").status_code == 400
    assert httpx.get(f"{server.base_url}/nope").status_code == 404
