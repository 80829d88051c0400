"""Which publisher a deployment uses: the local outbox (offline default) or YouTube."""

from __future__ import annotations

from activities.outbox import OutboxPublisher
from activities.publish_metadata import Publisher
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings


def make_publisher(settings: Settings) -> Publisher:
    if settings.publisher == "outbox":
        return OutboxPublisher(settings.resolved_outbox_dir())
    if settings.publisher == "youtube":
        from activities.youtube import YouTubePublisher

        return YouTubePublisher.from_settings(settings)
    raise ConfigError(f"TUBEFLOW_PUBLISHER must be 'outbox' or 'youtube', not {settings.publisher!r}")
