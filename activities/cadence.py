"""What a cadence run starts: back-pressure first, then a topic (backlog, else the best suggestion).

The production id comes from the schedule run's run id, so a retried activity finds the
production (and the backlog topic) it already took instead of taking another.
"""

from __future__ import annotations

import hashlib

from niches.channel_profile import production_input
from niches.config import load_niche
from tubeflow.contracts import CadencePlan
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import Database
from tubeflow.settings import Settings


def cadence_production_id(run_id: str) -> str:
    return "c" + hashlib.sha256(run_id.encode()).hexdigest()[:11]


async def plan_production(settings: Settings, db: Database, channel: str, run_id: str) -> CadencePlan:
    ch = await repo.get_channel(db, channel)
    cs = await channel_repo.channel_settings(db, channel)
    niche = load_niche(ch.niche, settings)
    pid = cadence_production_id(run_id)
    try:
        existing = await repo.get_production(db, pid)
    except repo.NotFoundError:
        existing = None
    if existing is not None:  # this run already made it (a retry): start the same one
        inp = production_input(settings, pid, channel, niche, cs, existing.topic)
        return CadencePlan(inp, "", cs.priority, "retry")
    active = await channel_repo.active_topics(db, channel)
    if len(active) >= cs.max_waiting_reviews:
        return CadencePlan(
            None,
            f"back-pressure: {len(active)} productions of {channel!r} are still before publishing "
            f"(max_waiting_reviews={cs.max_waiting_reviews})",
            cs.priority,
        )
    topic = await channel_repo.take_topic(db, channel, pid)
    source = "backlog"
    if topic is not None:
        text = topic.topic
    else:
        from knowledge.topics import suggest_for_channel

        busy = {t.lower() for t in active}
        suggestions = [t for t in await suggest_for_channel(settings, db, channel, 10) if t.lower() not in busy]
        if not suggestions:
            return CadencePlan(
                None, f"no topic: the backlog of {channel!r} is empty and nothing is left to suggest", cs.priority
            )
        text, source = suggestions[0], "suggestion"
    await repo.create_production(db, channel, text, production_id=pid)
    return CadencePlan(production_input(settings, pid, channel, niche, cs, text), "", cs.priority, source)
