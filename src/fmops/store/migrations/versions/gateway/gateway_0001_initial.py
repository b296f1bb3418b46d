"""gateway: organisations, teams, keys, budgets, audit log, usage ledger and daily rollups

Revision ID: gateway_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0001"
down_revision = None
branch_labels = ("gateway",)
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_orgs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "gateway_teams",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), sa.ForeignKey("gateway_orgs.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("max_concurrency", sa.Integer, nullable=True),
        sa.Column("store_content", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("guardrail", sa.Text, nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.UniqueConstraint("org_id", "name"),
    )
    op.create_table(
        "gateway_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("team_id", sa.String(40), sa.ForeignKey("gateway_teams.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("models", sa.JSON, nullable=True),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("max_concurrency", sa.Integer, nullable=True),
        sa.Column("expires_at", _TZ, nullable=True),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.Column("replaced_by", sa.String(40), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "gateway_budgets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(250), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("usd", sa.Float, nullable=False),
        sa.UniqueConstraint("scope", "period"),
    )
    op.create_table(
        "gateway_budget_counters",
        sa.Column("scope", sa.String(250), primary_key=True),
        sa.Column("window", sa.String(20), primary_key=True),
        sa.Column("spent", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "gateway_state",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "gateway_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(250), nullable=False),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_table(
        "gateway_ledger",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("received_at", _TZ, nullable=False, index=True),
        sa.Column("first_token_at", _TZ, nullable=True),
        sa.Column("done_at", _TZ, nullable=False),
        sa.Column("org_id", sa.String(40), nullable=True),
        sa.Column("team_id", sa.String(40), nullable=True, index=True),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("end_user", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("deployment", sa.String(300), nullable=True),
        sa.Column("provider", sa.String(50), nullable=True),
        sa.Column("endpoint", sa.String(50), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("token_source", sa.String(20), nullable=True),
        sa.Column("price_input", sa.Float, nullable=True),
        sa.Column("price_output", sa.Float, nullable=True),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_type", sa.String(100), nullable=True),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("fallback", sa.String(200), nullable=True),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("streamed", sa.Boolean, nullable=False),
        sa.Column("guardrail_interventions", sa.Integer, nullable=False),
        sa.Column("prompt", sa.Text, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
    )
    op.create_table(
        "gateway_daily_usage",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("team_id", sa.String(40), primary_key=True),
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "gateway_daily_usage",
        "gateway_ledger",
        "gateway_audit",
        "gateway_state",
        "gateway_budget_counters",
        "gateway_budgets",
        "gateway_keys",
        "gateway_teams",
        "gateway_orgs",
    ):
        op.drop_table(table)
