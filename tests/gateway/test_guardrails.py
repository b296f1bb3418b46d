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
    assert [(r.status, r.guardrail_interventions) for r in rows] == [(400, 1), (200, 2), (200, 2)]
