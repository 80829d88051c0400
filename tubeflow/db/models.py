"""The tables behind channels, productions, their reviews and assets, API keys and the event feed.

Productions are a projection of workflow state (``apply_snapshot``) so that listing and filtering
never has to ask Temporal; Temporal stays the source of truth for a running production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tubeflow.db.base import Base
from tubeflow.db.types import JSONType, UTCDateTime, utcnow


class ChannelRow(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    niche: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ProductionRow(Base):
    __tablename__ = "productions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="RESTRICT"), index=True)
    topic: Mapped[str] = mapped_column(Text)
    niche: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(200), default="")
    run_id: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str] = mapped_column(String(32), default="queued", index=True)
    state: Mapped[str] = mapped_column(String(16), default="running", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    checkpoint: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Workflow time of the last snapshot applied; older snapshots (retried activities) are ignored.
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class ReviewRow(Base):
    __tablename__ = "reviews"
    # The natural key of a decision: a retried record_review activity must not store it twice.
    __table_args__ = (UniqueConstraint("production_id", "stage", "attempt", "at", name="uq_reviews_decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    approved: Mapped[bool] = mapped_column(Boolean)
    reviewer: Mapped[str] = mapped_column(String(200), default="anonymous")
    feedback: Mapped[str] = mapped_column(Text, default="")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class AssetRow(Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("production_id", "key", name="uq_assets_production_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The key's first characters: enough for a person to tell keys apart in `tubeflow key list`,
    # far too few to guess the rest (the secret part is 43 random characters).
    prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SessionRow(Base):
    """A dashboard sign-in: the cookie holds an opaque token, this row (by the token's hash) names the key."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UploadRow(Base):
    """An upload slot issued to one key by ``POST /uploads``: only that key may fill it or use it."""

    __tablename__ = "uploads"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuthEpochRow(Base):
    """One row whose counter moves on every revocation (key or session).

    Each API process caches verified credentials and re-reads only this counter (at most every
    half second), so a revocation anywhere reaches every process within a second without a
    credential lookup per request.
    """

    __tablename__ = "auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)


class EventRow(Base):
    """Append-only feed; no foreign key so events outlive a deleted production and can be global."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_production_id_id", "production_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class YouTubeAccountRow(Base):
    """The YouTube account a channel publishes to; the OAuth credentials only ever encrypted."""

    __tablename__ = "youtube_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), unique=True)
    # Fernet token of the authorized-user JSON (client id/secret, refresh token, token URI).
    credentials_enc: Mapped[str] = mapped_column(Text)
    project: Mapped[str] = mapped_column(String(200), default="default")  # Google Cloud project: quota ledger key
    youtube_channel_id: Mapped[str] = mapped_column(String(64), default="")
    youtube_title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="connected")  # connected | reconnect_needed
    reason: Mapped[str] = mapped_column(Text, default="")
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PublicationRow(Base):
    """One video on a channel's publishing calendar: its slot, and what YouTube (or the outbox) holds."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("production_id", "kind", "idx", name="uq_publications_entry"),
        UniqueConstraint("channel_id", "kind", "publish_at", name="uq_publications_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # long | short
    idx: Mapped[int] = mapped_column(Integer, default=0)  # the Short's index; 0 for the long video
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # reserved | scheduled | published | private | unlisted (up, not scheduled: no publishAt)
    status: Mapped[str] = mapped_column(String(32), default="reserved")
    video_id: Mapped[str] = mapped_column(String(64), default="")
    location: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlatformAccountRow(Base):
    """A channel's account on a short-video platform (TikTok, Instagram); the token only ever sealed."""

    __tablename__ = "platform_accounts"
    __table_args__ = (UniqueConstraint("channel_id", "platform", name="uq_platform_accounts_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))  # tiktok | instagram
    token_enc: Mapped[str] = mapped_column(Text)  # Fernet token of activities.platform_api.PlatformToken JSON
    account_id: Mapped[str] = mapped_column(String(128), default="")  # TikTok open_id / IG user id
    account_name: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="connected")  # connected | reconnect_needed
    reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlatformPostRow(Base):
    """One Short on one short-video platform: its slot on that platform's calendar and what happened."""

    __tablename__ = "platform_posts"
    __table_args__ = (
        UniqueConstraint("production_id", "platform", "idx", name="uq_platform_posts_entry"),
        UniqueConstraint("channel_id", "platform", "publish_at", name="uq_platform_posts_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    idx: Mapped[int] = mapped_column(Integer, default=0)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # reserved | posting | published | waiting (cap) | reconnect_needed | needs_attention | skipped
    status: Mapped[str] = mapped_column(String(32), default="reserved")
    post_id: Mapped[str] = mapped_column(String(128), default="")
    location: Mapped[str] = mapped_column(Text, default="")
    caption: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TopicRow(Base):
    """A channel's topic backlog: the cadence takes the oldest unused one."""

    __tablename__ = "topic_backlog"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    production_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class QuotaUsageRow(Base):
    """YouTube Data API units spent per Google Cloud project and Pacific-time day."""

    __tablename__ = "youtube_quota"
    __table_args__ = (UniqueConstraint("project", "day", name="uq_youtube_quota_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in America/Los_Angeles
    units: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsVideoRow(Base):
    """A published video as YouTube reports it (Data API videos.list): title, length, lifetime counts."""

    __tablename__ = "analytics_videos"
    __table_args__ = (UniqueConstraint("channel_id", "video_id", name="uq_analytics_videos"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(String(64))
    production_id: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    thumbnail: Mapped[str] = mapped_column(String(200), default="")  # the thumbnail variant tubeflow chose
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VideoDayStatRow(Base):
    """One video's numbers for one day (YouTube Analytics ``reports.query``, dimensions=day)."""

    __tablename__ = "analytics_video_days"
    __table_args__ = (UniqueConstraint("channel_id", "video_id", "day", name="uq_analytics_video_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD as YouTube reports it
    views: Mapped[int] = mapped_column(Integer, default=0)
    watch_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    avg_view_duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    avg_view_pct: Mapped[float] = mapped_column(Float, default=0.0)
    impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: not reported
    ctr: Mapped[float | None] = mapped_column(Float, nullable=True)  # percent
    likes: Mapped[int] = mapped_column(Integer, default=0)
    subscribers_gained: Mapped[int] = mapped_column(Integer, default=0)


class RetentionPointRow(Base):
    """The audience-retention curve: audienceWatchRatio at each elapsedVideoTimeRatio (0.01 .. 1.0)."""

    __tablename__ = "analytics_retention"
    __table_args__ = (UniqueConstraint("channel_id", "video_id", "ratio", name="uq_analytics_retention"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(String(64))
    ratio: Mapped[float] = mapped_column(Float)
    watch_ratio: Mapped[float] = mapped_column(Float)
    relative: Mapped[float | None] = mapped_column(Float, nullable=True)


class AnalyticsRunRow(Base):
    """Each collection run per channel and how it went (ok, missing_scope, reconnect_needed, quota)."""

    __tablename__ = "analytics_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    start_day: Mapped[str] = mapped_column(String(10), default="")
    end_day: Mapped[str] = mapped_column(String(10), default="")
    videos: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
    # youtube, or the short-video platform (tiktok | instagram) whose posts this run read
    platform: Mapped[str] = mapped_column(String(32), default="youtube", server_default="youtube")


class PlatformPostDayRow(Base):
    """One TikTok or Instagram post's figures as collected on one day.

    The platforms report lifetime counters (TikTok's video/query, Instagram's lifetime insights),
    so a day's row is the post's totals as of that day; None where the platform has no such metric
    (TikTok reports no reach or saves)."""

    __tablename__ = "platform_post_days"
    __table_args__ = (UniqueConstraint("platform", "post_id", "day", name="uq_platform_post_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(128))
    production_id: Mapped[str] = mapped_column(String(32))
    idx: Mapped[int] = mapped_column(Integer, default=0)  # the Short's index within its production
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD (UTC) of the collection
    views: Mapped[int | None] = mapped_column(Integer, nullable=True)  # Instagram: views (plays before)
    likes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shares: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reach: Mapped[int | None] = mapped_column(Integer, nullable=True)
    saves: Mapped[int | None] = mapped_column(Integer, nullable=True)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateBucketRow(Base):
    """A token bucket shared by every API process (PostgreSQL only; SQLite keeps buckets in memory).

    Times are the database's clock in epoch seconds, so replicas on hosts whose clocks differ still
    agree on the refill; ``rate_per_s`` and ``burst`` are kept so a full, idle bucket can be pruned.
    """

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)  # whether the last take was allowed (RETURNING sees only the new row)
    rate_per_s: Mapped[float] = mapped_column(Float)
    burst: Mapped[float] = mapped_column(Float)


class OpenStreamRow(Base):
    """One open event stream, for the per-key cap across API processes; a replica that dies stops
    renewing ``expires_at`` and its streams stop counting."""

    __tablename__ = "open_streams"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    expires_at: Mapped[float] = mapped_column(Float)


class JobSlotHoldRow(Base):
    """A video job slot reserved by a request (``job_id`` empty while it fetches its inputs), counted
    until the job it became is surely visible in Temporal; reserved under an advisory lock per key."""

    __tablename__ = "job_slot_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    job_id: Mapped[str] = mapped_column(String(64), default="")
    until: Mapped[float] = mapped_column(Float)
