"""Notes, the worker's, ticker's and scheduled job's records, and every migration run.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("release", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "job_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, index=True),
        sa.Column("enqueued_by", sa.String(255), nullable=False),
        sa.Column("worked_by", sa.String(255), nullable=False),
        sa.Column("release", sa.String(64), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=False),
    )
    for table in ("heartbeats", "scheduled_runs"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("host", sa.String(255), nullable=False),
            sa.Column("release", sa.String(64), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        )
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO migration_runs (revision, ran_at) VALUES ('0001', CURRENT_TIMESTAMP)")


def downgrade() -> None:
    for table in ("migration_runs", "scheduled_runs", "heartbeats", "job_results", "notes"):
        op.drop_table(table)
