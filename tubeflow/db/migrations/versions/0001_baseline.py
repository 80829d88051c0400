"""Baseline: the schema ``create_all`` made before migrations (core, knowledge and GPU ledger tables).

A database made by ``create_all`` has some or all of these tables and no ``alembic_version``; this
revision creates only what is missing (tables, their indexes, the full-text index), so such a
database is upgraded in place with its rows.  A table that exists is left as it is.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# Frozen copy of knowledge/models.py's full-text DDL as it was at this revision.
FTS_TABLE = "knowledge_facts_fts"
SQLITE_FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(claim, topic, content='knowledge_facts', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS knowledge_facts_ai AFTER INSERT ON knowledge_facts BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, claim, topic) VALUES (new.id, new.claim, new.topic); END",
    f"CREATE TRIGGER IF NOT EXISTS knowledge_facts_ad AFTER DELETE ON knowledge_facts BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, claim, topic) VALUES ('delete', old.id, old.claim, old.topic); END",
    f"CREATE TRIGGER IF NOT EXISTS knowledge_facts_au AFTER UPDATE OF claim, topic ON knowledge_facts BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, claim, topic) VALUES ('delete', old.id, old.claim, old.topic); "
    f"INSERT INTO {FTS_TABLE}(rowid, claim, topic) VALUES (new.id, new.claim, new.topic); END",
)
POSTGRES_FTS_DDL = (
    "CREATE INDEX IF NOT EXISTS knowledge_facts_fts_idx ON knowledge_facts "
    "USING GIN (to_tsvector('simple'::regconfig, claim || ' ' || topic))",
)


def _table(name: str, *items: sa.schema.SchemaItem, indexes: Sequence[tuple[str, list[str]]] = ()) -> None:
    """Create the table unless it exists, then any of its indexes that are missing."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(name):
        op.create_table(name, *items)
        have: set[str] = set()
    else:
        have = {ix["name"] for ix in inspector.get_indexes(name) if ix["name"]}
    for index, columns in indexes:
        if index not in have:
            op.create_index(index, name, columns, unique=False)


def upgrade() -> None:
    _table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    _table(
        "channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    _table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=[("ix_events_at", ["at"]), ("ix_events_production_id_id", ["production_id", "id"])],
    )
    _table(
        "gpu_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=128), nullable=False),
        sa.Column("workflow_id", sa.String(length=256), nullable=False),
        sa.Column("production_id", sa.String(length=128), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("price_per_hour", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "workflow_id", "day", name="uq_gpu_usage_instance_workflow_day"),
        indexes=[("ix_gpu_usage_day", ["day"]), ("ix_gpu_usage_production", ["production_id"])],
    )
    _table(
        "knowledge_coverage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("angle", sa.String(length=300), nullable=False),
        sa.Column("production_id", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=[("ix_knowledge_coverage_channel", ["channel"])],
    )
    _table(
        "knowledge_facts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=True),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("claim_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        indexes=[
            ("ix_knowledge_facts_claim_key", ["claim_key"]),
            ("ix_knowledge_facts_niche", ["niche"]),
            ("knowledge_facts_niche_key", ["niche", "claim_key"]),
        ],
    )
    _table(
        "knowledge_learnings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=[("ix_knowledge_learnings_niche", ["niche"]), ("knowledge_learnings_scope", ["niche", "channel"])],
    )
    _table(
        "knowledge_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=[("ix_knowledge_outcomes_production_id", ["production_id"])],
    )
    _table(
        "productions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("niche", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("checkpoint", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("artifacts", JSON, nullable=False),
        sa.Column("outputs", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        indexes=[
            ("ix_productions_channel_id", ["channel_id"]),
            ("ix_productions_created_at", ["created_at"]),
            ("ix_productions_stage", ["stage"]),
            ("ix_productions_state", ["state"]),
        ],
    )
    _table(
        "assets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meta", JSON, nullable=False),
        sa.ForeignKeyConstraint(["production_id"], ["productions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("production_id", "key", name="uq_assets_production_key"),
        indexes=[("ix_assets_production_id", ["production_id"])],
    )
    _table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("production_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["production_id"], ["productions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("production_id", "stage", "attempt", "at", name="uq_reviews_decision"),
        indexes=[("ix_reviews_production_id", ["production_id"])],
    )
    _full_text_index()


def _full_text_index() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for stmt in POSTGRES_FTS_DDL:
            op.execute(stmt)
        return
    if bind.dialect.name != "sqlite":
        return
    for stmt in SQLITE_FTS_DDL:
        op.execute(stmt)
    # A create_all database whose facts predate the FTS table: index the rows it already has.
    fts_rows = bind.execute(sa.text(f"SELECT count(*) FROM {FTS_TABLE}_docsize")).scalar_one()
    fact_rows = bind.execute(sa.text("SELECT count(*) FROM knowledge_facts")).scalar_one()
    if fts_rows != fact_rows:
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not downgraded: restore a backup instead")
