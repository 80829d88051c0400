"""Next-topic suggestions: what the niche knows about that the channel has not covered yet.

Candidates are the niche's notes topics and the topics its stored facts were gathered for;
those the channel already covered (same similarity rule as the coverage check) are left out.
Topics with more live facts come first: they make the best-supported videos.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from knowledge.coverage import SIMILARITY_THRESHOLD, list_coverage
from knowledge.models import Fact
from knowledge.search import live_condition
from knowledge.store import utcnow
from knowledge.text import jaccard
from niches.config import NicheConfig
from niches.notes import read_notes
from tubeflow.db.engine import Database
from tubeflow.settings import Settings


async def suggest_topics(
    db: Database, channel: str, niche: NicheConfig, n: int = 5, now: datetime | None = None
) -> list[str]:
    now = now or utcnow()
    counts: dict[str, int] = {}
    for note in read_notes(niche.notes_dir):
        counts[note.title] = max(counts.get(note.title, 0), len(note.facts))
    async with db.session() as session:
        rows = await session.execute(
            select(Fact.topic, func.count())
            .where(Fact.niche == niche.name, Fact.topic != "", live_condition(now))
            .group_by(Fact.topic)
        )
        for topic, count in rows.all():
            counts[topic] = max(counts.get(topic, 0), int(count))
    covered = await list_coverage(db, channel)
    fresh: list[tuple[str, int]] = []
    for topic, count in counts.items():
        if any(max(jaccard(topic, c.topic), jaccard(topic, c.angle)) >= SIMILARITY_THRESHOLD for c in covered):
            continue
        if any(jaccard(topic, t) >= SIMILARITY_THRESHOLD for t, _ in fresh):
            continue  # the same topic gathered twice under slightly different wording
        fresh.append((topic, count))
    fresh.sort(key=lambda tc: (-tc[1], tc[0].lower()))
    return [t for t, _ in fresh[:n]]


async def suggest_for_channel(settings: Settings, db: Database, channel: str, count: int = 5) -> list[str]:
    """`tubeflow topics CHANNEL`: the channel's niche comes from the router (channels table)."""
    from niches.router import NicheRouter

    comp = await NicheRouter(settings).for_channel(db, channel)
    return await suggest_topics(db, channel, comp.niche, count)
