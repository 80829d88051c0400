"""What every main-queue adapter room shares: the settings, storage and database it was built
with, and the two look-ups most stages need (a niche with its channel's overrides, a stored JSON).

The rooms (``*_activities.py``) are thin: fetch inputs by key, call a plain module, store outputs
by key, and translate errors (a :class:`~tubeflow.errors.PermanentError` becomes a non-retryable
``ApplicationError`` through :func:`~tubeflow.activity_errors.permanent_errors`; anything else is
left to the retry policy).  ``service.worker.main_activities`` lists the rooms for the worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from niches.config import NicheConfig, load_niche
from tubeflow.channel_settings import ChannelSettings
from tubeflow.db.engine import Database
from tubeflow.settings import Settings
from tubeflow.storage import Storage


class MainAdapter:
    def __init__(self, settings: Settings, storage: Storage, db: Database) -> None:
        self.settings = settings
        self.storage = storage
        self.db = db

    def all(self) -> list[Callable[..., Any]]:
        raise NotImplementedError

    def niche(self, name: str) -> NicheConfig:
        return load_niche(name, self.settings)

    async def channel_niche(self, name: str, channel: str = "", production_id: str = "") -> NicheConfig:
        """The niche with the channel's overrides (language, voice, checkpoints) laid over it."""
        from niches.channel_profile import effective_niche
        from tubeflow.db import channel_repo, repo

        niche = self.niche(name)
        try:
            if not channel and production_id:
                channel = (await repo.get_production(self.db, production_id)).channel
            if not channel:
                return niche
            return effective_niche(niche, await channel_repo.channel_settings(self.db, channel))
        except repo.NotFoundError:
            return niche  # started by another client before the database knew it: the niche decides

    async def _channel_settings(self, channel: str) -> ChannelSettings:
        """The channel's own settings (the defaults for no channel or one the database does not know)."""
        from tubeflow.db import channel_repo, repo

        if not channel or self.db is None:
            return ChannelSettings()
        try:
            return await channel_repo.channel_settings(self.db, channel)
        except repo.NotFoundError:
            return ChannelSettings()

    def _json(self, key: str) -> Any:
        return json.loads(self.storage.get_text(key))
