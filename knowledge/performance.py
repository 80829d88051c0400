"""What published videos teach: analytics outcomes become learnings with their evidence.

Three kinds, each stored per channel with the video ids and numbers it rests on and an expiry
(audiences change; the next collection renews what still holds):

- ``analytics:topic``: how well a topic held viewers (average view percentage), and how many
  views its Shorts got per Short on TikTok and on Instagram; `tubeflow topics` ranks similar
  candidate topics up or down by the platform where they did best (:func:`topic_adjustments`).
- ``analytics:retention``: a hook or section where the audience drops sharply; the script
  writer reads it (prompt and script checkpoint) as advice on hook and section length.
- ``analytics:thumbnail``: which thumbnail option was chosen and the CTR it got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from knowledge.store import add_learning, forget_learnings, get_learnings, utcnow
from knowledge.text import jaccard
from tubeflow.analytics_report import sections_of, with_retention
from tubeflow.db import analytics_repo, repo
from tubeflow.db.engine import Database
from tubeflow.platforms import PLATFORM_LABELS
from tubeflow.storage import Storage

LEARNING_TTL = timedelta(days=90)
MIN_VIEWS = 20  # fewer views say nothing about a topic
SIMILAR = 0.25  # token Jaccard at which a candidate topic counts as similar to a published one
MEANINGFUL_POINTS = 5.0  # view-percentage points from the channel's average that move a ranking
MEANINGFUL_RATIO = 0.25  # a platform's views per Short this far from its channel average move a ranking
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
    return stored + await _learn_from_platforms(db, niche, channel, now)


async def _learn_from_platforms(db: Database, niche: str, channel: str, now: datetime) -> int:
    """One ``analytics:topic`` learning per production and platform: its Shorts' views per Short there.

    A Short is judged by views on TikTok and Instagram (no view percentage there), against the
    same platform's channel average only: TikTok and Instagram audiences differ in size."""
    latest = analytics_repo.latest_per_post(await analytics_repo.platform_days(db, channel))
    grouped: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for d in latest.values():
        grouped.setdefault((d.platform, d.production_id), []).append((d.post_id, d.views or 0))
    stored = 0
    for (platform, pid), posts in sorted(grouped.items()):
        views = sum(v for _, v in posts)
        if views < MIN_VIEWS:
            continue
        try:
            prod = await repo.get_production(db, pid)
        except repo.NotFoundError:
            continue
        topic, label, ids = prod.topic or prod.title, PLATFORM_LABELS.get(platform, platform), [p for p, _ in posts]
        per_short = round(views / len(posts), 1)
        shorts = f"{len(posts)} Shorts, posts {', '.join(ids)}"
        text = f'Topic "{topic}" got {per_short:,.0f} {label} views per Short ({shorts})'
        evidence = {
            "platform": platform,
            "video_ids": ids,
            "topic": topic,
            "views": views,
            "views_per_short": per_short,
        }
        await add_learning(
            db, niche, text, ORIGIN_TOPIC, channel=channel, weight=0.0, now=now, evidence=evidence, ttl=LEARNING_TTL
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
    """For each candidate similar to published topics: how those did against the channel's average,
    on the platform where they did best (YouTube: average view percentage; TikTok and Instagram:
    views per Short), so a topic that does well somewhere is not ranked down for doing badly elsewhere."""
    outcomes = [
        lr
        for lr in await get_learnings(db, niche, channel, limit=500, origins=(ORIGIN_TOPIC,), now=now)
        if lr.channel == channel and lr.evidence
    ]
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for lr in outcomes:
        if lr.evidence:
            by_platform.setdefault(str(lr.evidence.get("platform") or "youtube"), []).append(lr.evidence)
    averages = {p: sum(_score(p, e) for e in es) / len(es) for p, es in by_platform.items()}
    out: dict[str, TopicAdjustment] = {}
    for cand in candidates:
        best: tuple[float, str, float, list[dict[str, Any]]] | None = None
        for platform, evidences in by_platform.items():
            similar = [e for e in evidences if jaccard(cand, str(e["topic"])) >= SIMILAR]
            channel_avg = averages[platform]
            if not similar or channel_avg <= 0:
                continue
            avg = sum(_score(platform, e) for e in similar) / len(similar)
            if best is None or avg / channel_avg > best[0]:
                best = (avg / channel_avg, platform, avg, similar)
        if best is None:
            continue
        ratio, platform, avg, similar = best
        channel_avg = averages[platform]
        youtube = platform == "youtube"
        if (abs(avg - channel_avg) < MEANINGFUL_POINTS) if youtube else (abs(ratio - 1.0) < MEANINGFUL_RATIO):
            continue
        ids = ", ".join(str(i) for e in similar for i in e["video_ids"])
        direction = "ranked up" if avg > channel_avg else "ranked down"
        factor = max(0.5, min(2.0, ratio))
        if youtube:
            said = (
                f"similar topics averaged {avg:.0f}% view percentage (channel average {channel_avg:.0f}%; videos {ids})"
            )
        else:
            label = PLATFORM_LABELS.get(platform, platform)
            said = (
                f"similar topics averaged {avg:,.0f} {label} views per Short "
                f"(channel average {channel_avg:,.0f}; posts {ids})"
            )
        out[cand] = TopicAdjustment(factor, f"{direction}: {said}")
    return out


def _score(platform: str, evidence: dict[str, Any]) -> float:
    """What a topic learning measures: view percentage on YouTube, views per Short elsewhere."""
    return float(evidence["avg_view_pct"] if platform == "youtube" else evidence["views_per_short"])
