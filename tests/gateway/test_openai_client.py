"""The gateway driven by the official openai client: chat, completions, streaming, errors, models, cost."""

from __future__ import annotations

import httpx
import openai
import pytest
from sqlalchemy import select

from fmops.gateway import usage
from fmops.gateway._tables import LedgerEntry

MESSAGES = [{"role": "user", "content": "the quick brown fox jumps"}]


def _rows(gw) -> list[LedgerEntry]:
    gw.flush()
    with gw.tenancy.engine.connect() as conn:
        return list(conn.execute(select(LedgerEntry).order_by(LedgerEntry.received_at)))


def test_chat_completions_and_models(gateway) -> None:
    routes = [
        {"name": "chat", "model": "echo/x", "prices": {"input_per_1k": 0.5, "output_per_1k": 1.5}},
        {"name": "other", "model": "echo/y"},
    ]
    with gateway(routes) as gw:
        client = gw.client(gw.key(models=["chat"]))
        raw = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES, max_tokens=3)
        answer = raw.parse()
        assert answer.choices[0].message.content == "the quick brown"
        assert answer.model == "chat"
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 3)
        assert float(raw.headers["x-fmops-cost-usd"]) == pytest.approx((5 * 0.5 + 3 * 1.5) / 1000)
        assert raw.headers["x-request-id"].startswith("gw-")
        assert (
            client.completions.create(model="chat", prompt="one two three").choices[0].text == "one two three"
        )
        # /v1/models lists only what this key may use, and the others are refused as unknown.
        assert [m.id for m in client.models.list()] == ["chat"]
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="other", messages=MESSAGES)
        rows = _rows(gw)
    ok = [r for r in rows if r.status == 200]
    assert [(r.endpoint, r.input_tokens, r.output_tokens, r.token_source) for r in ok] == [
        ("chat/completions", 5, 3, "upstream"),
        ("completions", 3, 3, "upstream"),
    ]
    assert ok[0].cost == pytest.approx(0.007) and ok[0].price_input == pytest.approx(0.0005)
    assert ok[0].prompt is None and ok[0].response is None  # content is kept only when a team opts in
    assert [r.status for r in rows if r.status != 200] == [404]


def test_streaming_passes_chunks_and_costs_the_same_as_whole(gateway, upstream) -> None:
    with upstream() as up:
        routes = [
            {"name": "local", "model": "echo/x", "prices": {"input_per_1k": 1, "output_per_1k": 2}},
            {
                "name": "remote",
                "model": "openai/e",
                "args": {"base_url": up.base_url},
                "prices": {"input_per_1k": 1, "output_per_1k": 2},
            },
        ]
        with gateway(routes) as gw:
            client = gw.client(gw.key())
            for name in ("local", "remote"):
                whole = client.chat.completions.create(model=name, messages=MESSAGES)
                chunks = list(client.chat.completions.create(model=name, messages=MESSAGES, stream=True))
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                assert text == whole.choices[0].message.content == "the quick brown fox jumps"
                # The client did not ask for usage: the gateway's own usage request is not forwarded.
                assert all(c.usage is None for c in chunks)
                with_usage = list(
                    client.chat.completions.create(
                        model=name, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
                    )
                )
                assert with_usage[-1].usage.completion_tokens == whole.usage.completion_tokens
                assert {c.model for c in chunks} == {name}
            rows = _rows(gw)
    by_model: dict[tuple[str, bool], set[float]] = {}
    for r in rows:
        by_model.setdefault((r.model, r.streamed), set()).add(r.cost)
        assert r.token_source == "upstream" and r.status == 200
    for name in ("local", "remote"):
        assert by_model[(name, True)] == by_model[(name, False)]
        assert by_model[(name, True)].pop() == pytest.approx((5 * 1 + 5 * 2) / 1000)
    assert all(r.first_token_at is not None for r in rows if r.streamed)


def test_errors_are_openai_shaped(gateway) -> None:
    with gateway(max_body_bytes=2048, max_header_bytes=2048) as gw:
        key = gw.key()
        with pytest.raises(openai.AuthenticationError) as no_key:
            gw.client("fmk_0123456789abcdef_wrong").chat.completions.create(model="chat", messages=MESSAGES)
        assert no_key.value.status_code == 401 and no_key.value.code == "invalid_api_key"
        client = gw.client(key)
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="chat", messages=[])
        assert bad.value.param == "messages"
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=-1)
        big = httpx.post(
            f"{gw.base_url}/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "chat", "messages": [{"role": "user", "content": "x" * 4096}]},
        )
        assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
        for path in ("/chat/completions", "/models"):  # the hot routes and FastAPI's alike
            huge = httpx.post(
                f"{gw.base_url}{path}", headers={"authorization": f"Bearer {key}", "x-pad": "p" * 3000}
            )
            assert huge.status_code == 431 and huge.json()["error"]["code"] == "headers_too_large"
        not_json = httpx.post(
            f"{gw.base_url}/chat/completions", headers={"authorization": f"Bearer {key}"}, content=b"{nope"
        )
        assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
        no_auth = httpx.get(f"{gw.base_url}/models")
        assert no_auth.status_code == 401 and set(no_auth.json()["error"]) == {
            "message",
            "type",
            "param",
            "code",
        }


def test_retries_then_fallback_when_upstreams_fail(gateway, upstream) -> None:
    with upstream() as up:
        routes = [
            {
                "name": "primary",
                "deployments": [
                    {"model": "openai/e", "args": {"base_url": "http://127.0.0.1:9/v1"}},
                    {"model": "openai/e", "args": {"base_url": "http://127.0.0.1:9/v1"}},
                ],
                "max_retries": 1,
                "fallbacks": ["backup"],
            },
            {"name": "backup", "model": "openai/e", "args": {"base_url": up.base_url}},
        ]
        with gateway(routes) as gw:
            client = gw.client(gw.key())
            answer = client.chat.completions.create(model="primary", messages=MESSAGES)
            assert answer.choices[0].message.content == "the quick brown fox jumps"
            row = _rows(gw)[-1]
    assert (row.model, row.fallback, row.retries) == ("primary", "backup", 2)
    assert row.deployment.startswith("backup")


def test_team_usage_api_shows_only_the_callers_team(gateway) -> None:
    with gateway() as gw:
        a, b = gw.key("alpha"), gw.key("beta")
        gw.client(a).chat.completions.create(model="chat", messages=MESSAGES)
        for _ in range(2):
            gw.client(b).chat.completions.create(model="chat", messages=MESSAGES)
        gw.flush()
        seen = httpx.get(f"{gw.base_url}/usage?by=team", headers={"authorization": f"Bearer {a}"}).json()
        assert seen["data"] == [
            {"team": "alpha", "requests": 1, "errors": 0, "input_tokens": 5, "output_tokens": 5, "cost": 0.01}
        ]
        totals = {r["team"]: r["requests"] for r in usage(gw.tenancy.engine, ["team"])}
        assert totals == {"alpha": 1, "beta": 2}
        metrics = httpx.get(f"{gw.server.root}/metrics").text
        assert 'fmops_gateway_requests_total{model="chat",status="200",team="beta"} 2.0' in metrics
