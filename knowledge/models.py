"""Knowledge tables on the shared declarative Base.

Every row carries its niche (facts, learnings) or channel (coverage) so that queries can filter
strictly: a science channel must never read a finance channel's facts.  The tables and the
full-text index are created by the schema migrations (:mod:`tubeflow.db.migrate`), never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tubeflow.db.base import Base
from tubeflow.db.types import JSONType


class Fact(Base):
    __tablename__ = "knowledge_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    niche: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(128), nullable=True)  # None = the whole niche
    claim: Mapped[str] = mapped_column(Text)
    claim_key: Mapped[str] = mapped_column(String(64), index=True)  # normalised hash for dedupe
    # Newline-separated URLs or document names; merging duplicates unions them.
    source: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(32), default="manual")  # notes | wikipedia | manual | llm
    topic: Mapped[str] = mapped_column(String(300), default="")  # what it was researched for
    language: Mapped[str] = mapped_column(String(16), default="en")
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def sources(self) -> list[str]:
        return [s for s in self.source.split("\n") if s.strip()]


class Learning(Base):
    __tablename__ = "knowledge_learnings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    niche: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(128), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(64))  # review:script, outcome:published, ...
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Learnings from analytics carry what they were concluded from (video ids, numbers) and go
    # stale like facts: audiences change, so a lesson is dropped unless new numbers renew it.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Coverage(Base):
    __tablename__ = "knowledge_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(128), index=True)
    niche: Mapped[str] = mapped_column(String(64), default="")
    topic: Mapped[str] = mapped_column(String(300))
    angle: Mapped[str] = mapped_column(String(300), default="")
    production_id: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Outcome(Base):
    __tablename__ = "knowledge_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(128), default="")
    niche: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(64))  # published | rejected | failed | cancelled | ...
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The full-text index is raw SQL in the migrations (tubeflow/db/migrations, revision 0001): an FTS5
# external-content table kept in sync by triggers on SQLite, a GIN index on
# to_tsvector('simple', claim || ' ' || topic) on PostgreSQL (the claim plus the topic it was
# researched for, so a fact about Lord Rayleigh is found for "why is the sky blue").
FTS_TABLE = "knowledge_facts_fts"

Index("knowledge_facts_niche_key", Fact.niche, Fact.claim_key)
Index("knowledge_learnings_scope", Learning.niche, Learning.channel)
