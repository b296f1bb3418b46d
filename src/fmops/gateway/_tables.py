"""The gateway's tables: organisations, teams, keys, budgets, the audit log and the usage ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fmops.store import Base


class Org(Base):
    __tablename__ = "gateway_orgs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Team(Base):
    __tablename__ = "gateway_teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("gateway_orgs.id"))
    name: Mapped[str] = mapped_column(String(200))
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_concurrency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Prompts and answers are kept in the ledger only when the team opts in.
    store_content: Mapped[bool] = mapped_column(Boolean, default=False)
    guardrail: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "gateway_keys"

    #: The public part of the key (`fmk_<id>_<secret>`): looked up, then the secret is checked.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("gateway_teams.id"))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    salt: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(128))
    models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_concurrency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    replaced_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Budget(Base):
    __tablename__ = "gateway_budgets"
    __table_args__ = (UniqueConstraint("scope", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: "org:ID", "team:ID", "key:ID" or "model:NAME".
    scope: Mapped[str] = mapped_column(String(250))
    period: Mapped[str] = mapped_column(String(20))
    usd: Mapped[float] = mapped_column(Float)


class BudgetCounter(Base):
    """Spend and reservations of one budget period, when no Redis holds them (nano-USD, exact integers)."""

    __tablename__ = "gateway_budget_counters"

    scope: Mapped[str] = mapped_column(String(250), primary_key=True)
    window: Mapped[str] = mapped_column(String(20), primary_key=True)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class State(Base):
    """Named counters; `version` changes whenever a key, team or budget does (replicas poll it)."""

    __tablename__ = "gateway_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEntry(Base):
    __tablename__ = "gateway_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(250))
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class LedgerEntry(Base):
    """One row per request (see `fmops.gateway.LedgerRow` for the meaning of each field)."""

    __tablename__ = "gateway_ledger"

    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    first_token_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    org_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    end_user: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deployment: Mapped[str | None] = mapped_column(String(300), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(50), nullable=True)
    endpoint: Mapped[str] = mapped_column(String(50))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    token_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    price_input: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_output: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[int] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    fallback: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    guardrail_interventions: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)


class DailyUsage(Base):
    """Daily rollup of the ledger, added to as rows land (what dashboards and `--by day` read fast)."""

    __tablename__ = "gateway_daily_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
