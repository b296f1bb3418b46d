"""A route's guardrail policy runs on the request and the answer; interventions are counted in the ledger."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import yaml
from sqlalchemy import select

from fmops.gateway._tables import LedgerEntry

pytest.importorskip("fmops.guardrails")


def test_route_guardrail_blocks_and_masks(gateway, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "name": "gw-test",
                "blockedInputMessaging": "That topic is not allowed here.",
                "blockedOutputsMessaging": "The answer was withheld.",
                "wordPolicyConfig": {"wordsConfig": [{"text": "forbidden"}]},
                # A regex, not the PII detectors: the test stays fast (no NLP models to load).
                "sensitiveInformationPolicyConfig": {
                    "regexesConfig": [{"name": "email", "pattern": r"[\w.]+@[\w.]+", "action": "ANONYMIZE"}]
                },
            }
        )
    )
    routes = [{"name": "chat", "model": "echo/x", "guardrail": str(policy)}]
    with gateway(routes) as gw:
        client = gw.client(gw.key())
        with pytest.raises(openai.BadRequestError) as blocked:
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "say forbidden"}]
            )
        assert blocked.value.code == "guardrail_intervened" and "not allowed" in blocked.value.message
        masked = client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "write to jane@example.com"}]
        )
        assert "jane@example.com" not in masked.choices[0].message.content
        chunks = list(
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "write to jane@example.com"}], stream=True
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == masked.choices[0].message.content
        gw.flush()
        with gw.tenancy.engine.connect() as conn:
            rows = list(conn.execute(select(LedgerEntry).order_by(LedgerEntry.received_at)))
    # The prompt is masked before the echo model sees it, so its answer has nothing left to mask.
    assert [(r.status, r.guardrail_interventions) for r in rows] == [(400, 1), (200, 1), (200, 1)]


def test_anonymize_rewrites_the_prompt_sent_upstream(gateway, recording_upstream, tmp_path: Path) -> None:
    upstream, server = recording_upstream
    policy = tmp_path / "mask.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "name": "mask",
                "sensitiveInformationPolicyConfig": {
                    "regexesConfig": [{"name": "email", "pattern": r"[\w.]+@[\w.]+", "action": "ANONYMIZE"}]
                },
            }
        )
    )
    routes = [
        {
            "name": "chat",
            "model": "openai/up",
            "args": {"base_url": server.base_url},
            "guardrail": str(policy),
            "embeddings": True,
        }
    ]
    with gateway(routes) as gw:
        client = gw.client(gw.key())
        client.chat.completions.create(
            model="chat",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "mail jane@example.com now"}]},
            ],
        )
        client.completions.create(model="chat", prompt=["to bob@example.org", "nothing here"])
        client.embeddings.create(model="chat", input="ann@example.net")
        gw.flush()
        with gw.tenancy.engine.connect() as conn:
            rows = list(conn.execute(select(LedgerEntry).order_by(LedgerEntry.received_at)))
    sent = [body for _, body in upstream.received]
    assert len(sent) == 3
    everything = yaml.safe_dump(sent)
    for address in ("jane@example.com", "bob@example.org", "ann@example.net"):
        assert address not in everything
    chat = sent[0]["messages"]
    assert chat[0]["content"] == "be brief"  # untouched text stays as it was
    assert chat[1]["content"][0]["text"].startswith("mail ") and chat[1]["content"][0]["text"].endswith(
        " now"
    )
    assert sent[1]["prompt"][0].startswith("to ") and sent[1]["prompt"][1] == "nothing here"
    assert [r.guardrail_interventions for r in rows] == [1, 1, 1]


def test_route_guardrail_from_the_registry_follows_its_alias(gateway, tmp_path: Path) -> None:
    """`guardrail: registry:NAME@ALIAS` loads the version the alias points at when the gateway starts."""
    from fmops.registry import policy_registry, register_policy

    for v, word in ((1, "alpha"), (2, "beta")):
        policy = {
            "name": "gw-reg",
            "blockedInputMessaging": f"Not allowed (v{v}).",
            "wordPolicyConfig": {"wordsConfig": [{"text": word}]},
        }
        register_policy("gw-reg", yaml.safe_dump(policy))
    policy_registry().promote("gw-reg", 2, "production")
    routes = [{"name": "chat", "model": "echo/x", "guardrail": "registry:gw-reg@production"}]
    with gateway(routes) as gw:
        client = gw.client(gw.key())
        ok = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "say alpha"}])
        assert ok.choices[0].message.content.endswith("alpha")  # version 1's word is not version 2's
        with pytest.raises(openai.BadRequestError) as blocked:
            client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "say beta"}])
        assert "Not allowed (v2)." in blocked.value.message
