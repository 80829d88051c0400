"""What every short-video platform module (TikTok, Instagram) gives the cross-posting adapter.

A platform module is plain, synchronous Python over httpx (the adapter runs it in a thread):
OAuth (authorize URL, code exchange, refresh), posting one Short, and reading its figures.  It
never touches the database or Temporal.  What it must remember between attempts (a publish id,
the bytes already sent, the container id) it writes through a :class:`PostLedger` after every
step, so an attempt that died mid-upload (a SIGKILLed worker) resumes or re-checks the platform
and never posts twice.

Errors it raises, and what the workflow does with them:

- :class:`~tubeflow.errors.AccountNeedsReconnect`: the token is revoked or expired beyond refresh;
  the channel's platform account is marked "reconnect needed" and that platform waits.
- :class:`~tubeflow.errors.PostingCapReached`: a daily cap or rate limit; that platform waits on a
  durable timer until ``retry_at`` and tries again.
- :class:`~tubeflow.errors.PermanentError`: anything else a retry cannot fix; only that
  platform's publication goes to needs_attention with the message.
- :class:`~tubeflow.errors.TransientError`: 5xx, timeouts, a 429 that says when; Temporal retries.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tubeflow.errors import ConfigError
from tubeflow.platforms import PLATFORM_LABELS, PLATFORM_NAMES, PlatformName
from tubeflow.settings import Settings

__all__ = ["PLATFORM_LABELS", "PLATFORM_NAMES", "PlatformName"]


@dataclass(frozen=True)
class PlatformApp:
    """The operator's app registration on the platform, and where its API lives (settings)."""

    client_id: str  # TikTok client_key / Facebook app id
    client_secret: str
    api_base: str  # https://open.tiktokapis.com | https://graph.facebook.com/v21.0
    auth_url: str  # the consent page the person is sent to
    upload_base: str = ""  # Instagram's resumable upload host (rupload.facebook.com); unused by TikTok


@dataclass
class PlatformToken:
    """One connected account's OAuth token; only ever stored sealed (tubeflow.secret_box)."""

    access_token: str
    refresh_token: str = ""
    expires_at: float = 0.0  # unix seconds
    refresh_expires_at: float = 0.0
    account_id: str = ""  # TikTok open_id / Instagram professional account (IG user) id
    account_name: str = ""  # shown to people: @handle
    scopes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PlatformToken:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ShortPost:
    """One Short to post on one platform, as the reviewer approved it."""

    production_id: str
    index: int  # the Short's index within the production
    video: Path  # a local copy of the rendered MP4 (the adapter fetched it from storage)
    caption: str  # final text, hashtags included, already within the platform's limits
    title: str
    cover_ms: int = 1000  # the cover frame the reviewer picked, as a time into the Short
    cover_url: str = ""  # a public URL of the cover image, when storage can presign one
    video_url: str = ""  # a public URL of the video (TikTok PULL_FROM_URL) when the operator set one up
    private: bool = False  # the channel publishes privately (SELF_ONLY / not shared to feed)
    aigc: bool = True  # the AI-generated-content disclosure the platform defines


@dataclass
class PostOutcome:
    post_id: str  # TikTok publish_id's video id (or publish id) / Instagram media id
    url: str  # where a person sees it ("" when the platform does not say)
    status: str = "published"


class PostLedger(Protocol):
    """The steps of one post, kept in storage: read at the start of an attempt, written after each step."""

    def load(self) -> dict[str, Any]: ...

    def save(self, state: dict[str, Any]) -> None: ...


class MemoryLedger:
    """A ledger in a dict: for tests and for callers with nothing to resume."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        return dict(self.state)

    def save(self, state: dict[str, Any]) -> None:
        self.state = dict(state)


def platform_app(settings: Settings, platform: str) -> PlatformApp:
    """The app registration for ``platform`` from TUBEFLOW_* settings; a clear error when it is missing."""
    if platform == "tiktok":
        app = PlatformApp(
            settings.tiktok_client_key, settings.tiktok_client_secret, settings.tiktok_base_url.rstrip("/"),
            settings.tiktok_auth_url,
        )  # fmt: skip
        names = "TUBEFLOW_TIKTOK_CLIENT_KEY and TUBEFLOW_TIKTOK_CLIENT_SECRET (TikTok for Developers > your app)"
    elif platform == "instagram":
        app = PlatformApp(
            settings.facebook_app_id, settings.facebook_app_secret, settings.instagram_graph_url.rstrip("/"),
            settings.facebook_auth_url, settings.instagram_upload_url.rstrip("/"),
        )  # fmt: skip
        names = "TUBEFLOW_FACEBOOK_APP_ID and TUBEFLOW_FACEBOOK_APP_SECRET (Meta for Developers > your app)"
    else:
        raise ConfigError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORM_NAMES)}")
    if not app.client_id or not app.client_secret:
        raise ConfigError(f"{PLATFORM_LABELS[platform]} is not set up: set {names}")
    return app
