"""What YouTube Analytics reported per channel and video: days, retention curves, collection runs;
and what TikTok and Instagram reported per post and day.

Writes are upserts keyed by (channel, video, day) or (channel, video, ratio): a retried activity
or a re-fetched recent day (YouTube revises the last two or three days) replaces, never doubles.
A platform post's day is keyed by (platform, post, day): a second run on the same day replaces
that day's figures with the newer ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from tubeflow.db.engine import Database
from tubeflow.db.models import (
    AnalyticsRunRow,
    AnalyticsVideoRow,
    ChannelRow,
    PlatformPostDayRow,
    PublicationRow,
    RetentionPointRow,
    VideoDayStatRow,
)
from tubeflow.db.records import PLATFORM_METRICS, PlatformPostDay
from tubeflow.db.repo import NotFoundError
from tubeflow.db.types import utcnow

DAY_FIELDS = (
    "views",
    "watch_minutes",
    "avg_view_duration_s",
    "avg_view_pct",
    "impressions",
    "ctr",
    "likes",
    "subscribers_gained",
)


@dataclass
class DayStat:
    video_id: str
    day: str
    views: int = 0
    watch_minutes: float = 0.0
    avg_view_duration_s: float = 0.0
    avg_view_pct: float = 0.0
    impressions: int | None = None
    ctr: float | None = None
    likes: int = 0
    subscribers_gained: int = 0


@dataclass
class VideoSummary:
    """A video's totals over the days collected; averages weighted by views (CTR by impressions)."""

    video_id: str
    production_id: str = ""
    title: str = ""
    duration_s: float = 0.0
    thumbnail: str = ""
    views: int = 0
    watch_minutes: float = 0.0
    avg_view_duration_s: float = 0.0
    avg_view_pct: float = 0.0
    impressions: int | None = None
    ctr: float | None = None
    likes: int = 0
    subscribers_gained: int = 0
    days: int = 0
    cost_usd: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    channel: str
    at: str
    status: str
    detail: str
    start_day: str
    end_day: str
    videos: int
    units: int
    platform: str = "youtube"


async def _channel_id(db: Database, name: str) -> int:
    async with db.session() as s:
        cid = (await s.execute(select(ChannelRow.id).where(ChannelRow.name == name))).scalar()
    if cid is None:
        raise NotFoundError(f"unknown channel {name!r}; create it with `tubeflow channel add {name} --niche NICHE`")
    return int(cid)


async def published_videos(db: Database, channel: str) -> list[tuple[str, str, str]]:
    """(video_id, production_id, title) of the channel's videos that YouTube holds."""
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        rows = await s.execute(
            select(PublicationRow.video_id, PublicationRow.production_id, PublicationRow.title)
            .where(PublicationRow.channel_id == cid, PublicationRow.video_id != "")
            .order_by(PublicationRow.id)
        )
        return [(v, p, t) for v, p, t in rows.all()]


