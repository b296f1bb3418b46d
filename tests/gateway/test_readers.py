"""The gateway's public readers for other parts of fmops: a key check, the ledger's rows, latency
percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fmops.gateway import LedgerRow, Tenancy, insert_rows, latency_percentiles, read_ledger, verify_key
from fmops.store import open_database


def test_verify_key_accepts_only_a_live_matching_key(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'fmops.sqlite'}")
    tenancy = Tenancy(engine)
    tenancy.create_team("red", store_content=True)
    created = tenancy.create_key("red")
    verified = verify_key(engine, created.key)
    assert verified is not None and (verified.team, verified.key_id) == ("red", created.info.id)
    assert verified.store_content is True
    assert verify_key(engine, created.key[:-2] + "zz") is None  # wrong secret
    assert verify_key(engine, "fmr_not-a-gateway-key") is None
    expiring = tenancy.create_key("red", expires_in=timedelta(hours=1)).key
    assert verify_key(engine, expiring) is not None
    assert verify_key(engine, expiring, now=datetime.now(UTC) + timedelta(hours=2)) is None
    tenancy.revoke_key(created.info.id)
    assert verify_key(engine, created.key) is None


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_read_ledger_and_latency_percentiles(
    tmp_path: Path, dialect: str, request: pytest.FixtureRequest
) -> None:
    # Latency is computed by the database (julianday on SQLite, epoch on PostgreSQL): both are checked.
    url = (
        f"sqlite:///{tmp_path / 'fmops.sqlite'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
    )
    engine = open_database(url)
    now = datetime.now(UTC)
    rows = [
        LedgerRow(
            request_id=f"r{i}",
            received_at=now - timedelta(minutes=10 - i),
            done_at=now - timedelta(minutes=10 - i) + timedelta(seconds=i + 1),
            team_id="a" if i % 2 else "b",
            model="qa" if i < 8 else "other",
            endpoint="chat",
            status=200,
            response=f"answer {i}" if i % 3 == 0 else None,
        )
        for i in range(10)
    ]
    insert_rows(engine, rows)
    read = read_ledger(engine, since=now - timedelta(minutes=8))
    assert [r.request_id for r in read] == [f"r{i}" for i in range(2, 10)]  # oldest first
    assert all(r.received_at.tzinfo is not None for r in read)
    stored = read_ledger(engine, models=["qa"], stored_only=True)
    assert [r.request_id for r in stored] == ["r0", "r3", "r6"] and stored[0].response == "answer 0"
    assert [r.request_id for r in read_ledger(engine, team_id="a", models=["other"])] == ["r9"]
    latency = latency_percentiles(engine)
    assert latency["qa"][50.0] == pytest.approx(4.5) and latency["other"][95.0] == pytest.approx(9.95)
    assert set(latency_percentiles(engine, team_id="b")) == {"qa", "other"}
    assert latency_percentiles(engine, since=now + timedelta(minutes=1)) == {}
