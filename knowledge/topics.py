"""Next-topic suggestions: what the niche knows about that the channel has not covered yet.

Candidates are the niche's notes topics and the topics its stored facts were gathered for;
those the channel already covered (same similarity rule as the coverage check) are left out.
Topics with more live facts come first: they make the best-supported videos.  What published
videos did adjusts that order: a candidate similar to topics that held viewers better than the
channel's average is ranked up, one similar to topics that did worse is ranked down, each with
its explanation (knowledge.performance).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class RankedTopic:
    topic: str
    facts: int
    score: float
    explanation: str = ""  # why analytics moved it ("ranked up: similar topics averaged 62% ...")


async def suggest_topics(
    db: Database, channel: str, niche: NicheConfig, n: int = 5, now: datetime | None = None
) -> list[str]:
    return [r.topic for r in await rank_topics(db, channel, niche, n, now)]


async def rank_topics(
    db: Database, channel: str, niche: NicheConfig, n: int = 5, now: datetime | None = None
) -> list[RankedTopic]:
    from knowledge.performance import topic_adjustments

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
    adjust = await topic_adjustments(db, niche.name, channel, [t for t, _ in fresh], now)
    ranked = []
    for topic, count in fresh:
        a = adjust.get(topic)
        ranked.append(RankedTopic(topic, count, count * (a.factor if a else 1.0), a.explanation if a else ""))
    ranked.sort(key=lambda r: (-r.score, -r.facts, r.topic.lower()))
    return ranked[:n]


async def suggest_for_channel(settings: Settings, db: Database, channel: str, count: int = 5) -> list[str]:
    """`tubeflow topics CHANNEL`: the channel's niche comes from the router (channels table)."""
    return [r.topic for r in await rank_for_channel(settings, db, channel, count)]


async def rank_for_channel(settings: Settings, db: Database, channel: str, count: int = 5) -> list[RankedTopic]:
    from niches.router import NicheRouter

    comp = await NicheRouter(settings).for_channel(db, channel)
    return await rank_topics(db, channel, comp.niche, count)
