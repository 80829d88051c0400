"""Collecting how published videos perform: YouTube Analytics API v2 ``reports.query`` plus the Data API.

Per video and day: views, watch time, average view duration and percentage, likes, subscribers
gained (one query), thumbnail impressions and click-through rate (a second query, "where
available": channels without that report answer 400 and the numbers stay empty), the
audience-retention curve (``elapsedVideoTimeRatio`` -> ``audienceWatchRatio``), and titles and
lengths from ``videos.list``.  The first run backfills ``BACKFILL_DAYS``; later runs re-read from
two days before the last stored day, because YouTube revises its latest days.

Every call is booked in the same quota ledger as uploads, under the account's Google Cloud
project, before it is made; when the budget is spent the run is reported ``quota`` and the next
run picks up from where the data stops.  An account connected before the analytics scope was
requested is reported ``missing_scope`` with what to do; it does not fail the workflow.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from activities.youtube import Credentials, YouTubeClient, check
from tubeflow.db import analytics_repo, channel_repo
from tubeflow.db.analytics_repo import DayStat
from tubeflow.db.engine import Database
from tubeflow.errors import AccountNeedsReconnect, PermanentError, QuotaExhausted
from tubeflow.settings import Settings
from tubeflow.youtube_quota import UNIT_COST, pacific_day

DEFAULT_ANALYTICS_URL = "https://youtubeanalytics.googleapis.com"
BACKFILL_DAYS = 28
REVISE_DAYS = 2
DAY_METRICS = "views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage,likes,subscribersGained"
REACH_METRICS = "videoThumbnailImpressions,videoThumbnailImpressionsClickRate"
RETENTION_METRICS = "audienceWatchRatio,relativeRetentionPerformance"
SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"


class MissingScope(PermanentError):
    """The account's authorization does not include yt-analytics.readonly."""


@dataclass
class CollectResult:
    channel: str
    status: str  # ok | missing_scope | reconnect_needed | quota | not_connected
    detail: str = ""
    start_day: str = ""
    end_day: str = ""
    videos: int = 0
    days: int = 0
    units: int = 0


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    names = [str(h.get("name")) for h in body.get("columnHeaders") or []]
    return [dict(zip(names, r, strict=False)) for r in body.get("rows") or []]


class AnalyticsClient:
    """``GET /v2/reports`` on the Analytics host with the channel's token (refreshed by google-auth)."""

    def __init__(self, yt: YouTubeClient, base_url: str = "") -> None:
        self.yt = yt
        self.base_url = (base_url or DEFAULT_ANALYTICS_URL).rstrip("/")

    def report(self, what: str, **params: str) -> list[dict[str, Any]]:
        resp = self.yt._send("GET", f"{self.base_url}/v2/reports", what, params={"ids": "channel==MINE", **params})
        if resp.status_code == 403 and re.search(
            r"insufficient|SCOPE_INSUFFICIENT|insufficientPermissions", resp.text, re.IGNORECASE
        ):
            raise MissingScope(
                "the channel's Google authorization lacks the yt-analytics.readonly scope; reconnect it "
                "(`tubeflow channel connect CHANNEL` or Connect YouTube on its page) to grant analytics access"
            )
        check(resp, what)
        return _rows(resp.json())

    def day_stats(self, video_id: str, start: str, end: str) -> list[DayStat]:
        got = self.report(
            "reports.query (daily)",
            startDate=start,
            endDate=end,
            metrics=DAY_METRICS,
            dimensions="day",
            filters=f"video=={video_id}",
            sort="day",
        )
        return [
            DayStat(
                video_id,
                str(r["day"]),
                views=int(r.get("views") or 0),
                watch_minutes=float(r.get("estimatedMinutesWatched") or 0.0),
                avg_view_duration_s=float(r.get("averageViewDuration") or 0.0),
                avg_view_pct=float(r.get("averageViewPercentage") or 0.0),
                likes=int(r.get("likes") or 0),
                subscribers_gained=int(r.get("subscribersGained") or 0),
            )
            for r in got
        ]

    def reach(self, video_id: str, start: str, end: str) -> dict[str, tuple[int, float]]:
        """day -> (impressions, CTR %); empty where YouTube does not offer the report (400)."""
        try:
            got = self.report(
                "reports.query (impressions)",
                startDate=start,
                endDate=end,
                metrics=REACH_METRICS,
                dimensions="day",
                filters=f"video=={video_id}",
                sort="day",
            )
        except MissingScope:
            raise
        except PermanentError as e:
            if "(400" in str(e):
                return {}
            raise
        return {
            str(r["day"]): (
                int(r.get("videoThumbnailImpressions") or 0),
                float(r.get(REACH_METRICS.split(",")[1]) or 0),
            )
            for r in got
        }

    def retention(self, video_id: str, start: str, end: str) -> list[tuple[float, float, float | None]]:
        got = self.report(
            "reports.query (retention)",
            startDate=start,
            endDate=end,
            metrics=RETENTION_METRICS,
            dimensions="elapsedVideoTimeRatio",
            filters=f"video=={video_id}",
            sort="elapsedVideoTimeRatio",
        )
        out: list[tuple[float, float, float | None]] = []
        for r in got:
            rel = r.get("relativeRetentionPerformance")
            out.append(
                (float(r["elapsedVideoTimeRatio"]), float(r["audienceWatchRatio"]), None if rel is None else float(rel))
            )
        return out


