"""What each channel already published, so a channel does not repeat itself by accident.

Topics are compared after normalisation (accents, stopwords, plurals) with token Jaccard
similarity: "Why is the sky blue?" repeats "why the sky is blue" but not "why sunsets are red".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from knowledge.models import Coverage
from knowledge.store import as_utc, utcnow
from knowledge.text import jaccard
from tubeflow.db.engine import Database

SIMILARITY_THRESHOLD = 0.6


@dataclass(frozen=True)
class CoverageRecord:
    channel: str
    topic: str
    angle: str
    production_id: str
    published_at: datetime
    similarity: float = 1.0


async def record_coverage(
    db: Database,
    channel: str,
    topic: str,
    production_id: str = "",
    *,
    angle: str = "",
    niche: str = "",
    published_at: datetime | None = None,
) -> None:
    """Remember that ``channel`` published ``topic`` (the same production twice is one entry)."""
    async with db.session() as session:
        if production_id:
            existing = (
                await session.execute(
                    select(Coverage).where(Coverage.channel == channel, Coverage.production_id == production_id)
                )
            ).scalar_one_or_none()
            if existing is not None:
                existing.topic, existing.angle = topic[:300], (angle or existing.angle)[:300]
                return
        session.add(
            Coverage(
                channel=channel,
                niche=niche,
                topic=topic[:300],
                angle=angle[:300],
                production_id=production_id,
                published_at=published_at or utcnow(),
            )
        )


async def list_coverage(db: Database, channel: str) -> list[CoverageRecord]:
    async with db.session() as session:
        rows = (
            await session.execute(
                select(Coverage).where(Coverage.channel == channel).order_by(Coverage.published_at.desc())
            )
        ).scalars()
        return [
            CoverageRecord(r.channel, r.topic, r.angle, r.production_id, as_utc(r.published_at) or utcnow())
            for r in rows
        ]


def similarity(topic: str, record: CoverageRecord) -> float:
    """A new topic repeats an entry when it matches its topic or its angle (often the video title)."""
    return max(jaccard(topic, record.topic), jaccard(topic, record.angle) if record.angle else 0.0)


async def check_coverage(
    db: Database, channel: str, topic: str, threshold: float = SIMILARITY_THRESHOLD
) -> CoverageRecord | None:
    """The earlier coverage this topic repeats (the most similar), or None when it is new."""
    best: CoverageRecord | None = None
    for rec in await list_coverage(db, channel):
        sim = similarity(topic, rec)
        if sim >= threshold and (best is None or sim > best.similarity):
            best = CoverageRecord(rec.channel, rec.topic, rec.angle, rec.production_id, rec.published_at, sim)
    return best
