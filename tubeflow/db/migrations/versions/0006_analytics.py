"""analytics: per-video day stats, retention curves, collection runs

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _channel_fk() -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    return sa.Column("channel_id", sa.Integer(), nullable=False), sa.ForeignKeyConstraint(
        ["channel_id"], ["channels.id"], ondelete="CASCADE"
    )


def upgrade() -> None:
    col, fk = _channel_fk()
    op.create_table(
        "analytics_videos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        col,
        sa.Column("video_id", sa.String(length=64), nullable=False),
        sa.Column("production_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("thumbnail", sa.String(length=200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        fk,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "video_id", name="uq_analytics_videos"),
    )
    col, fk = _channel_fk()
    op.create_table(
        "analytics_video_days",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        col,
        sa.Column("video_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("watch_minutes", sa.Float(), nullable=False),
        sa.Column("avg_view_duration_s", sa.Float(), nullable=False),
        sa.Column("avg_view_pct", sa.Float(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=True),
        sa.Column("ctr", sa.Float(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("subscribers_gained", sa.Integer(), nullable=False),
        fk,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "video_id", "day", name="uq_analytics_video_day"),
    )
    col, fk = _channel_fk()
    op.create_table(
        "analytics_retention",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        col,
        sa.Column("video_id", sa.String(length=64), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("watch_ratio", sa.Float(), nullable=False),
        sa.Column("relative", sa.Float(), nullable=True),
        fk,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "video_id", "ratio", name="uq_analytics_retention"),
    )
    col, fk = _channel_fk()
    op.create_table(
        "analytics_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        col,
        sa.Column("at", TS, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("start_day", sa.String(length=10), nullable=False),
        sa.Column("end_day", sa.String(length=10), nullable=False),
        sa.Column("videos", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        fk,
        sa.PrimaryKeyConstraint("id"),
    )
    for table in ("analytics_videos", "analytics_video_days", "analytics_retention", "analytics_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_channel_id"), ["channel_id"], unique=False)


def downgrade() -> None:
    for table in ("analytics_runs", "analytics_retention", "analytics_video_days", "analytics_videos"):
        op.drop_table(table)
