"""The query engine: which stored facts of a niche best support a topic.

Full-text relevance comes from the database itself (SQLite FTS5 ``bm25`` or PostgreSQL
``ts_rank``) and is weighted by each fact's confidence.  Two rules are absolute and applied in
SQL, not after the fact: only the requested niche's facts are considered, and expired facts are
never returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, literal_column, or_, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from knowledge.models import FTS_TABLE, Fact
from knowledge.store import as_utc, utcnow
from knowledge.text import jaccard, raw_tokens
from tubeflow.db.engine import Database

PG_CONFIGS = {"en": "english", "pt": "portuguese", "es": "spanish", "fr": "french", "de": "german", "it": "italian"}
MAX_QUERY_TERMS = 12
MIN_RELATIVE_SCORE = 0.25  # facts scoring below this share of the best one are dropped


@dataclass(frozen=True)
class RankedFact:
    id: int
    claim: str
    sources: list[str]
    confidence: float
    origin: str
    topic: str
    first_seen: datetime
    last_seen: datetime
    expires_at: datetime | None
    score: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.sources[0] if self.sources else ""

    def to_dict(self, origin: str | None = None, rank: int | None = None) -> dict[str, Any]:
        """The JSON shape research hands to the script stage (``rank`` 1 = most relevant)."""
        out = {
            "claim": self.claim,
            "source": self.source,
            "sources": list(self.sources),
            "confidence": round(self.confidence, 3),
            "origin": origin or self.origin,
        }
        if rank is not None:
            out["rank"] = rank
        return out


def live_condition(now: datetime) -> ColumnElement[bool]:
    return or_(Fact.expires_at.is_(None), Fact.expires_at > now)


def _scope(niche: str, channel: str | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Fact.niche == niche]
    conds.append(Fact.channel.is_(None) if channel is None else or_(Fact.channel.is_(None), Fact.channel == channel))
    return conds


def _row_to_ranked(f: Fact, relevance: float, query: str = "") -> RankedFact:
    # A fact gathered for this very topic (same notes file or search) beats a stray word match.
    boost = 1.0 + 2.0 * jaccard(query, f.topic) if query else 1.0
    return RankedFact(
        id=f.id,
        claim=f.claim,
        sources=f.sources,
        confidence=f.confidence,
        origin=f.origin,
        topic=f.topic,
        first_seen=as_utc(f.first_seen) or utcnow(),
        last_seen=as_utc(f.last_seen) or utcnow(),
        expires_at=as_utc(f.expires_at),
        score=relevance * boost * (0.5 + 0.5 * f.confidence),
    )


async def rank_facts(
    db: Database,
    niche: str,
    topic: str,
    limit: int = 8,
    now: datetime | None = None,
    *,
    channel: str | None = None,
    language: str = "en",
) -> list[RankedFact]:
    """Live facts of ``niche`` matching ``topic``, best first (relevance x confidence).

    ``channel`` widens the niche-wide facts with that channel's own; other channels' private
    facts are never returned.  An empty list means the store knows nothing about the topic.
    """
    now = now or utcnow()
    terms = list(dict.fromkeys(raw_tokens(topic)))[:MAX_QUERY_TERMS]
    if not terms or limit <= 0:
        return []
    async with db.session() as session:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        if dialect == "postgresql":
            cfg: ColumnElement[Any] = literal_column(f"'{PG_CONFIGS.get(language.split('-')[0], 'simple')}'::regconfig")
            vec = func.to_tsvector(cfg, Fact.claim + literal_column("' '") + Fact.topic)
            query = func.to_tsquery(cfg, " | ".join(terms))
            rel = func.ts_rank(vec, query)
            stmt = select(Fact, rel.label("rel")).where(
                vec.op("@@")(query), live_condition(now), *_scope(niche, channel)
            )
            stmt = stmt.order_by(rel.desc(), Fact.id).limit(limit * 4)
            rows = (await session.execute(stmt)).all()
            ranked = [_row_to_ranked(f, float(r), topic) for f, r in rows]
        elif dialect == "sqlite":
            fts = table(FTS_TABLE, column("rowid"))
            bm25 = func.bm25(literal_column(FTS_TABLE))
            match = " OR ".join(f'"{t}"' for t in terms)
            stmt = (
                select(Fact, bm25.label("rel"))
                .join(fts, fts.c.rowid == Fact.id)
                .where(
                    text(f"{FTS_TABLE} MATCH :match").bindparams(match=match),
                    live_condition(now),
                    *_scope(niche, channel),
                )
                .order_by(bm25, Fact.id)
                .limit(limit * 4)
            )
            rows = (await session.execute(stmt)).all()
            ranked = [_row_to_ranked(f, -float(r), topic) for f, r in rows]  # bm25: lower is better
        else:
            raise NotImplementedError(f"full-text ranking is not implemented for the {dialect} dialect")
    ranked.sort(key=lambda r: (-r.score, r.id))
    if ranked:  # a stray shared word ("form" in black holes for rainbows) is not support
        floor = ranked[0].score * MIN_RELATIVE_SCORE
        ranked = [r for r in ranked if r.score >= floor]
    return ranked[:limit]


async def list_facts(
    db: Database, niche: str, now: datetime | None = None, include_expired: bool = False
) -> list[RankedFact]:
    """Every fact of one niche (newest first); for the CLI, the dashboard and tests."""
    now = now or utcnow()
    async with db.session() as session:
        stmt = select(Fact).where(Fact.niche == niche)
        if not include_expired:
            stmt = stmt.where(live_condition(now))
        rows = (await session.execute(stmt.order_by(Fact.first_seen.desc(), Fact.id.desc()))).scalars()
        return [_row_to_ranked(f, 0.0) for f in rows]
