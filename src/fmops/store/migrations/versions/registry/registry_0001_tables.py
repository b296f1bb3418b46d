"""registry: named entries (models, prompts), immutable versions, moving aliases, alias history, audit log.

Revision ID: registry_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = None

_APPEND_ONLY = "registry_audit is append-only"


def upgrade() -> None:
    op.create_table(
        "registry_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lock_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("kind", "name", name="uq_registry_entries_kind_name"),
    )
    op.create_table(
        "registry_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("registry_entries.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("entry_id", "version", name="uq_registry_versions_entry_version"),
    )
    op.create_table(
        "registry_aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("registry_entries.id"), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("entry_id", "alias", name="uq_registry_aliases_entry_alias"),
    )
    op.create_table(
        "registry_alias_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("registry_entries.id"), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_index("ix_registry_alias_events_entry_alias", "registry_alias_events", ["entry_id", "alias"])
    op.create_table(
        "registry_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    # The audit log refuses updates and deletes in the database itself, not only in fmops's code.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION registry_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER registry_audit_no_change BEFORE UPDATE OR DELETE ON registry_audit "
            "FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER registry_audit_no_{event.lower()} BEFORE {event} ON registry_audit "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS registry_audit_no_change ON registry_audit")
        op.execute("DROP FUNCTION IF EXISTS registry_audit_append_only()")
    for table in (
        "registry_audit",
        "registry_alias_events",
        "registry_aliases",
        "registry_versions",
        "registry_entries",
    ):
        op.drop_table(table)
