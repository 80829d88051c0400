"""What published videos teach: analytics outcomes become learnings with their evidence.

Three kinds, each stored per channel with the video ids and numbers it rests on and an expiry
(audiences change; the next collection renews what still holds):

- ``analytics:topic``: how well a topic held viewers (average view percentage); `tubeflow
  topics` ranks similar candidate topics up or down by it (:func:`topic_adjustments`).
- ``analytics:retention``: a hook or section where the audience drops sharply; the script
  writer reads it (prompt and script checkpoint) as advice on hook and section length.
- ``analytics:thumbnail``: which thumbnail option was chosen and the CTR it got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from knowledge.store import add_learning, forget_learnings, get_learnings, utcnow
from knowledge.text import jaccard
from tubeflow.analytics_report import sections_of, with_retention
from tubeflow.db import analytics_repo, repo
from tubeflow.db.engine import Database
from tubeflow.storage import Storage

LEARNING_TTL = timedelta(days=90)
MIN_VIEWS = 20  # fewer views say nothing about a topic
SIMILAR = 0.25  # token Jaccard at which a candidate topic counts as similar to a published one
MEANINGFUL_POINTS = 5.0  # view-percentage points from the channel's average that move a ranking
ORIGIN_TOPIC, ORIGIN_RETENTION, ORIGIN_THUMBNAIL = "analytics:topic", "analytics:retention", "analytics:thumbnail"
ANALYTICS_ORIGINS = (ORIGIN_TOPIC, ORIGIN_RETENTION, ORIGIN_THUMBNAIL)


def _thumb_option(key: str) -> int | None:
    """The option index of a thumbnail key (``.../thumbnails/v1-2.jpg`` -> 2)."""
    stem = key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    tail = stem.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


async def learn_from_channel(db: Database, storage: Storage, channel: str, now: datetime | None = None) -> int:
    """Turn the channel's collected numbers into learnings; returns how many were stored.

    The previous analytics learnings of the channel are replaced: each run sees every collected
    day, so what still holds is stored again (its expiry renewed) and what no longer holds goes.
    """
    now = now or utcnow()
    niche = (await repo.get_channel(db, channel)).niche
    await forget_learnings(db, niche, channel, ANALYTICS_ORIGINS)  # recomputed from all collected numbers
    stored = 0
    for v in await analytics_repo.video_summaries(db, channel):
        if not v.production_id or v.views < MIN_VIEWS:
            continue
        try:
            prod = await repo.get_production(db, v.production_id)
        except repo.NotFoundError:
            continue
        topic = prod.topic or v.title
        evidence = {
            "video_ids": [v.video_id],
            "topic": topic,
            "views": v.views,
            "avg_view_pct": v.avg_view_pct,
            "ctr": v.ctr,
        }
        text = (
            f'Topic "{topic}" held {v.avg_view_pct:.0f}% average view percentage ({v.views} views, video {v.video_id})'
        )
        await add_learning(
            db, niche, text, ORIGIN_TOPIC, channel=channel, weight=0.0, now=now, evidence=evidence, ttl=LEARNING_TTL
        )
        stored += 1
        option = _thumb_option(str(prod.outputs.get("thumbnail") or ""))
        if option is not None and v.ctr is not None:
            text = f"Thumbnail option {option} got {v.ctr:.1f}% click-through on video {v.video_id} ({topic})"
            await add_learning(
                db,
                niche,
                text,
                ORIGIN_THUMBNAIL,
                channel=channel,
                weight=0.0,
                now=now,
                evidence={**evidence, "thumbnail_option": option, "impressions": v.impressions},
                ttl=LEARNING_TTL,
            )
            stored += 1
        points = await analytics_repo.retention(db, channel, v.video_id)
        for sec in with_retention(sections_of(storage, prod.artifacts, v.duration_s), points):
            if not sec.sharp or sec.drop is None:
                continue
            length = sec.end_s - sec.start_s
            if sec.name == "hook":
                text = (
                    f"Viewers left during a {length:.0f} s hook (lost {sec.drop:.0%}); "
                    "keep the hook shorter and state the payoff in its first sentence"
                )
            else:
                text = (
                    f'Viewers left during a {length:.0f} s section ("{sec.name}", lost {sec.drop:.0%}); '
                    f"keep sections shorter than {length:.0f} s and open each with its most surprising fact"
                )
            await add_learning(
                db,
                niche,
                text,
                ORIGIN_RETENTION,
                channel=channel,
                weight=1.0,
                now=now,
                evidence={
                    **evidence,
                    "section": sec.name,
                    "start_s": sec.start_s,
                    "end_s": sec.end_s,
                    "retention_start": sec.retention_start,
                    "retention_end": sec.retention_end,
                    "drop": sec.drop,
                },
                ttl=LEARNING_TTL,
            )
            stored += 1
    return stored


@dataclass
class TopicAdjustment:
    factor: float  # multiplies the topic's score: > 1 ranked up, < 1 ranked down
    explanation: str


async def topic_adjustments(
    db: Database, niche: str, channel: str, candidates: list[str], now: datetime | None = None
) -> dict[str, TopicAdjustment]:
    """For each candidate similar to published topics: how those held viewers against the channel's average."""
    outcomes = [
        lr
        for lr in await get_learnings(db, niche, channel, limit=500, origins=(ORIGIN_TOPIC,), now=now)
        if lr.channel == channel and lr.evidence
    ]
    if not outcomes:
        return {}
    pcts = [float(lr.evidence["avg_view_pct"]) for lr in outcomes if lr.evidence]
    channel_avg = sum(pcts) / len(pcts)
    out: dict[str, TopicAdjustment] = {}
    for cand in candidates:
        similar = [e for e in (lr.evidence for lr in outcomes) if e and jaccard(cand, str(e["topic"])) >= SIMILAR]
        if not similar:
            continue
        avg = sum(float(e["avg_view_pct"]) for e in similar) / len(similar)
        if abs(avg - channel_avg) < MEANINGFUL_POINTS:
            continue
        ids = ", ".join(str(i) for e in similar for i in e["video_ids"])
        direction = "ranked up" if avg > channel_avg else "ranked down"
        factor = max(0.5, min(2.0, avg / channel_avg)) if channel_avg > 0 else 1.0
        out[cand] = TopicAdjustment(
            factor,
            f"{direction}: similar topics averaged {avg:.0f}% view percentage "
            f"(channel average {channel_avg:.0f}%; videos {ids})",
        )
    return out
