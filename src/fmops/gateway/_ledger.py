"""The usage ledger: one row per request, written ahead to a local journal, then to the database in batches.

A request's row is appended to this replica's journal (one `write`, no fsync: the kernel keeps it when the
process is killed) before the answer is sent; a background task inserts buffered rows in batches. Every
replica holds an exclusive lock on its journal while it lives; a journal whose lock can be taken belongs
to a replica that died, and is replayed into the database (inserts ignore request ids already there).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import socket
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from fmops.gateway._tables import DailyUsage, LedgerEntry

log = logging.getLogger("fmops.gateway")
#: A journal this big, with every row in the database, starts over.
_ROTATE_BYTES = 8 * 1024 * 1024
_BATCH = 2000


class LedgerRow(BaseModel):
    """What one request did and cost (the ledger's row and the journal's line)."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    received_at: datetime
    first_token_at: datetime | None = None
    done_at: datetime
    org_id: str | None = None
    team_id: str | None = None
    key_id: str | None = None
    end_user: str | None = None
    #: The public model name the caller asked for, and the deployment that answered.
    model: str | None = None
    deployment: str | None = None
    provider: str | None = None
    endpoint: str
    input_tokens: int = 0
    output_tokens: int = 0
    #: "upstream" (the deployment's usage), "tokenizer" (counted here) or "estimate" (flagged guess).
    token_source: str | None = None
    #: Unit prices in force for this request, per token.
    price_input: float | None = None
    price_output: float | None = None
    cost: float = 0.0
    status: int
    error_type: str | None = None
    retries: int = 0
    #: The route that answered when it was a fallback.
    fallback: str | None = None
    cache_hit: bool = False
    streamed: bool = False
    guardrail_interventions: int = 0
    prompt: str | None = None
    response: str | None = None


class Journal:
    """This replica's append-only journal file, locked while the replica lives."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.size = 0

    def append(self, line: bytes) -> None:
        os.write(self.fd, line)
        self.size += len(line)

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)
        self.size = 0

    def close(self, *, remove: bool) -> None:
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)

    def orphans(self) -> list[Path]:
        return sorted(p for p in self.directory.glob("*.jsonl") if p != self.path)


def insert_rows(engine: Engine, rows: list[LedgerRow]) -> int:
    """Insert rows whose request id is new, and add them to the daily rollup; returns how many were new."""
    if not rows:
        return 0
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    by_id = {r.request_id: r for r in rows}
    values = [r.model_dump() for r in by_id.values()]
    inserted: list[str] = []
    with engine.begin() as conn:
        for start in range(0, len(values), _BATCH):
            stmt = (
                insert(LedgerEntry)
                .on_conflict_do_nothing(index_elements=["request_id"])
                .returning(LedgerEntry.request_id)
            )
            inserted += list(conn.scalars(stmt, values[start : start + _BATCH]))
        totals: dict[tuple[str, str, str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
        for rid in inserted:
            r = by_id[rid]
            key = (r.received_at.strftime("%Y-%m-%d"), r.team_id or "", r.key_id or "", r.model or "")
            t = totals[key]
            t[0] += 1
            t[1] += r.status >= 400
            t[2] += r.input_tokens
            t[3] += r.output_tokens
            t[4] += r.cost
        for (day, team, key, model), t in sorted(totals.items()):
            stmt = insert(DailyUsage).values(
                day=day,
                team_id=team,
                key_id=key,
                model=model,
                requests=t[0],
                errors=t[1],
                input_tokens=t[2],
                output_tokens=t[3],
                cost=t[4],
            )
            excluded = stmt.excluded
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["day", "team_id", "key_id", "model"],
                    set_={
                        "requests": DailyUsage.requests + excluded.requests,
                        "errors": DailyUsage.errors + excluded.errors,
                        "input_tokens": DailyUsage.input_tokens + excluded.input_tokens,
                        "output_tokens": DailyUsage.output_tokens + excluded.output_tokens,
                        "cost": DailyUsage.cost + excluded.cost,
                    },
                )
            )
    return len(inserted)


def replay(engine: Engine, path: Path) -> int | None:
    """Insert a dead replica's journal and delete it; None when its replica still holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        if not path.exists():  # replayed by another replica between our listing and our lock
            return None
        rows: list[LedgerRow] = []
        with open(fd, "rb", closefd=False) as handle:
            for line in handle:
                if line.endswith(b"\n"):  # a torn last line was never answered
                    rows.append(LedgerRow.model_validate_json(line))
        count = insert_rows(engine, rows)
        path.unlink(missing_ok=True)
        return count
    finally:
        os.close(fd)


class LedgerWriter:
    """Journal first (on the request path, microseconds), database later (batched, off the request path)."""

    def __init__(self, engine: Engine, directory: Path, *, interval_s: float = 0.2) -> None:
        self.engine = engine
        self.journal = Journal(directory)
        self.interval_s = interval_s
        self.pending: list[LedgerRow] = []
        self.written = 0
        self._task: asyncio.Task[None] | None = None
        #: One flush at a time, so `flush()` returns only once rows taken by the background task are in.
        self._flushing = asyncio.Lock()

    def record(self, row: LedgerRow) -> None:
        self.journal.append(row.model_dump_json().encode() + b"\n")
        self.pending.append(row)

    async def start(self) -> None:
        await asyncio.to_thread(self._adopt_orphans)
        self._task = asyncio.create_task(self._run())

    async def flush(self) -> None:
        """Write everything buffered now (tests and shutdown)."""
        await self._flush_once()  # waits for a flush already under way
        while self.pending:
            await self._flush_once()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self.flush()
        except Exception as exc:  # the journal keeps the rows; the next replica replays them
            log.error(
                "ledger: final flush failed, %d rows stay in %s: %s",
                len(self.pending),
                self.journal.path,
                exc,
            )
            self.journal.close(remove=False)
            return
        self.journal.close(remove=True)

    async def _run(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._flush_once()
                ticks += 1
                if ticks % 25 == 0:
                    await asyncio.to_thread(self._adopt_orphans)
            except Exception as exc:
                log.error(
                    "ledger: writing %d rows failed (kept in the journal, retrying): %s",
                    len(self.pending),
                    exc,
                )

    async def _flush_once(self) -> None:
        async with self._flushing:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not self.pending:
            return
        batch = self.pending
        self.pending = []
        try:
            self.written += await asyncio.to_thread(insert_rows, self.engine, batch)
        except BaseException:
            self.pending = batch + self.pending
            raise
        # Same event-loop turn as the check: no row can be journaled between it and the reset.
        if not self.pending and self.journal.size > _ROTATE_BYTES:
            self.journal.reset()

    def _adopt_orphans(self) -> None:
        for path in self.journal.orphans():
            try:
                count = replay(self.engine, path)
            except Exception as exc:
                log.error("ledger: replaying %s failed: %s", path, exc)
                continue
            if count is not None:
                log.warning("ledger: replayed %s from a replica that stopped (%d new rows)", path.name, count)


def journal_dir(configured: Path | None) -> Path:
    from fmops.core.settings import fmops_home

    return configured if configured is not None else fmops_home() / "gateway" / "journal"


def rows_as_dicts(rows: list[LedgerRow]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rows]
