"""The model registry on SQLite and PostgreSQL: migrations, versions, approvals, aliases, rollback, audit log,
concurrent promotions from two processes, and `registry:` model specs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from fmops.core.errors import BadInputError
from fmops.models import get_model, parse_model_spec
from fmops.registry import (
    model_registry,
    register_model,
)


def test_migrations_create_the_tables_from_an_empty_database(db_url: str) -> None:
    reg = model_registry(db_url)
    tables = set(inspect(reg.engine).get_table_names())
    assert {
        "registry_entries",
        "registry_versions",
        "registry_aliases",
        "registry_alias_events",
        "registry_audit",
    } <= tables
    with reg.engine.connect() as conn:
        heads = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    assert "registry_0001" in heads


def test_versions_number_up_and_keep_spec_lineage_and_status(db_url: str) -> None:
    first = register_model("qa", "echo/a", url=db_url, description="first")
    second = register_model(
        "qa",
        "echo/b",
        args={"prefix": "x"},
        lineage={"base_model": "echo/a", "training_data_sha256": "ab" * 32, "evaluation_runs": ["runs/1"]},
        url=db_url,
        actor="alice",
    )
    assert (first.version, second.version) == (1, 2)
    assert second.status == "PendingManualApproval"
    shown = model_registry(db_url).show("qa")
    assert [v.version for v in shown.versions] == [1, 2]
    spec = shown.versions[1].model_spec()
    assert spec.spec == "echo/b" and spec.args == {"prefix": "x"}
    assert spec.lineage.base_model == "echo/a" and spec.lineage.evaluation_runs == ["runs/1"]
    assert shown.versions[1].created_by == "alice"


def test_approval_status_moves_and_a_rejected_version_cannot_be_promoted(db_url: str) -> None:
    reg = model_registry(db_url)
    register_model("qa", "echo/a", url=db_url)
    register_model("qa", "echo/b", url=db_url)
    assert reg.approve("qa", 1, reason="good").status == "Approved"
    assert reg.reject("qa", 2, reason="toxic").status == "Rejected"
    with pytest.raises(BadInputError, match="Rejected"):
        reg.promote("qa", 2, "production")
    assert reg.show("qa").aliases == {}


def test_promote_and_rollback_walk_the_alias_history(db_url: str) -> None:
    reg = model_registry(db_url)
    for spec in ("echo/a", "echo/b", "echo/c"):
        register_model("qa", spec, url=db_url)
    reg.promote("qa", 1, "production")
    reg.promote("qa", 2, "production")
    reg.promote("qa", 3, "production")
    reg.promote("qa", 3, "production")  # already there: no event, so rollback still goes to 2
    reg.promote("qa", 3, "staging")
    assert reg.get("qa", "production").version == 3
    assert reg.rollback("qa", "production").to_version == 2
    assert reg.rollback("qa", "production").to_version == 1
    with pytest.raises(BadInputError, match="no previous version"):
        reg.rollback("qa", "production")
    assert reg.show("qa").aliases == {"production": 1, "staging": 3}
    actions = [(e.action, e.from_version, e.to_version) for e in reg.alias_history("qa", "production")]
    assert actions == [
        ("promote", None, 1),
        ("promote", 1, 2),
        ("promote", 2, 3),
        ("rollback", 3, 2),
        ("rollback", 2, 1),
    ]


def test_every_change_is_in_the_append_only_audit_log(db_url: str) -> None:
    reg = model_registry(db_url)
    register_model("qa", "echo/a", url=db_url, actor="alice")
    reg.approve("qa", 1, actor="bob", reason="passed the gate")
    reg.promote("qa", 1, "production", actor="carol", reason="release 1")
    log = reg.audit("qa")
    assert [(e.actor, e.action, e.version) for e in log] == [
        ("alice", "create", None),
        ("alice", "register", 1),
        ("bob", "approve", 1),
        ("carol", "promote", 1),
    ]
    assert log[2].reason == "passed the gate" and log[3].detail == {
        "alias": "production",
        "from": None,
        "to": 1,
    }
    for statement in ("UPDATE registry_audit SET actor = 'mallory'", "DELETE FROM registry_audit"):
        with pytest.raises(Exception, match="append-only"), reg.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(reg.audit("qa")) == 4


def test_registry_references_are_model_specs(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMOPS_STORE_URL", db_url)
    register_model("qa", "echo/a", url=db_url)
    register_model("qa", "echo/b", args={"prefix": "v2:"}, url=db_url)
    model_registry(db_url).promote("qa", 1, "production")
    assert str(parse_model_spec("registry:qa@production")) == "echo/a"
    spec = parse_model_spec("registry:qa/2", ["suffix=!"])
    assert str(spec) == "echo/b" and spec.args == {"prefix": "v2:", "suffix": "!"}
    model = get_model("registry:qa@production", store=False)
    assert model.name == "registry:qa@production"
    with pytest.raises(BadInputError, match="no alias 'staging'"):
        parse_model_spec("registry:qa@staging")
    with pytest.raises(BadInputError, match="no registered model named 'nope'"):
        get_model("registry:nope/1", store=False)


def test_bad_names_and_specs_are_refused(db_url: str) -> None:
    with pytest.raises(BadInputError, match="model spec"):
        register_model("qa", "not-a-spec", url=db_url)
    with pytest.raises(BadInputError, match="name"):
        register_model("bad name!", "echo/a", url=db_url)
    register_model("qa", "echo/a", url=db_url)
    with pytest.raises(BadInputError, match="alias"):
        model_registry(db_url).promote("qa", 1, "7")
    with pytest.raises(BadInputError, match="model card: availability"):
        register_model("qa", "echo/a", card={"name": "qa", "provider": "me"}, url=db_url)


_PROMOTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fmops.registry import RegistryConflictError, model_registry

    url, me, sync, version = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    reg = model_registry(url)

    def both_have_read():
        # Line the two processes up between their read and their write: the race, every time.
        (sync / f"ready-{me}").touch()
        deadline = time.monotonic() + 60
        while len(list(sync.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    reg._before_alias_write = both_have_read
    try:
        reg.promote("qa", version, "production", actor=f"proc-{me}")
    except RegistryConflictError as exc:
        print(f"conflict: {exc}")
        sys.exit(3)
    print("won")
    """
)


