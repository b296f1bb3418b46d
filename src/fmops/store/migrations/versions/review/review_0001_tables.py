"""review: human review queues built from runs, their items per reviewer, answers, and reviewer keys.

Revision ID: review_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "review_0001"
down_revision = None
branch_labels = ("review",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_reviewers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "review_queues",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("run_path", sa.Text, nullable=False),
        sa.Column("run_path_b", sa.Text, nullable=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("scale_min", sa.Integer, nullable=False, server_default="1"),
        sa.Column("scale_max", sa.Integer, nullable=False, server_default="5"),
        sa.Column("rubric", sa.Text, nullable=False, server_default=""),
        sa.Column("judge_score", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("queue_id", sa.Integer, sa.ForeignKey("review_queues.id"), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("b_first", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("preference", sa.String(8), nullable=True),
        sa.Column("chosen_position", sa.String(8), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("answered_at", sa.String(40), nullable=True),
        sa.UniqueConstraint("queue_id", "reviewer", "row", name="uq_review_items_queue_reviewer_row"),
    )
    op.create_index("ix_review_items_queue_reviewer", "review_items", ["queue_id", "reviewer"])


def downgrade() -> None:
    op.drop_index("ix_review_items_queue_reviewer", "review_items")
    op.drop_table("review_items")
    op.drop_table("review_queues")
    op.drop_table("review_reviewers")