def iso_seconds(duration: str) -> float:
    """ISO-8601 durations as videos.list gives them (PT1M48S)."""
    m = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration or "")
    if not m:
        return 0.0
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


def video_details(yt: YouTubeClient, ids: list[str]) -> dict[str, dict[str, Any]]:
    """videos.list in batches of 50: title and length per id."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 50):
        body = yt._json_call(
            "GET",
            "/youtube/v3/videos",
            "videos.list",
            params={"part": "snippet,contentDetails,statistics", "id": ",".join(ids[i : i + 50])},
        )
        for item in body.get("items") or []:
            out[str(item["id"])] = {
                "title": str((item.get("snippet") or {}).get("title") or ""),
                "duration_s": iso_seconds(str((item.get("contentDetails") or {}).get("duration") or "")),
            }
    return out


def calls_needed(videos: int) -> list[str]:
    """The calls one run makes, for the ledger: videos.list per 50 videos, three reports per video."""
    return ["videos.list"] * ((videos + 49) // 50) + ["analytics.reports.query"] * (3 * videos)


def _units(calls: list[str]) -> int:
    return sum(UNIT_COST.get(c, 1) for c in calls)


Curves = dict[str, list[tuple[float, float, float | None]]]  # video -> retention curve
Reports = tuple[dict[str, dict[str, Any]], list[DayStat], Curves]  # details, day stats, curves
Videos = list[tuple[str, str, str]]  # (video id, production id, title) of the published videos


async def collect_channel(settings: Settings, db: Database, channel: str, today: date | None = None) -> CollectResult:
    """One collection run for one channel; the outcome is recorded and returned, never raised for
    a channel that simply cannot be read (no account, no scope, reconnect needed, quota spent)."""
    today = today or datetime.now(UTC).date()
    opened = await _open_account(settings, db, channel)
    if isinstance(opened, CollectResult):
        return opened
    yt, client, project = opened

    videos = await analytics_repo.published_videos(db, channel)
    last = await analytics_repo.last_day(db, channel)
    start = date.fromisoformat(last) - timedelta(days=REVISE_DAYS) if last else today - timedelta(days=BACKFILL_DAYS)
    start_s, end_s = start.isoformat(), today.isoformat()
    res = CollectResult(channel, "ok", start_day=start_s, end_day=end_s)
    if not videos:
        res.detail = "no published videos yet"
        await analytics_repo.record_run(db, channel, res.status, res.detail, start_day=start_s, end_day=end_s)
        return res

    units = _units(calls_needed(len(videos)))
    day = pacific_day(datetime.now(UTC))
    booked = await channel_repo.spend_quota(db, project, day, units, settings.youtube_daily_quota)
    if booked is None:
        res.status = "quota"
        res.detail = f"project {project!r} has not {units} YouTube quota units left today; collecting tomorrow"
        await analytics_repo.record_run(db, channel, res.status, res.detail, start_day=start_s, end_day=end_s)
        return res
    res.units = units

    try:
        reports = await asyncio.to_thread(_fetch_reports, yt, client, videos, start_s, end_s)
    except MissingScope as e:
        res.status, res.detail = "missing_scope", str(e)
    except AccountNeedsReconnect as e:
        await channel_repo.mark_reconnect_needed(db, channel, str(e))
        res.status, res.detail = "reconnect_needed", str(e)
    except QuotaExhausted as e:
        await channel_repo.exhaust_quota(db, project, day, settings.youtube_daily_quota)
        res.status, res.detail = "quota", str(e)
    if res.status != "ok":
        await analytics_repo.record_run(
            db, channel, res.status, res.detail, start_day=start_s, end_day=end_s, units=units
        )
        return res
    await _save_reports(db, channel, videos, reports, res)
    return res


async def _open_account(
    settings: Settings, db: Database, channel: str
) -> tuple[YouTubeClient, AnalyticsClient, str] | CollectResult:
    """The channel's clients and the quota project they spend, or the recorded reason there are none."""
    from activities.youtube import FILE_PROJECT
    from tubeflow.secret_box import SecretBox

    found = await channel_repo.account_credentials(db, channel)
    if found is None:
        res = CollectResult(channel, "not_connected", "no YouTube account connected; nothing to collect")
        await analytics_repo.record_run(db, channel, res.status, res.detail)
        return res
    account, sealed = found
    if account.status != "connected":
        res = CollectResult(channel, "reconnect_needed", f"the YouTube account needs reconnecting ({account.reason})")
        await analytics_repo.record_run(db, channel, res.status, res.detail)
        return res
    project = account.project or FILE_PROJECT
    creds = Credentials(json.loads(SecretBox.from_settings(settings).open(sealed)), "the channel's YouTube account")
    yt = YouTubeClient(creds, settings.youtube_base_url)
    return yt, AnalyticsClient(yt, settings.youtube_analytics_url), project


