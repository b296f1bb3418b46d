"""experiments: fine-tuning runs, their metrics per step and their checkpoints

Revision ID: experiments_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "experiments_0001"
down_revision = None
branch_labels = ("experiments",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiment_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, index=True),
        sa.Column("base", sa.String(500), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("data_files", sa.JSON, nullable=False),
        sa.Column("base_fingerprint", sa.String(100), nullable=True),
        sa.Column("hardware", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("final_metrics", sa.JSON, nullable=False),
        sa.Column("artefacts", sa.JSON, nullable=False),
        sa.Column("model_spec", sa.String(200), nullable=True),
        sa.Column("comparison_path", sa.String(1000), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
    )
    op.create_table(
        "experiment_metrics",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("experiment_runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        "experiment_checkpoints",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("experiment_runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("experiment_checkpoints")
    op.drop_table("experiment_metrics")
    op.drop_table("experiment_runs")
