"""Which publisher a video goes out through: the channel's own YouTube account, else the platform
TUBEFLOW_PUBLISHER names (the local outbox by default, or YouTube with the global credentials file).

The platforms are one module each, defining a :class:`~activities.publish_metadata.PublishingPlatform`;
a new one is its module plus one line in :data:`PLATFORMS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from activities import outbox, youtube
from activities.choices import one_of
from activities.publish_metadata import Publisher, PublishingPlatform
from tubeflow.db.engine import Database
from tubeflow.errors import AccountNeedsReconnect, ConfigError
from tubeflow.settings import Settings

PLATFORMS: dict[str, PublishingPlatform] = {
    p.name: p
    for p in (
        outbox.PLATFORM,
        youtube.PLATFORM,
    )
}


def platform(settings: Settings) -> PublishingPlatform:
    found = PLATFORMS.get(settings.publisher)
    if found is None:
        raise ConfigError(f"TUBEFLOW_PUBLISHER must be {one_of(PLATFORMS)}, not {settings.publisher!r}")
    return found


def make_publisher(settings: Settings) -> Publisher:
    return platform(settings).from_settings(settings)


@dataclass
class ChannelPublisher:
    publisher: Publisher
    project: str  # Google Cloud project whose quota the calls spend ("" for the outbox)


async def publisher_for_channel(settings: Settings, db: Database, channel: str) -> ChannelPublisher:
    """A connected account wins; else TUBEFLOW_PUBLISHER decides (the credentials file is the fallback)."""
    from tubeflow.db import channel_repo
    from tubeflow.secret_box import SecretBox

    found = await channel_repo.account_credentials(db, channel)
    if found is not None:
        account, sealed = found
        if account.status != "connected":
            raise AccountNeedsReconnect(
                f"channel {channel!r} needs its YouTube account reconnected ({account.reason}); run "
                f"`tubeflow channel connect {channel}` or use Connect YouTube on its dashboard page"
            )
        creds = json.loads(SecretBox.from_settings(settings).open(sealed))
        return ChannelPublisher(youtube.YouTubePublisher.for_account(settings, creds), account.project)
    chosen = platform(settings)
    return ChannelPublisher(chosen.from_settings(settings), chosen.quota_project)