def _fetch_reports(yt: YouTubeClient, client: AnalyticsClient, videos: Videos, start_s: str, end_s: str) -> Reports:
    """Every video's details, day stats (with reach where YouTube has it) and retention (blocking)."""
    details = video_details(yt, [v for v, _, _ in videos])
    stats: list[DayStat] = []
    curves: Curves = {}
    for vid, _, _ in videos:
        days = client.day_stats(vid, start_s, end_s)
        reach = client.reach(vid, start_s, end_s)
        for st in days:
            if st.day in reach:
                st.impressions, st.ctr = reach[st.day]
        stats.extend(days)
        curves[vid] = client.retention(vid, start_s, end_s)
    return details, stats, curves


async def _save_reports(db: Database, channel: str, videos: Videos, reports: Reports, res: CollectResult) -> None:
    details, stats, curves = reports
    for vid, pid, title in videos:
        d = details.get(vid, {})
        await analytics_repo.save_video(
            db,
            channel,
            vid,
            production_id=pid,
            title=str(d.get("title") or title),
            duration_s=float(d.get("duration_s") or 0),
        )
        if curves.get(vid):
            await analytics_repo.save_retention(db, channel, vid, curves[vid])
    res.days = await analytics_repo.save_days(db, channel, stats)
    res.videos = len(videos)
    res.detail = f"{res.days} video-days for {res.videos} videos"
    days = {"start_day": res.start_day, "end_day": res.end_day}
    await analytics_repo.record_run(db, channel, res.status, res.detail, **days, videos=res.videos, units=res.units)
