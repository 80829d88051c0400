"""Which publisher a video goes out through: the channel's own YouTube account, the global
credentials file (one channel), or the local outbox (offline default)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from activities.outbox import OutboxPublisher
from activities.publish_metadata import Publisher
from tubeflow.db.engine import Database
from tubeflow.errors import AccountNeedsReconnect, ConfigError
from tubeflow.settings import Settings

FILE_PROJECT = "default"  # the quota ledger's name for the project behind TUBEFLOW_YOUTUBE_CREDENTIALS


def make_publisher(settings: Settings) -> Publisher:
    if settings.publisher == "outbox":
        return OutboxPublisher(settings.resolved_outbox_dir())
    if settings.publisher == "youtube":
        from activities.youtube import YouTubePublisher

        return YouTubePublisher.from_settings(settings)
    raise ConfigError(f"TUBEFLOW_PUBLISHER must be 'outbox' or 'youtube', not {settings.publisher!r}")


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
        from activities.youtube import YouTubePublisher

        creds = json.loads(SecretBox.from_settings(settings).open(sealed))
        return ChannelPublisher(YouTubePublisher.for_account(settings, creds), account.project)
    publisher = make_publisher(settings)
    return ChannelPublisher(publisher, FILE_PROJECT if publisher.name == "youtube" else "")
