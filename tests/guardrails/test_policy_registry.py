"""Policies are registered, compared and promoted like models: versions in the fmops registry with the
`fmops guard compare` result as evidence, aliases that move, and `registry:NAME@ALIAS` wherever a policy
path goes (`fmops guard check`, `load_policy`, the gateway's config)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.guardrails import is_policy_reference, load_policy, read_policy_comparison
from fmops.registry import policy_registry

runner = CliRunner()
SECRET = "Project Nightingale"


def _write(path: Path, version: str, words: list[str]) -> Path:
    policy = {
        "name": "support",
        "version": version,
        "sensitiveInformationPolicyConfig": {
            "regexesConfig": [{"name": "TICKET", "pattern": r"\bTK-[0-9]{4}\b", "action": "ANONYMIZE"}]
        },
        "blockedInputMessaging": "blocked by support policy",
    }
    if words:
        policy["wordPolicyConfig"] = {"wordsConfig": [{"text": w} for w in words]}
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two versions of one policy (v2 adds a word filter) and a labelled set both are compared on."""
    v1 = _write(tmp_path / "support_v1.yaml", "1", [])
    v2 = _write(tmp_path / "support_v2.yaml", "2", [SECRET])
    rows = [{"text": f"Status of {SECRET} item {i}?", "labels": ["WORDS"]} for i in range(12)]
    rows += [
        {
            "text": f"My ticket TK-{1000 + i} is open",
            "entities": [{"type": "TICKET", "text": f"TK-{1000 + i}"}],
        }
        for i in range(6)
    ]
    rows += [{"text": f"How do I reset password number {i}?"} for i in range(12)]
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return v1, v2, data


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_register_with_evidence_promote_check_and_roll_back(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    v1, v2, data = versions
    _ok(["guard", "compare", str(v1), str(v2), "--dataset", str(data), "-o", str(tmp_path / "cmp")])
    comparison = read_policy_comparison(tmp_path / "cmp")
    for path in (v1, v2):
        _ok(["guard", "policies", "register", "support", str(path), "--evidence", str(tmp_path / "cmp")])

    registered = policy_registry().show("support").versions
    assert [v.version for v in registered] == [1, 2]
    spec1, spec2 = (v.policy_spec() for v in registered)
    assert spec2.text.encode("utf-8") == v2.read_bytes()  # the file as it was, byte for byte
    assert spec2.sha256 == hashlib.sha256(v2.read_bytes()).hexdigest()
    evidence = spec2.evidence[0]
    assert evidence.records == comparison.records == 30
    assert evidence.micro["recall"] == comparison.scores[str(v2)][-1].recall.value == 1.0
    assert spec1.evidence[0].micro["recall"] == comparison.scores[str(v1)][-1].recall.value < 1.0
    # v2 catches the secret word, v1 does not: beyond the noise on WORDS (12 paired units)
    assert "WORDS" in evidence.beyond_noise[str(v1)]

    _ok(["guard", "policies", "approve", "support", "1"])
    _ok(["guard", "policies", "promote", "support", "1", "--alias", "production"])
    text = f"Where is {SECRET}? ticket TK-1234"
    body = json.loads(_ok(["guard", "check", "registry:support@production", "--text", text]))
    assert body["action"] == "GUARDRAIL_INTERVENED" and not body["blocked"]  # v1 masks, has no word filter
    assert body["outputs"] == [{"text": f"Where is {SECRET}? ticket {{TICKET}}"}]
    assert body["policy_version"] == "registry:support/1"

    _ok(
        ["guard", "policies", "promote", "support", "2", "--alias", "production", "--reason", "catches words"]
    )
    body = json.loads(_ok(["guard", "check", "registry:support@production", "--text", text]))
    assert body["blocked"] and body["outputs"] == [{"text": "blocked by support policy"}]
    assert body["policy_version"] == "registry:support/2"

    _ok(["guard", "policies", "rollback", "support", "--alias", "production"])
    assert load_policy("registry:support@production").version == "registry:support/1"
    assert load_policy("registry:support/2").version == "registry:support/2"
    history = _ok(["guard", "policies", "history", "support"])
    assert "promote v2 production: 1 → 2 — catches words" in history and "rollback v1" in history
    shown = _ok(["guard", "policies", "show", "support/2"])
    assert "evidence:" in shown and "beyond the noise on" in shown and SECRET in shown


def test_evidence_must_include_the_registered_policy(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    v1, v2, data = versions
    v3 = _write(tmp_path / "support_v3.yaml", "3", [SECRET, "Project Falcon"])
    _ok(["guard", "compare", str(v1), str(v2), "--dataset", str(data), "-o", str(tmp_path / "cmp")])
    result = runner.invoke(
        app, ["guard", "policies", "register", "support", str(v3), "--evidence", str(tmp_path / "cmp")]
    )
    assert result.exit_code == 2
    assert "support 3" in result.output and "is not among the compared policies" in result.output
    assert policy_registry().names() == []  # nothing registered


def test_an_invalid_policy_is_not_registered(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncontentPolicyConfig:\n  filtersConfig:\n    - {type: RUDE}\n", encoding="utf-8")
    result = runner.invoke(app, ["guard", "policies", "register", "x", str(bad)])
    assert result.exit_code == 2 and "bad.yaml:4" in result.output
    assert policy_registry().names() == []


def test_references_and_their_errors(versions: tuple[Path, Path, Path]) -> None:
    v1, _, _ = versions
    assert is_policy_reference("registry:support@production")
    assert not is_policy_reference("./registry:support")  # a path with a colon stays a path
    assert not is_policy_reference(str(v1))
    _ok(["guard", "policies", "register", "support", str(v1)])
    with pytest.raises(BadInputError, match="no alias 'production'"):
        load_policy("registry:support@production")
    with pytest.raises(BadInputError, match="no registered policy named 'nope'"):
        load_policy("registry:nope@production")


def test_gateway_config_keeps_registry_references(tmp_path: Path) -> None:
    from fmops.gateway import load_gateway_config

    config = tmp_path / "gateway.yaml"
    routes = [
        {"name": "a", "model": "echo/x", "guardrail": "registry:support@production"},
        {"name": "b", "model": "echo/x", "guardrail": "policy.yaml"},
    ]
    config.write_text(yaml.safe_dump({"routes": routes}), encoding="utf-8")
    loaded = load_gateway_config(config)
    assert str(loaded.routes[0].guardrail) == "registry:support@production"
    assert loaded.routes[1].guardrail == tmp_path / "policy.yaml"


def test_serve_answers_for_the_registry_version_number(versions: tuple[Path, Path, Path]) -> None:
    from fastapi.testclient import TestClient

    from fmops.guardrails import create_app

    _, v2, _ = versions
    _ok(["guard", "policies", "register", "support", str(v2)])
    client = TestClient(create_app([load_policy("registry:support")]))
    body = {"source": "INPUT", "content": [{"text": {"text": f"about {SECRET}"}}]}
    for version in ("1", "DRAFT"):  # the label registry:support/1 has a slash: not a URL segment
        answer = client.post(f"/guardrail/support/version/{version}/apply", json=body)
        assert answer.status_code == 200, (version, answer.text)
        assert answer.json()["action"] == "GUARDRAIL_INTERVENED"
    assert client.post("/guardrail/support/version/2/apply", json=body).status_code == 404
