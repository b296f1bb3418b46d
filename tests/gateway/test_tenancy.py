"""Keys, teams, rotation, revocation, expiry, the audit log, the admin API and the admin CLI."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import openai
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fmops.cli import app
from fmops.gateway import Tenancy, load_gateway_config, open_gateway_database
from fmops.gateway._keys import split_key
from fmops.gateway._tables import ApiKey

MESSAGES = [{"role": "user", "content": "hi there"}]


def _eventually(check, timeout: float = 1.0) -> float:
    """Seconds until `check()` is true; fails at the deadline."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "not within the deadline"
        time.sleep(0.02)
    return time.monotonic() - start


def _refused(client) -> bool:
    try:
        client.models.list()
    except openai.AuthenticationError:
        return True
    return False


def test_keys_are_stored_as_salted_hashes(write_config) -> None:
    config = load_gateway_config(write_config())
    tenancy = Tenancy(open_gateway_database(config))
    one, two = tenancy.create_key("t").key, tenancy.create_key("t").key
    with tenancy.engine.connect() as conn:
        rows = list(conn.execute(select(ApiKey)))
    stored = " ".join(f"{r.salt} {r.hash} {r.id}" for r in rows)
    for key in (one, two):
        key_id, secret = split_key(key)
        assert key_id in stored and secret not in stored
    assert len({r.salt for r in rows}) == 2


def test_revocation_rotation_and_expiry(gateway) -> None:
    with gateway(revocation_poll_s=0.05) as gw:
        created = gw.tenancy.create_key("t")
        client = gw.client(created.key)
        assert client.models.list().data[0].id == "chat"
        rotated = gw.tenancy.rotate_key(created.info.id, overlap=timedelta(seconds=0.5))
        # Both work during the overlap; the old one stops after it.
        assert not _refused(client) and not _refused(gw.client(rotated.key))
        _eventually(lambda: _refused(client), timeout=2.0)
        assert not _refused(gw.client(rotated.key))
        gw.tenancy.revoke_key(rotated.info.id)
        _eventually(lambda: _refused(gw.client(rotated.key)))
        expired = gw.tenancy.create_key("t", expires_in=timedelta(seconds=0.2)).key
        _eventually(lambda: _refused(gw.client(expired)))
    actions = [e["action"] for e in gw.tenancy.audit_log()]
    assert {"key.create", "key.rotate", "key.revoke", "team.create"} <= set(actions)


def test_admin_api_needs_the_admin_key(gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    with gateway() as gw:
        root = gw.server.root
        assert httpx.get(f"{root}/admin/keys").status_code == 403  # no admin key configured: admin is off
        monkeypatch.setenv("FMOPS_ADMIN_KEY", "s3cret-admin")
        assert httpx.get(f"{root}/admin/keys", headers={"authorization": "Bearer wrong"}).status_code == 401
        admin = {"authorization": "Bearer s3cret-admin"}
        made = httpx.post(f"{root}/admin/keys", json={"team": "ops", "budget_usd": 2.5}, headers=admin)
        assert made.status_code == 201
        key = made.json()["key"]
        assert gw.client(key).models.list().data[0].id == "chat"
        listed = httpx.get(f"{root}/admin/keys", headers=admin).json()["data"]
        assert [k["team"] for k in listed] == ["ops"] and "key" not in listed[0]
        revoked = httpx.post(f"{root}/admin/keys/{made.json()['id']}/revoke", headers=admin)
        assert revoked.status_code == 200
        assert _refused(gw.client(key))
        audit = httpx.get(f"{root}/admin/audit", headers=admin).json()["data"]
        assert [a["action"] for a in audit][:2] == ["key.revoke", "key.create"]
        assert {a["actor"] for a in audit} == {"admin-api"}


def test_cli_creates_a_key_on_its_last_line_and_reports_usage(gateway, write_config) -> None:
    runner = CliRunner()
    with gateway() as gw:
        config = gw.server and write_config()  # same FMOPS_HOME database as the running gateway
        result = runner.invoke(
            app,
            [
                "keys",
                "create",
                "--config",
                str(config),
                "--team",
                "research",
                "--budget",
                "10",
                "--period",
                "monthly",
            ],
        )
        assert result.exit_code == 0, result.output
        key = result.stdout.strip().splitlines()[-1]
        assert key.startswith("fmk_")
        gw.client(key).chat.completions.create(model="chat", messages=MESSAGES)
        gw.flush()
    result = runner.invoke(app, ["usage", "--config", str(config), "--by", "team", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout) == [
        {"team": "research", "requests": 1, "errors": 0, "input_tokens": 2, "output_tokens": 2, "cost": 0.004}
    ]
    table = runner.invoke(app, ["usage", "--config", str(config), "--by", "team,model,day"])
    assert table.stdout.splitlines()[0].split() == [
        "team",
        "model",
        "day",
        "requests",
        "errors",
        "input_tokens",
        "output_tokens",
        "cost",
    ]
    bad = runner.invoke(app, ["usage", "--config", str(config), "--by", "colour"])
    assert bad.exit_code == 2 and "colour" in bad.output
    listed = runner.invoke(app, ["keys", "list", "--config", str(config)])
    assert key.split("_")[1] in listed.stdout and key not in listed.stdout


def test_bad_config_is_one_line_naming_the_field(tmp_path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("routes:\n  - name: a\n    model: nospec\n")
    result = CliRunner().invoke(app, ["keys", "list", "--config", str(path)])
    assert result.exit_code == 2
    assert "routes.0" in result.output and "PROVIDER/MODEL" in result.output
