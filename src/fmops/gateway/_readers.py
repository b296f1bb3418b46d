"""Public read access for other parts of fmops (the web console): a key check, the ledger's rows, and
latency percentiles. They read what the gateway wrote and change nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, select

from fmops.gateway._keys import secret_matches, split_key
from fmops.gateway._ledger import LedgerRow
from fmops.gateway._tables import LedgerEntry
from fmops.gateway._tenancy import Tenancy


class VerifiedKey(BaseModel):
    """Whose key it is (never the secret nor its hash)."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    team_id: str
    team: str
    org_id: str
    store_content: bool


def verify_key(engine: Engine, key: str, *, now: datetime | None = None) -> VerifiedKey | None:
    """The key's team when `key` is a gateway key (`fmk_...`) that exists, matches (constant-time), and is
    neither revoked nor expired; else None."""
    parts = split_key(key)
    if parts is None:
        return None
    context = Tenancy(engine).key_context(parts[0])
    if context is None or context.revoked or not secret_matches(context.salt, context.hash, parts[1]):
        return None
    if context.expires_at is not None and context.expires_at <= (now or datetime.now(UTC)):
        return None
    return VerifiedKey(
        key_id=context.key_id,
        team_id=context.team_id,
        team=context.team,
        org_id=context.org_id,
        store_content=context.store_content,
    )


def read_ledger(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    team_id: str | None = None,
    models: Iterable[str] | None = None,
    stored_only: bool = False,
) -> list[LedgerRow]:
    """The ledger's rows received in [since, until), oldest first; `stored_only` keeps the requests whose
    answer was stored (teams with `store_content`)."""
    stmt = select(LedgerEntry).order_by(LedgerEntry.received_at, LedgerEntry.request_id)
    if since is not None:
        stmt = stmt.where(LedgerEntry.received_at >= _utc(since))
    if until is not None:
        stmt = stmt.where(LedgerEntry.received_at < _utc(until))
    if team_id is not None:
        stmt = stmt.where(LedgerEntry.team_id == team_id)
    if models is not None:
        stmt = stmt.where(LedgerEntry.model.in_(list(models)))
    if stored_only:
        stmt = stmt.where(LedgerEntry.response.is_not(None))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        LedgerRow.model_validate(
            {**row, "received_at": _utc(row["received_at"]), "done_at": _utc(row["done_at"])}
        )
        for row in rows
    ]


def latency_percentiles(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    team_id: str | None = None,
    percentiles: tuple[float, ...] = (50.0, 95.0),
) -> dict[str, dict[float, float]]:
    """Per public model name: the given percentiles of request latency (received to done) in seconds, each
    request's latency taken to the millisecond."""
    seconds = _seconds(engine)
    stmt = select(
        LedgerEntry.model,
        *(seconds if seconds is not None else (LedgerEntry.received_at, LedgerEntry.done_at)),
    )
    if since is not None:
        stmt = stmt.where(LedgerEntry.received_at >= _utc(since))
    if until is not None:
        stmt = stmt.where(LedgerEntry.received_at < _utc(until))
    if team_id is not None:
        stmt = stmt.where(LedgerEntry.team_id == team_id)
    durations: dict[str, list[float]] = defaultdict(list)
    with engine.connect() as conn:
        for model, *value in conn.execute(stmt):
            took = (
                float(value[0]) if seconds is not None else (_utc(value[1]) - _utc(value[0])).total_seconds()
            )
            # To the millisecond: SQLite's julianday arithmetic is exact to about 10 microseconds.
            durations[model or "?"].append(round(took, 3))
    return {
        model: {p: float(v) for p, v in zip(percentiles, np.percentile(values, percentiles), strict=True)}
        for model, values in sorted(durations.items())
    }


def _seconds(engine: Engine) -> tuple[Any] | None:
    """Request latency as a number computed by the database (reading a million timestamps into Python
    datetimes is what made this slow); None where the dialect has no such expression here."""
    took = LedgerEntry.done_at, LedgerEntry.received_at
    if engine.dialect.name == "sqlite":
        return ((func.julianday(took[0]) - func.julianday(took[1])) * 86400.0,)
    if engine.dialect.name == "postgresql":
        return (func.extract("epoch", took[0] - took[1]),)
    return None


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
