"""The daily digest: reviews waiting (and productions needing attention), the last day's
publications and what they cost (all of it, and the GPU part, which webhooks had first).

A plain module over the database; the ``build_digest`` activity returns its notification and
the digest workflow sends it like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tubeflow.contracts import Notification
from tubeflow.db.engine import Database


async def build_digest(db: Database, now_iso: str) -> Notification:
    from tubeflow.db import repo

    now = datetime.fromisoformat(now_iso)
    waiting = await repo.list_productions(db, state="waiting", limit=500)
    attention = await repo.list_productions(db, state="needs_attention", limit=500)
    done = await repo.list_productions(db, state="completed", limit=500)
    since = now - timedelta(days=1)
    recent = [p for p in done if p.finished_at is not None and p.finished_at.astimezone(UTC) >= since]
    cost = round(sum(p.cost_usd or 0.0 for p in recent), 4)
    gpu = round(sum(float((p.outputs or {}).get("cost_usd") or 0.0) for p in recent), 4)
    data = {
        "waiting": [{"id": p.id, "channel": p.channel, "topic": p.topic, "checkpoint": p.checkpoint} for p in waiting],
        "needs_attention": [{"id": p.id, "channel": p.channel, "error": p.error} for p in attention],
        "published": [
            {
                "id": p.id,
                "channel": p.channel,
                "title": p.title or p.topic,
                "location": (p.outputs or {}).get("published"),
            }
            for p in recent
        ],  # fmt: skip
        "cost_usd": cost,  # GPU + LLM + paid voice
        "gpu_cost_usd": gpu,
    }
    summary = (
        f"tubeflow daily: {len(waiting)} waiting for review, {len(attention)} need attention, "
        f"{len(recent)} published in the last day, spent ${cost:.2f} (GPU ${gpu:.2f})"
    )
    return Notification("digest", summary, link="/review", data=data, at=now_iso)
