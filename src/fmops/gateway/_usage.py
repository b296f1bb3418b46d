"""Usage and cost from the ledger, grouped by team, key, model, user, day or status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, func, select

from fmops.core.errors import BadInputError
from fmops.gateway._tables import LedgerEntry, Team

DIMENSIONS = ("team", "key", "model", "user", "day", "status", "deployment")


def _day(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", LedgerEntry.received_at), "YYYY-MM-DD")
    return func.substr(LedgerEntry.received_at, 1, 10)


def usage(
    engine: Engine,
    by: list[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    team_id: str | None = None,
) -> list[dict[str, Any]]:
    """One row per group: requests, errors, tokens in/out, cost (and the token sources seen)."""
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise BadInputError(f"--by {','.join(unknown)}: expected some of {', '.join(DIMENSIONS)}")
    columns = {
        "team": func.coalesce(Team.name, LedgerEntry.team_id),
        "key": LedgerEntry.key_id,
        "model": LedgerEntry.model,
        "user": LedgerEntry.end_user,
        "day": _day(engine),
        "status": LedgerEntry.status,
        "deployment": LedgerEntry.deployment,
    }
    groups = [columns[b].label(b) for b in by]
    stmt = select(
        *groups,
        func.count().label("requests"),
        func.sum(case((LedgerEntry.status >= 400, 1), else_=0)).label("errors"),
        func.coalesce(func.sum(LedgerEntry.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(LedgerEntry.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(LedgerEntry.cost), 0.0).label("cost"),
    ).select_from(LedgerEntry.__table__.outerjoin(Team.__table__, Team.id == LedgerEntry.team_id))
    if since is not None:
        stmt = stmt.where(LedgerEntry.received_at >= _utc(since))
    if until is not None:
        stmt = stmt.where(LedgerEntry.received_at < _utc(until))
    if team_id is not None:
        stmt = stmt.where(LedgerEntry.team_id == team_id)
    if groups:
        stmt = stmt.group_by(*groups).order_by(*groups)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            **{b: row[b] for b in by},
            "requests": int(row["requests"]),
            "errors": int(row["errors"] or 0),
            "input_tokens": int(row["input_tokens"]),
            "output_tokens": int(row["output_tokens"]),
            "cost": round(float(row["cost"]), 9),
        }
        for row in rows
    ]


def parse_since(value: str | None) -> datetime | None:
    """`2026-12-01`, an ISO time, or a relative `7d` / `24h` / `30m`."""
    if value is None:
        return None
    from datetime import timedelta

    units = {"d": "days", "h": "hours", "m": "minutes"}
    if value[:-1].isdigit() and value[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInputError(
            f"--since {value!r}: expected a date (2026-12-01), an ISO time, or 7d / 24h / 30m"
        ) from None
    return _utc(parsed)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
