"""platform accounts and posts: TikTok and Instagram accounts per channel, and each Short's post there

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("token_enc", sa.Text(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("account_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("connected_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "platform", name="uq_platform_accounts_channel"),
    )
    op.create_index("ix_platform_accounts_channel_id", "platform_accounts", ["channel_id"])
    op.create_table(
        "platform_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("publish_at", TS, nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=128), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("posted_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("production_id", "platform", "idx", name="uq_platform_posts_entry"),
        sa.UniqueConstraint("channel_id", "platform", "publish_at", name="uq_platform_posts_slot"),
    )
    op.create_index("ix_platform_posts_production_id", "platform_posts", ["production_id"])
    op.create_index("ix_platform_posts_channel_id", "platform_posts", ["channel_id"])
    op.create_index("ix_platform_posts_publish_at", "platform_posts", ["publish_at"])
    op.create_index("ix_platform_posts_posted_at", "platform_posts", ["posted_at"])


def downgrade() -> None:
    for ix in ("posted_at", "publish_at", "channel_id", "production_id"):
        op.drop_index(f"ix_platform_posts_{ix}", table_name="platform_posts")
    op.drop_table("platform_posts")
    op.drop_index("ix_platform_accounts_channel_id", table_name="platform_accounts")
    op.drop_table("platform_accounts")