def test_two_processes_promoting_at_once_one_wins_the_other_gets_a_conflict(
    db_url: str, tmp_path: Path
) -> None:
    reg = model_registry(db_url)
    for spec in ("echo/a", "echo/b", "echo/c"):
        register_model("qa", spec, url=db_url)
    reg.promote("qa", 1, "production")
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROMOTER, db_url, str(n), str(sync), str(version)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, version in ((1, 2), (2, 3))
    ]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], outcomes
    loser = next(out for code, out, _ in outcomes if code == 3)
    assert "another promotion or rollback won the race" in loser or "busy" in loser
    winner = next(n for n, (code, _, _) in zip((2, 3), outcomes, strict=True) if code == 0)
    assert reg.get("qa", "production").version == winner
    assert [e.to_version for e in reg.alias_history("qa", "production")] == [1, winner]


def test_cli_contract(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from fmops.cli import app

    monkeypatch.setenv("FMOPS_STORE_URL", db_url)
    if db_url.startswith("sqlite"):
        monkeypatch.delenv("FMOPS_STORE_URL")  # the default database is FMOPS_HOME's SQLite
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    assert run("registry", "register", "qa", "--model", "echo/a").strip() == "1"
    assert run("registry", "register", "qa", "--model", "echo/b", "--base-model", "echo/a").strip() == "2"
    run("registry", "approve", "qa", "2", "--reason", "beats v1")
    run("registry", "promote", "qa", "1", "--alias", "production")
    run("registry", "promote", "qa", "2", "--alias", "production")
    assert "2 → 1" in run("registry", "rollback", "qa", "--alias", "production")
    shown = json.loads(run("registry", "show", "qa", "--format", "json"))
    assert shown["aliases"] == {"production": 1}
    assert [v["status"] for v in shown["versions"]] == ["PendingManualApproval", "Approved"]
    history = run("registry", "history", "qa")
    assert "approve v2" in history and "beats v1" in history and "rollback v1" in history
    assert "qa" in run("registry", "list")
    missing = runner.invoke(app, ["registry", "promote", "qa", "9", "--alias", "production"])
    assert missing.exit_code == 2 and "has no version 9" in missing.output