async def save_video(
    db: Database, channel: str, video_id: str, *, production_id: str, title: str, duration_s: float, thumbnail: str = ""
) -> None:
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        row = (
            await s.execute(
                select(AnalyticsVideoRow).where(
                    AnalyticsVideoRow.channel_id == cid, AnalyticsVideoRow.video_id == video_id
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = AnalyticsVideoRow(channel_id=cid, video_id=video_id)
            s.add(row)
        row.production_id, row.title, row.duration_s = production_id, title, duration_s
        if thumbnail:
            row.thumbnail = thumbnail
        row.updated_at = utcnow()


async def save_days(db: Database, channel: str, stats: list[DayStat]) -> int:
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        for st in stats:
            row = (
                await s.execute(
                    select(VideoDayStatRow).where(
                        VideoDayStatRow.channel_id == cid,
                        VideoDayStatRow.video_id == st.video_id,
                        VideoDayStatRow.day == st.day,
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                row = VideoDayStatRow(channel_id=cid, video_id=st.video_id, day=st.day)
                s.add(row)
            for f in DAY_FIELDS:
                setattr(row, f, getattr(st, f))
    return len(stats)


async def save_retention(
    db: Database, channel: str, video_id: str, points: list[tuple[float, float, float | None]]
) -> None:
    """Replace the video's curve with ``points`` (ratio, audienceWatchRatio, relativeRetentionPerformance)."""
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        await s.execute(
            delete(RetentionPointRow).where(RetentionPointRow.channel_id == cid, RetentionPointRow.video_id == video_id)
        )
        for ratio, watch, rel in points:
            s.add(RetentionPointRow(channel_id=cid, video_id=video_id, ratio=ratio, watch_ratio=watch, relative=rel))


async def last_day(db: Database, channel: str) -> str | None:
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        got = (await s.execute(select(func.max(VideoDayStatRow.day)).where(VideoDayStatRow.channel_id == cid))).scalar()
        return str(got) if got else None


async def record_run(
    db: Database,
    channel: str,
    status: str,
    detail: str = "",
    *,
    start_day: str = "",
    end_day: str = "",
    videos: int = 0,
    units: int = 0,
    platform: str = "youtube",
) -> None:
    """``videos`` counts what the run read: YouTube videos, or a platform's posts."""
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        s.add(
            AnalyticsRunRow(
                channel_id=cid,
                at=utcnow(),
                status=status,
                detail=detail,
                start_day=start_day,
                end_day=end_day,
                videos=videos,
                units=units,
                platform=platform,
            )
        )


async def runs(db: Database, channel: str, limit: int = 10, platform: str = "youtube") -> list[RunRecord]:
    """The channel's latest collection runs of one platform (YouTube's unless ``platform`` says)."""
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        rows = (
            (
                await s.execute(
                    select(AnalyticsRunRow)
                    .where(AnalyticsRunRow.channel_id == cid, AnalyticsRunRow.platform == platform)
                    .order_by(AnalyticsRunRow.id.desc())
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        return [
            RunRecord(
                channel, r.at.isoformat(), r.status, r.detail, r.start_day, r.end_day, r.videos, r.units, r.platform
            )
            for r in rows
        ]


async def day_stats(db: Database, channel: str, video_id: str = "") -> list[DayStat]:
    cid = await _channel_id(db, channel)
    stmt = select(VideoDayStatRow).where(VideoDayStatRow.channel_id == cid)
    if video_id:
        stmt = stmt.where(VideoDayStatRow.video_id == video_id)
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(VideoDayStatRow.day, VideoDayStatRow.video_id))).scalars().all()
        return [DayStat(r.video_id, r.day, **{f: getattr(r, f) for f in DAY_FIELDS}) for r in rows]


def daily_totals(stats: list[DayStat]) -> list[dict[str, Any]]:
    """The channel's views and watch time per day (all videos summed), oldest first."""
    out: dict[str, dict[str, Any]] = {}
    for st in stats:
        d = out.setdefault(st.day, {"day": st.day, "views": 0, "watch_minutes": 0.0})
        d["views"] += st.views
        d["watch_minutes"] = round(d["watch_minutes"] + st.watch_minutes, 2)
    return [out[k] for k in sorted(out)]


def summarize(stats: list[DayStat]) -> dict[str, VideoSummary]:
    out: dict[str, VideoSummary] = {}
    weights: dict[str, dict[str, float]] = {}
    for st in stats:
        v = out.setdefault(st.video_id, VideoSummary(st.video_id))
        w = weights.setdefault(st.video_id, {"dur": 0.0, "pct": 0.0, "clicks": 0.0})
        v.days += 1
        v.views += st.views
        v.watch_minutes += st.watch_minutes
        v.likes += st.likes
        v.subscribers_gained += st.subscribers_gained
        w["dur"] += st.avg_view_duration_s * st.views
        w["pct"] += st.avg_view_pct * st.views
        if st.impressions is not None and st.ctr is not None:
            v.impressions = (v.impressions or 0) + st.impressions
            w["clicks"] += st.impressions * st.ctr / 100.0
    for vid, v in out.items():
        w = weights[vid]
        v.watch_minutes = round(v.watch_minutes, 2)
        if v.views:
            v.avg_view_duration_s = round(w["dur"] / v.views, 1)
            v.avg_view_pct = round(w["pct"] / v.views, 1)
        if v.impressions:
            v.ctr = round(100.0 * w["clicks"] / v.impressions, 2)
    return out


async def video_summaries(db: Database, channel: str) -> list[VideoSummary]:
    """Every video of the channel with collected numbers, most viewed first."""
    cid = await _channel_id(db, channel)
    sums = summarize(await day_stats(db, channel))
    async with db.session() as s:
        vids = (await s.execute(select(AnalyticsVideoRow).where(AnalyticsVideoRow.channel_id == cid))).scalars().all()
        for row in vids:
            v = sums.setdefault(row.video_id, VideoSummary(row.video_id))
            v.production_id, v.title, v.duration_s, v.thumbnail = (
                row.production_id,
                row.title,
                row.duration_s,
                row.thumbnail,
            )
    return sorted(sums.values(), key=lambda v: (-v.views, v.video_id))


async def retention(db: Database, channel: str, video_id: str) -> list[tuple[float, float, float | None]]:
    cid = await _channel_id(db, channel)
    async with db.session() as s:
        rows = await s.execute(
            select(RetentionPointRow.ratio, RetentionPointRow.watch_ratio, RetentionPointRow.relative)
            .where(RetentionPointRow.channel_id == cid, RetentionPointRow.video_id == video_id)
            .order_by(RetentionPointRow.ratio)
        )
        return [(float(a), float(b), None if c is None else float(c)) for a, b, c in rows.all()]


# ---------------------------------------------------------------- TikTok / Instagram posts


async def save_platform_days(db: Database, channel: str, days: list[PlatformPostDay]) -> int:
    """Store each post's figures for its day: the day's row is replaced when it exists (a rerun)."""
    cid = await _channel_id(db, channel)
    now = utcnow()
    async with db.session() as s:
        for d in days:
            row = (
                await s.execute(
                    select(PlatformPostDayRow).where(
                        PlatformPostDayRow.platform == d.platform,
                        PlatformPostDayRow.post_id == d.post_id,
                        PlatformPostDayRow.day == d.day,
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                row = PlatformPostDayRow(platform=d.platform, post_id=d.post_id, day=d.day)
                s.add(row)
            row.channel_id, row.production_id, row.idx, row.collected_at = cid, d.production_id, d.idx, now
            for f in PLATFORM_METRICS:
                setattr(row, f, getattr(d, f))
    return len(days)


async def platform_days(db: Database, channel: str, platform: str = "") -> list[PlatformPostDay]:
    """The channel's stored post-days (one platform's, or all), oldest day first."""
    cid = await _channel_id(db, channel)
    stmt = select(PlatformPostDayRow).where(PlatformPostDayRow.channel_id == cid)
    if platform:
        stmt = stmt.where(PlatformPostDayRow.platform == platform)
    order = (PlatformPostDayRow.day, PlatformPostDayRow.platform, PlatformPostDayRow.post_id)
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(*order))).scalars().all()
        return [
            PlatformPostDay(
                r.platform, r.post_id, r.production_id, r.idx, r.day, **{f: getattr(r, f) for f in PLATFORM_METRICS}
            )
            for r in rows
        ]


def latest_per_post(days: list[PlatformPostDay]) -> dict[tuple[str, str], PlatformPostDay]:
    """(platform, post id) -> its newest day: the figures are lifetime totals, so the newest holds them all."""
    out: dict[tuple[str, str], PlatformPostDay] = {}
    for d in days:
        key = (d.platform, d.post_id)
        if key not in out or d.day >= out[key].day:
            out[key] = d
    return out
