"""/v1/embeddings passed through to an upstream that computes them, and the opt-in response cache."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fmops.gateway._tables import LedgerEntry

from .conftest import RecordingUpstream

PRICES = {"input_per_1k": 1.0, "output_per_1k": 2.0}
MESSAGES = [{"role": "user", "content": "what is the capital of France?"}]


def _rows(gw) -> list[LedgerEntry]:
    gw.flush()
    with gw.tenancy.engine.connect() as conn:
        return list(conn.execute(select(LedgerEntry).order_by(LedgerEntry.received_at)))


def test_embeddings_pass_through_with_the_openai_client(gateway, recording_upstream) -> None:
    upstream, server = recording_upstream
    routes = [
        {
            "name": "vectors",
            "model": "openai/emb-up",
            "args": {"base_url": server.base_url},
            "prices": PRICES,
            "embeddings": True,
        },
        {"name": "chat", "model": "echo/x"},
    ]
    with gateway(routes) as gw:
        client = gw.client(gw.key())
        raw = client.embeddings.with_raw_response.create(model="vectors", input=["hello world", "bye"])
        result = raw.parse()
        assert [d.embedding for d in result.data] == [RecordingUpstream.VECTOR] * 2
        assert result.model == "vectors" and result.usage.prompt_tokens == 8  # the public name
        assert float(raw.headers["x-fmops-cost-usd"]) == pytest.approx(8 / 1000)
        floats = client.embeddings.create(model="vectors", input="one", encoding_format="float")
        assert floats.data[0].embedding == RecordingUpstream.VECTOR
        # A route whose deployment computes no embeddings says so in OpenAI's shape.
        import openai

        with pytest.raises(openai.BadRequestError, match="does not compute embeddings"):
            client.embeddings.create(model="chat", input="x")
        rows = _rows(gw)
    # The upstream got the deployment's model name and the caller's input, unchanged.
    assert [(e, b["model"], b["input"]) for e, b in upstream.received] == [
        ("embeddings", "emb-up", ["hello world", "bye"]),
        ("embeddings", "emb-up", "one"),
    ]
    ok = [r for r in rows if r.status == 200]
    assert [(r.endpoint, r.input_tokens, r.output_tokens, r.token_source) for r in ok] == [
        ("embeddings", 8, 0, "upstream"),
        ("embeddings", 4, 0, "upstream"),
    ]
    assert ok[0].cost == pytest.approx(0.008)


def test_response_cache_is_opt_in_per_route_and_team(gateway, recording_upstream) -> None:
    upstream, server = recording_upstream
    remote = {"model": "openai/up", "args": {"base_url": server.base_url}, "prices": PRICES}
    routes = [
        {"name": "cached", **remote, "cache": {"ttl_s": 300}},
        {"name": "plain", **remote},
    ]
    with gateway(routes) as gw:
        research = gw.client(gw.key("research"))
        first = research.chat.completions.with_raw_response.create(model="cached", messages=MESSAGES)
        second = research.chat.completions.with_raw_response.create(model="cached", messages=MESSAGES)
        assert first.headers["x-fmops-cache"] == "miss" and second.headers["x-fmops-cache"] == "hit"
        assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
        assert second.parse().model == "cached"
        assert float(second.headers["x-fmops-cost-usd"]) == 0.0 < float(first.headers["x-fmops-cost-usd"])
        # Another question, another team, a stream and a route without a cache all reach the upstream.
        research.chat.completions.create(model="cached", messages=[{"role": "user", "content": "other"}])
        gw.client(gw.key("sales")).chat.completions.create(model="cached", messages=MESSAGES)
        list(research.chat.completions.create(model="cached", messages=MESSAGES, stream=True))
        research.chat.completions.create(model="plain", messages=MESSAGES)
        research.chat.completions.create(model="plain", messages=MESSAGES)
        rows = _rows(gw)
    assert len(upstream.received) == 6  # 7 answers, one from the cache
    assert [(r.model, r.cache_hit) for r in rows] == [
        ("cached", False),
        ("cached", True),
        ("cached", False),
        ("cached", False),
        ("cached", False),
        ("plain", False),
        ("plain", False),
    ]
    hit = rows[1]
    assert (hit.input_tokens, hit.output_tokens, hit.cost) == (7, 2, 0.0)
