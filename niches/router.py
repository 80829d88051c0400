"""Channel -> niche -> components: the single place that decides what a channel may use.

Activities ask the router for a channel's (or a niche's) components instead of building paths
or knowledge scopes themselves, so a finance channel can only ever be handed finance notes,
finance media and a knowledge scope filtered to the finance niche.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from niches.config import NicheConfig, load_niche
from niches.notes import NoteTopic, read_notes
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.settings import Settings

ChannelLookup = Callable[[Database, str], Awaitable[str]]


@dataclass(frozen=True)
class KnowledgeScope:
    """What knowledge queries filter on: always the niche, optionally widened by the channel's own."""

    niche: str
    channel: str | None
    language: str


@dataclass(frozen=True)
class NicheComponents:
    niche: NicheConfig
    channel: str | None
    knowledge: KnowledgeScope

    @property
    def notes_dir(self) -> Path:
        return self.niche.notes_dir

    @property
    def media_dir(self) -> Path:
        return self.niche.media_dir

    @property
    def music_path(self) -> Path | None:
        return self.niche.music_path

    def notes(self) -> list[NoteTopic]:
        return read_notes(self.notes_dir)

    def owns(self, path: Path) -> bool:
        """True when ``path`` lies inside this niche's own folder (guards against ../ and symlinks)."""
        return path.resolve().is_relative_to(Path(self.niche.folder).resolve())


async def _repo_lookup(db: Database, channel: str) -> str:
    from tubeflow.db import repo  # the channels table belongs to the DB layer

    row = await repo.get_channel(db, channel)
    return str(row.niche)


class NicheRouter:
    def __init__(self, settings: Settings, channel_lookup: ChannelLookup | None = None) -> None:
        self.settings = settings
        self._lookup = channel_lookup or _repo_lookup
        self._cache: dict[str, NicheConfig] = {}

    def niche(self, name: str) -> NicheConfig:
        if name not in self._cache:
            self._cache[name] = load_niche(name, self.settings)
        return self._cache[name]

    def for_niche(self, niche: str | NicheConfig, channel: str | None = None) -> NicheComponents:
        config = niche if isinstance(niche, NicheConfig) else self.niche(niche)
        return NicheComponents(config, channel, KnowledgeScope(config.name, channel, config.language))

    async def for_channel(self, db: Database, channel: str, expected_niche: str | None = None) -> NicheComponents:
        """Components of ``channel``'s niche; ``expected_niche`` (from a workflow input) must agree."""
        name = await self._lookup(db, channel)
        if not name:
            raise ConfigError(f"channel {channel!r} has no niche; recreate it with `tubeflow channel add --niche`")
        if expected_niche and expected_niche != name:
            raise PermanentError(f"channel {channel!r} belongs to niche {name!r}, not {expected_niche!r}")
        return self.for_niche(name, channel)
