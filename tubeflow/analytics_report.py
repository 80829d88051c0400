"""The numbers `tubeflow stats`, the dashboard's analytics page and the learning loop share.

One place joins what YouTube reported (tubeflow.db.analytics_repo) with what tubeflow knows about
the video: its production's cost, the script's sections and where they start on the timeline,
and the thumbnail option chosen.  Section boundaries are ratios of the video's length, the same
axis as YouTube's ``elapsedVideoTimeRatio``, so a person sees which part loses viewers.

The Shorts on TikTok and Instagram get a section per platform: each post's latest figures (the
platforms report lifetime totals, so the newest day holds them) and the platform's totals, with
None, shown as a dash, for a metric the platform does not report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from tubeflow.contracts import Outputs
from tubeflow.db import analytics_repo, platform_repo, repo
from tubeflow.db.analytics_repo import VideoSummary
from tubeflow.db.engine import Database
from tubeflow.db.records import PLATFORM_METRICS
from tubeflow.platforms import PLATFORM_LABELS, PLATFORM_NAMES
from tubeflow.render_plan import NarrationTiming
from tubeflow.storage import Storage

# A section that loses more than this share of its starting audience, per minute of the section,
# is a "sharp drop" (YouTube's own guidance calls 10-20 % in the first 30 s typical).
SHARP_DROP = 0.25


@dataclass
class Section:
    name: str  # "hook" or the script's section heading
    start: float  # ratio of the video's length, 0..1
    end: float
    start_s: float
    end_s: float
    retention_start: float | None = None  # audienceWatchRatio where it starts
    retention_end: float | None = None
    drop: float | None = None  # share of the section's starting audience lost within it

    @property
    def sharp(self) -> bool:
        return self.drop is not None and self.drop >= SHARP_DROP


def _at(points: list[tuple[float, float, float | None]], ratio: float) -> float | None:
    """The curve's value nearest ``ratio`` (YouTube reports it in steps of 0.01)."""
    if not points:
        return None
    return min(points, key=lambda p: abs(p[0] - ratio))[1]


def sections_of(storage: Storage, artifacts: dict[str, Any], video_s: float) -> list[Section]:
    """The hook and each script section as spans of the video; empty when the files are gone."""
    timing_key, script_key = str(artifacts.get("timing") or ""), str(artifacts.get("script") or "")
    if not timing_key or not storage.exists(timing_key):
        return []
    timing = NarrationTiming.from_json(storage.get_text(timing_key))
    headings: list[str] = []
    if script_key and storage.exists(script_key):
        script = json.loads(storage.get_text(script_key))
        headings = [str(s.get("heading") or "") for s in script.get("sections") or []]
    total = video_s if video_s > 0 else timing.duration_s
    if total <= 0:
        return []
    out = []
    for p in timing.parts:
        if p.kind == "hook":
            name = "hook"
        elif p.section is not None and p.section < len(headings) and headings[p.section]:
            name = headings[p.section]
        else:
            name = f"section {p.index}"
        out.append(Section(name, min(1.0, p.start / total), min(1.0, p.end / total), p.start, p.end))
    return out


def with_retention(sections: list[Section], points: list[tuple[float, float, float | None]]) -> list[Section]:
    for s in sections:
        s.retention_start, s.retention_end = _at(points, max(s.start, 0.01)), _at(points, s.end)
        if s.retention_start and s.retention_end is not None:
            s.drop = round(max(0.0, 1.0 - s.retention_end / s.retention_start), 3)
    return sections


async def _costs(db: Database, summaries: list[VideoSummary]) -> None:
    """Spend as the production's workflow counted it: GPU time, the LLM's tokens and a paid voice's
    characters where they are priced (Piper, eSpeak and the offline writer cost nothing extra)."""
    for v in summaries:
        if not v.production_id:
            continue
        try:
            prod = await repo.get_production(db, v.production_id)
        except repo.NotFoundError:
            continue
        out = Outputs.from_dict(prod.outputs)
        # Spend added outside the workflow (repo.add_cost: a cloud bill booked later) counts as GPU.
        v.cost_usd = {"gpu": round((out.cost_usd or 0.0) + max(0.0, prod.cost_usd - out.spent_usd()), 4)}
        v.cost_usd.update(
            {k: round(x, 4) for k, x in (("llm", out.llm_cost_usd), ("tts", out.tts_cost_usd)) if x is not None}
        )


async def channel_report(db: Database, channel: str) -> dict[str, Any]:
    videos = await analytics_repo.video_summaries(db, channel)
    await _costs(db, videos)
    stats = await analytics_repo.day_stats(db, channel)
    runs = await analytics_repo.runs(db, channel, limit=5)
    return {
        "channel": channel,
        "daily": analytics_repo.daily_totals(stats),
        "videos": [v.to_dict() for v in videos],
        "runs": [asdict(r) for r in runs],
        "platforms": await platform_reports(db, channel),
    }


def _total(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


async def platform_reports(db: Database, channel: str) -> list[dict[str, Any]]:
    """Per connected (or once collected) platform: its account, last collection, totals and each Short."""
    accounts = {a.platform: a for a in await platform_repo.list_accounts(db, channel)}
    latest = analytics_repo.latest_per_post(await analytics_repo.platform_days(db, channel))
    posts = {(p.platform, p.post_id): p for p in await platform_repo.list_posts(db, channel) if p.post_id}
    titles: dict[str, str] = {}
    out = []
    for platform in PLATFORM_NAMES:
        mine = [d for (pl, _), d in latest.items() if pl == platform]
        account = accounts.get(platform)
        if not mine and account is None:
            continue
        shorts = []
        for d in mine:
            if d.production_id not in titles:
                try:
                    prod = await repo.get_production(db, d.production_id)
                    titles[d.production_id] = prod.title or prod.topic
                except repo.NotFoundError:
                    titles[d.production_id] = ""
            post = posts.get((platform, d.post_id))
            shorts.append(
                {
                    **d.to_dict(),
                    "title": titles[d.production_id],
                    "url": post.location if post else "",
                }
            )
        shorts.sort(key=lambda x: (-(x["views"] or 0), x["post_id"]))
        runs = await analytics_repo.runs(db, channel, limit=1, platform=platform)
        out.append(
            {
                "platform": platform,
                "label": PLATFORM_LABELS[platform],
                "account": account.account_name if account else "",
                "account_status": account.status if account else "disconnected",
                "last_run": asdict(runs[0]) if runs else None,
                "totals": {m: _total([x[m] for x in shorts]) for m in PLATFORM_METRICS},
                "shorts": shorts,
            }
        )
    return out


async def video_report(db: Database, storage: Storage, channel: str, video_id: str) -> dict[str, Any]:
    videos = {v.video_id: v for v in await analytics_repo.video_summaries(db, channel)}
    if video_id not in videos:
        raise repo.NotFoundError(f"channel {channel!r} has no collected video {video_id!r}")
    v = videos[video_id]
    await _costs(db, [v])
    points = await analytics_repo.retention(db, channel, video_id)
    sections: list[Section] = []
    if v.production_id:
        try:
            prod = await repo.get_production(db, v.production_id)
            sections = with_retention(sections_of(storage, prod.artifacts, v.duration_s), points)
        except repo.NotFoundError:
            pass
    return {
        "channel": channel,
        "video": v.to_dict(),
        "days": [asdict(d) for d in await analytics_repo.day_stats(db, channel, video_id)],
        "retention": [{"ratio": r, "watch_ratio": w, "relative": rel} for r, w, rel in points],
        "sections": [{**asdict(s), "sharp": s.sharp} for s in sections],
    }
