"""Upload slots per key

Each ``POST /uploads`` key is recorded with the API key it was issued to, its size and probed type,
so only that key can fill or use it and a per-key quota can be counted.  Uploads made before this
revision have no row: they can no longer be named in a job (upload again).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 22:20:30.751249
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_created_at"))
        batch_op.drop_index(batch_op.f("ix_uploads_api_key_id"))

    op.drop_table("uploads")
