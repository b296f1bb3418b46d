"""The ledger: idempotent batched inserts with daily rollups, journal replay after SIGKILL, usage queries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fmops.gateway import LedgerRow, insert_rows, replay, usage
from fmops.gateway._tables import DailyUsage
from fmops.store import open_database


def _row(i: int, team: str = "t1", day: int = 6, cost: float = 0.5) -> LedgerRow:
    at = datetime(2026, 12, day, 12, 0, tzinfo=UTC) + timedelta(seconds=i)
    return LedgerRow(
        request_id=f"r{i}", received_at=at, done_at=at, team_id=team, key_id="k", model="chat",
        endpoint="chat/completions", input_tokens=3, output_tokens=2, token_source="upstream", cost=cost,
        status=200 if i % 5 else 429,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_inserts_are_idempotent_and_roll_up_by_day(backend: str, request: pytest.FixtureRequest) -> None:
    import fmops.gateway._tables  # noqa: F401

    engine = open_database(request.getfixturevalue("pg_url") if backend == "postgres" else None)
    rows = [_row(i) for i in range(10)] + [_row(100 + i, team="t2", day=7) for i in range(3)]
    assert insert_rows(engine, rows[:6]) == 6
    assert insert_rows(engine, rows) == 7  # the first six are already in: not counted twice
    with engine.connect() as conn:
        rollup = {
            (d.day, d.team_id): (d.requests, d.errors, d.cost) for d in conn.execute(select(DailyUsage))
        }
    assert rollup == {("2026-12-06", "t1"): (10, 2, 5.0), ("2026-12-07", "t2"): (3, 1, 1.5)}
    by_day = usage(engine, ["day"])
    assert [(r["day"], r["requests"], r["errors"]) for r in by_day] == [
        ("2026-12-06", 10, 2),
        ("2026-12-07", 3, 1),
    ]
    since = usage(engine, ["team"], since=datetime(2026, 12, 7, tzinfo=UTC))
    assert [(r["team"], r["requests"], r["input_tokens"]) for r in since] == [("t2", 3, 9)]


def test_a_killed_writers_journal_is_replayed_once(tmp_path: Path) -> None:
    """A process journals rows and is SIGKILLed before any reaches the database; they are replayed."""
    import fmops.gateway._tables  # noqa: F401

    journal = tmp_path / "journal"
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import UTC, datetime
        from fmops.gateway import LedgerRow
        from pathlib import Path
        from fmops.gateway._ledger import Journal
        j = Journal(Path({str(journal)!r}))
        now = datetime.now(UTC)
        for i in range(25):
            row = LedgerRow(request_id=f"k{{i}}", received_at=now, done_at=now, endpoint="completions", status=200)
            j.append(row.model_dump_json().encode() + b"\\n")
        j.append(b'{{"request_id": "torn"')  # a half-written last line: never answered
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ}, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    files = list(journal.glob("*.jsonl"))
    assert len(files) == 1
    engine = open_database()
    assert replay(engine, files[0]) == 25
    assert not files[0].exists()
    assert usage(engine, [])[0]["requests"] == 25
