"""YouTube Data API v3 quota: the documented unit cost of each call and when the daily quota resets.

Every Google Cloud project gets a daily budget (10,000 units by default) that resets at midnight
Pacific time; an upload costs 1,600 units, so six uploads a day exhaust a default project.
Costs from https://developers.google.com/youtube/v3/determine_quota_cost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
UNIT_COST: dict[str, int] = {
    "videos.insert": 1600,
    "videos.update": 50,
    "videos.list": 1,
    "thumbnails.set": 50,
    "captions.insert": 400,
    "playlistItems.insert": 50,
    "channels.list": 1,
    # The Analytics API has its own per-project limits; tubeflow books each report here too (1 unit)
    # so one ledger shows everything a project's clients asked of YouTube.
    "analytics.reports.query": 1,
}


def pacific_day(now: datetime) -> str:
    return now.astimezone(PACIFIC).strftime("%Y-%m-%d")


def next_reset(now: datetime) -> datetime:
    """The next midnight in America/Los_Angeles (DST-aware), as an aware datetime."""
    local = now.astimezone(PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)


def cost(calls: list[str]) -> int:
    return sum(UNIT_COST[c] for c in calls)
