"""What the repository returns: plain frozen dataclasses, detached from any session.

ORM rows stay inside :mod:`tubeflow.db.repo`, so callers (API, CLI, activities) never trip over
lazy loads after the session closed, and ``to_dict()`` gives the JSON the API and ``--json`` print.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: datetimes become ISO-8601 strings.

        Field by field rather than ``asdict``: _jsonable already builds new containers, and asdict's
        deep copy on top of it was a quarter of the review queue's time with 200 rows (bench/load.py)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Channel(_Record):
    id: int
    name: str
    niche: str
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Production(_Record):
    id: str
    channel: str  # the channel's name, which is what people and the API use
    channel_id: int
    topic: str
    niche: str
    workflow_id: str
    run_id: str
    stage: str
    state: str
    progress: float
    checkpoint: str | None
    detail: str
    title: str
    error: str | None
    artifacts: dict[str, Any]
    outputs: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    cost_usd: float


@dataclass(frozen=True)
class Review(_Record):
    id: int
    production_id: str
    stage: str
    approved: bool
    reviewer: str
    feedback: str
    attempt: int
    at: datetime
    note: str


@dataclass(frozen=True)
class Asset(_Record):
    id: int
    production_id: str
    kind: str
    key: str
    created_at: datetime
    meta: dict[str, Any]


@dataclass(frozen=True)
class ApiKey(_Record):
    """Never holds the key itself: only its SHA-256 hash is stored."""

    id: int
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    prefix: str = ""
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Session(_Record):
    """A dashboard sign-in; the token itself is only ever in the browser's cookie."""

    id: str  # SHA-256 of the token
    api_key_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Event(_Record):
    id: int
    production_id: str | None
    kind: str
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class YouTubeAccount(_Record):
    """Which YouTube channel a tubeflow channel publishes to; never carries the credentials."""

    channel: str
    project: str
    youtube_channel_id: str
    youtube_title: str
    status: str  # connected | reconnect_needed
    reason: str
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Publication(_Record):
    id: int
    production_id: str
    channel: str
    kind: str
    idx: int
    publish_at: datetime | None
    status: str
    video_id: str
    location: str
    title: str
    # Its time on the calendar: ``publish_at``, or for a video published at once (no slot, so no
    # ``publish_at``) the moment its entry last changed, i.e. when it went up (or was reserved).
    calendar_at: datetime | None = None


@dataclass(frozen=True)
class Topic(_Record):
    id: int
    channel: str
    topic: str
    added_at: datetime
    production_id: str | None
    used_at: datetime | None


@dataclass(frozen=True)
class PlatformAccount(_Record):
    """A channel's TikTok or Instagram account; never carries the token."""

    channel: str
    platform: str  # tiktok | instagram
    account_id: str
    account_name: str
    status: str  # connected | reconnect_needed
    reason: str
    expires_at: datetime | None
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PlatformPost(_Record):
    """One Short on one short-video platform: its slot there and what happened to it."""

    id: int
    production_id: str
    channel: str
    platform: str
    idx: int
    publish_at: datetime | None
    # reserved | posting | published | waiting | reconnect_needed | needs_attention | skipped
    status: str
    post_id: str
    location: str
    caption: str
    reason: str
    posted_at: datetime | None
    calendar_at: datetime | None = None


# The figures a platform may report for a post; which ones it reports differs (TikTok: no reach, no saves).
PLATFORM_METRICS = ("views", "likes", "comments", "shares", "reach", "saves")


@dataclass(frozen=True)
class PlatformPostDay(_Record):
    """One TikTok or Instagram post's lifetime figures as collected on ``day``; None: not reported."""

    platform: str
    post_id: str
    production_id: str
    idx: int
    day: str
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reach: int | None = None
    saves: int | None = None
