"""Niche configuration: one YAML file per niche in this folder.

A niche decides everything that must differ between channels of different subjects: language,
tone, voice, caption style, music, where b-roll comes from, and which checkpoints a person must
review.  Loading validates every field so a typo fails at load time with the file and field
named, not halfway through a render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

CHECKPOINT_NAMES = ("script", "audio", "broll", "final")


@dataclass(frozen=True)
class CaptionStyle:
    font_size: int = 64  # at 1080p; scaled with the output height
    primary_colour: str = "#FFFFFF"
    highlight_colour: str = "#FFD400"
    outline_colour: str = "#000000"
    outline: float = 4.0
    position: str = "bottom"  # bottom | center
    uppercase: bool = False
    words_per_line: int = 6


@dataclass(frozen=True)
class NicheConfig:
    name: str
    title: str
    language: str = "en"
    audience: str = "curious adults"
    tone: str = "clear and friendly"
    target_minutes: float = 8.0
    voice: str = ""  # Piper voice path or Azure voice name; empty = provider default
    azure_voice: str = "en-US-AndrewMultilingualNeural"
    caption_style: CaptionStyle = field(default_factory=CaptionStyle)
    music: str = ""  # file in the niche folder's music/ (looped and ducked under the voice)
    music_volume_db: float = -18.0
    broll_keywords: list[str] = field(default_factory=list)
    broll_sources: list[str] = field(default_factory=lambda: ["library", "generated"])
    palette: list[str] = field(default_factory=lambda: ["#1d3557", "#457b9d", "#a8dadc", "#e63946"])
    prompt_fragments: dict[str, str] = field(default_factory=dict)
    shorts_count: int = 2
    shorts_reframe: str = "blur"  # blur | crop
    required_checkpoints: list[str] = field(default_factory=lambda: list(CHECKPOINT_NAMES))
    folder: str = ""  # the niche's own folder (notes/, media/, music/), absolute at load time

    @property
    def notes_dir(self) -> Path:
        return Path(self.folder) / "notes"

    @property
    def media_dir(self) -> Path:
        return Path(self.folder) / "media"

    @property
    def music_path(self) -> Path | None:
        return Path(self.folder) / "music" / self.music if self.music else None

    @property
    def auto_approve(self) -> list[str]:
        return [c for c in CHECKPOINT_NAMES if c not in self.required_checkpoints]


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    allowed = set(cls.__dataclass_fields__)
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    defaults = cls.__dataclass_fields__
    for key, value in data.items():
        default = defaults[key].default
        if default is not None and not isinstance(default, type(defaults[key].default_factory)):
            expected = type(default)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                continue
            if (
                default is not getattr(defaults[key], "default_factory", None)
                and isinstance(default, (str, int, float, bool))
                and not isinstance(value, expected)
            ):
                raise ConfigError(f"{where}.{key}: expected {expected.__name__}, got {value!r}")
    return cls(**data)


def load_niche_file(path: Path) -> NicheConfig:
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    data = dict(data)
    data.setdefault("name", path.stem)
    data.setdefault("title", data["name"].replace("_", " ").title())
    if "caption_style" in data:
        if not isinstance(data["caption_style"], dict):
            raise ConfigError(f"{where}.caption_style: expected a mapping")
        data["caption_style"] = _build(CaptionStyle, data["caption_style"], f"{where}.caption_style")
    for listed in ("required_checkpoints",):
        bad = [c for c in data.get(listed, []) if c not in CHECKPOINT_NAMES]
        if bad:
            raise ConfigError(f"{where}.{listed}: unknown checkpoint(s) {bad}; use {list(CHECKPOINT_NAMES)}")
    if data.get("shorts_reframe", "blur") not in ("blur", "crop"):
        raise ConfigError(f"{where}.shorts_reframe: must be 'blur' or 'crop'")
    data["folder"] = str(path.parent / data["name"])
    niche = _build(NicheConfig, data, where)
    if niche.music and not (niche.music_path and niche.music_path.is_file()):
        raise ConfigError(f"{where}.music: {niche.music_path} does not exist")
    return niche


def list_niches(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.resolved_niches_dir().glob("*.yaml"))


def load_niche(name: str, settings: Settings) -> NicheConfig:
    path = settings.resolved_niches_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown niche {name!r}; available: {', '.join(list_niches(settings)) or 'none'}")
    return load_niche_file(path)
