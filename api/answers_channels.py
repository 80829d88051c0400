"""Answers of the channel routes: a channel's settings and account, analytics, topics and calendar."""

from __future__ import annotations

from pydantic import Field

from api.answers import Answer
from tubeflow.channel_settings import ChannelSettings
from tubeflow.db.analytics_repo import DayStat, RunRecord, VideoSummary


class AccountOut(Answer):
    """The YouTube channel a tubeflow channel publishes to; never its credentials."""

    channel: str
    project: str
    youtube_channel_id: str
    youtube_title: str
    status: str = Field(description="connected | reconnect_needed")
    reason: str
    connected_at: str
    updated_at: str


class PlatformAccountOut(Answer):
    """A TikTok or Instagram account the channel's Shorts also go to; never its token."""

    channel: str
    platform: str = Field(description="tiktok | instagram")
    account_id: str
    account_name: str
    status: str = Field(description="connected | reconnect_needed")
    reason: str
    expires_at: str | None
    connected_at: str
    updated_at: str


class PlatformPostOut(Answer):
    """One Short on one platform: its slot there and what happened (status, and why)."""

    id: int
    production_id: str
    channel: str
    platform: str
    idx: int
    publish_at: str | None
    status: str = Field(
        description="reserved | posting | published | waiting | reconnect_needed | needs_attention | skipped"
    )
    post_id: str
    location: str
    caption: str
    reason: str
    posted_at: str | None
    calendar_at: str | None = None


class CadenceOut(Answer):
    """The channel's Temporal Schedule, or ``error`` when Temporal could not describe it."""

    id: str | None = None
    paused: bool | None = None
    note: str | None = None
    next: list[str] | None = Field(default=None, description="the next start times")
    runs: int | None = None
    error: str | None = None


class ChannelView(Answer):
    name: str
    niche: str
    settings: ChannelSettings
    youtube: AccountOut | None
    platforms: list[PlatformAccountOut] = Field(default_factory=list, description="TikTok / Instagram accounts")
    cadence: CadenceOut | None


class DailyTotal(Answer):
    day: str
    views: int
    watch_minutes: float


class PlatformFigures(Answer):
    """A Short's (or a platform's summed) lifetime figures; null where the platform does not report
    the metric (TikTok: reach and saves)."""

    views: int | None = Field(description="TikTok view_count; Instagram views (plays on older API versions)")
    likes: int | None
    comments: int | None
    shares: int | None
    reach: int | None
    saves: int | None


class PlatformShortOut(PlatformFigures):
    """One Short's post on the platform, with its figures as of ``day`` (the latest collection)."""

    platform: str
    post_id: str
    production_id: str
    idx: int = Field(description="the Short's index within its production")
    day: str
    title: str = Field(description="the production's title")
    url: str


class PlatformReport(Answer):
    """TikTok's or Instagram's part of the analytics report."""

    platform: str = Field(description="tiktok | instagram")
    label: str
    account: str
    account_status: str = Field(description="connected | reconnect_needed | disconnected")
    last_run: RunRecord | None
    totals: PlatformFigures
    shorts: list[PlatformShortOut] = Field(description="most viewed first")


class ChannelReport(Answer):
    channel: str
    daily: list[DailyTotal]
    videos: list[VideoSummary]
    runs: list[RunRecord] = Field(description="YouTube's collection runs, newest first")
    platforms: list[PlatformReport] = Field(default_factory=list, description="TikTok / Instagram")


class RetentionPoint(Answer):
    ratio: float = Field(description="position in the video, 0..1")
    watch_ratio: float
    relative: float | None


class SectionOut(Answer):
    """A script section as a span of the video, with the audience it kept (``tubeflow.analytics_report.Section``)."""

    name: str
    start: float
    end: float
    start_s: float
    end_s: float
    retention_start: float | None
    retention_end: float | None
    drop: float | None
    sharp: bool


class VideoReport(Answer):
    channel: str
    video: VideoSummary
    days: list[DayStat]
    retention: list[RetentionPoint]
    sections: list[SectionOut]


class TopicOut(Answer):
    id: int
    channel: str
    topic: str
    added_at: str
    production_id: str | None
    used_at: str | None


class PublicationOut(Answer):
    """A video's place on the channel's calendar."""

    id: int
    production_id: str
    channel: str
    kind: str
    idx: int
    publish_at: str | None
    status: str
    video_id: str
    location: str
    title: str
    calendar_at: str | None = Field(
        default=None, description="publish_at, or when a video published at once went up: where calendars place it"
    )


class Pending(Answer):
    id: str
    channel: str
    title: str
    state: str


class CalendarOut(Answer):
    start: str
    end: str
    items: list[PublicationOut]
    platform_posts: list[PlatformPostOut] = Field(
        default_factory=list, description="the Shorts' posts on TikTok and Instagram in the window, by calendar_at"
    )
    pending: list[Pending] = Field(description="what waits in review, is blocked or needs attention")
