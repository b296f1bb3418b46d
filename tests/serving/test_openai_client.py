"""The official `openai` client against a tiny local GPT-2: chat, completions, streams, logprobs, errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from fmops.models import ScoreRequest, get_model
from fmops.serving import BackgroundServer

GREEDY = {"temperature": 0, "max_tokens": 6}
HELLO = [{"role": "user", "content": "Hello world"}]


@pytest.fixture
def client(hf_server: BackgroundServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=hf_server.base_url, api_key="unused", max_retries=0) as c:
        yield c


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["tiny"]


def test_chat_whole_and_streamed_agree_with_usage_and_logprobs(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(
        model="tiny", messages=HELLO, logprobs=True, top_logprobs=1, **GREEDY
    )
    choice = whole.choices[0]
    assert choice.finish_reason in ("stop", "length") and choice.message.role == "assistant"
    assert whole.usage is not None and whole.usage.completion_tokens == 6
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + 6
    assert choice.logprobs is not None and choice.logprobs.content is not None
    assert len(choice.logprobs.content) == 6 and all(t.logprob < 0 for t in choice.logprobs.content)
    assert "".join(t.token for t in choice.logprobs.content) == choice.message.content

    stream = client.chat.completions.create(
        model="tiny", messages=HELLO, stream=True, stream_options={"include_usage": True}, **GREEDY
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6


def test_completions_with_logprobs_n_and_stream(client: openai.OpenAI) -> None:
    done = client.completions.create(model="tiny", prompt="The quick brown fox", logprobs=1, n=2, **GREEDY)
    assert len(done.choices) == 2 and done.choices[0].text == done.choices[1].text
    lp = done.choices[0].logprobs
    assert lp is not None and lp.tokens is not None and lp.token_logprobs is not None
    assert "".join(lp.tokens) == done.choices[0].text and len(lp.token_logprobs) == 6
    assert lp.text_offset is not None and lp.text_offset[0] == 0
    assert done.usage is not None and done.usage.completion_tokens == 12

    streamed = client.completions.create(model="tiny", prompt="The quick brown fox", stream=True, **GREEDY)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == done.choices[0].text


def test_echo_scores_the_prompt_as_the_model_does_in_process(
    client: openai.OpenAI, tiny_folder: Path
) -> None:
    prompt = "She said that he was a nurse."
    done = client.completions.create(model="tiny", prompt=prompt, max_tokens=0, echo=True, logprobs=1)
    lp = done.choices[0].logprobs
    assert done.choices[0].text == prompt
    assert lp is not None and lp.tokens is not None and lp.token_logprobs is not None
    assert "".join(lp.tokens) == prompt and lp.text_offset == [0, 3, 8, 13, 16, 20, 22]
    local = get_model(f"hf/{tiny_folder}", store=False).score_sync([ScoreRequest(text=prompt)])[0]
    assert local.logprob is not None
    assert math.isclose(sum(v for v in lp.token_logprobs if v is not None), local.logprob, abs_tol=1e-3)
    assert done.usage is not None and done.usage.prompt_tokens > 0 and done.usage.completion_tokens == 0

    # max_tokens=1 (what vLLM-style clients send): the prompt's values, then one generated token.
    one = client.completions.create(
        model="tiny", prompt=prompt, max_tokens=1, echo=True, logprobs=1, temperature=0
    )
    lp1 = one.choices[0].logprobs
    assert lp1 is not None and lp1.token_logprobs is not None and lp1.text_offset is not None
    assert lp1.token_logprobs[:7] == lp.token_logprobs and lp1.text_offset[7] == len(prompt)


def test_errors_raise_the_clients_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as too_long:
        client.completions.create(model="tiny", prompt="hello " * 300, max_tokens=4)
    assert too_long.value.code == "context_length_exceeded" and "256 tokens" in too_long.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="tiny", prompt="x", temperature=5)
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tiny", messages=[])
    # Still serving.
    assert client.completions.create(model="tiny", prompt="x", max_tokens=1).usage is not None
