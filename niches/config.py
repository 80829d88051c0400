"""Niche configuration: one YAML file per niche in this folder.

A niche decides everything that must differ between channels of different subjects: language,
tone, voice, caption style, music, where b-roll comes from, and which checkpoints a person must
review.  Loading validates every field so a typo fails at load time with the file, the field and
what is allowed named, not halfway through a render.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from tubeflow.contracts import Checkpoint
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

CHECKPOINT_NAMES = tuple(c.value for c in Checkpoint)
BROLL_SOURCES = ("library", "generated", "stock", "pexels", "pixabay")
CAPTION_POSITIONS = ("bottom", "middle", "top", "center")  # center: the older spelling of middle
CAPTION_KINDS = ("karaoke", "word-pop", "boxed", "classic")
SHORTS_REFRAMES = ("native", "blur", "crop")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,48}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class CaptionStyle:
    font_size: int = 64  # at 1080p; scaled with the output height
    primary_colour: str = "#FFFFFF"
    highlight_colour: str = "#FFD400"
    outline_colour: str = "#000000"
    outline: float = 4.0
    position: str = "bottom"  # bottom | middle | top (center = middle), always inside the safe area
    uppercase: bool = False
    words_per_line: int = 6
    kind: str = "karaoke"  # karaoke | word-pop | boxed | classic (gpu_activities/captions.py)


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
    shorts_reframe: str = "native"  # native (portrait re-composition) | blur | crop
    required_checkpoints: list[str] = field(default_factory=lambda: list(CHECKPOINT_NAMES))
    font: str = ""  # stills and thumbnails: a font file in the niche folder or a system font file name
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


# ---------------------------------------------------------------- validation helpers


def _type_name(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)


def _check_scalar(where: str, value: Any, kind: type) -> Any:
    """YAML gives ints where floats are meant ("target_minutes: 1"); bools are never numbers."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {_type_name(value)}")
    return value


def _check_str_list(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings, got {_type_name(value)}")
    return [v.strip() for v in value]


def _check_range(where: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{where}: {value!r} is out of range; allowed {low}..{high}")


def _check_choice(where: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not allowed; use one of {list(allowed)}")


def _check_colour(where: str, value: str) -> None:
    if not COLOUR_RE.match(value):
        raise ConfigError(f'{where}: {value!r} is not a colour; use #RRGGBB, e.g. "#FFD400" (quoted in YAML)')


def _scalars(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    """Unknown keys and wrong scalar types, reported with the allowed field names."""
    spec = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(spec)}")
    out = dict(data)
    for key, value in data.items():
        default = spec[key].default
        if default is not MISSING and isinstance(default, (str, int, float, bool)):
            out[key] = _check_scalar(f"{where}.{key}", value, type(default))
    return out


def _caption_style(data: Any, where: str) -> CaptionStyle:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of caption settings, got {_type_name(data)}")
    values = _scalars(CaptionStyle, data, where)
    style = CaptionStyle(**values)
    _check_range(f"{where}.font_size", style.font_size, 12, 200)
    _check_range(f"{where}.outline", style.outline, 0, 20)
    _check_range(f"{where}.words_per_line", style.words_per_line, 1, 20)
    _check_choice(f"{where}.position", style.position, CAPTION_POSITIONS)
    _check_choice(f"{where}.kind", style.kind, CAPTION_KINDS)
    for key in ("primary_colour", "highlight_colour", "outline_colour"):
        _check_colour(f"{where}.{key}", getattr(style, key))
    return style


def parse_niche(data: Any, where: str, folder: Path, expected_name: str) -> NicheConfig:
    """Validate one niche mapping; ``where`` names the file in every error."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of niche settings at the top level")
    values = dict(data)
    values.setdefault("name", expected_name)
    if values["name"] != expected_name:
        raise ConfigError(f"{where}.name: {values['name']!r} must match the file name {expected_name!r}")
    if not isinstance(values["name"], str) or not NAME_RE.match(values["name"]):
        raise ConfigError(f"{where}.name: {values['name']!r}; use lowercase letters, digits, '-' or '_'")
    values.setdefault("title", values["name"].replace("_", " ").title())
    if "folder" in values:
        raise ConfigError(f"{where}.folder: set automatically to the niche's own folder; remove it")
    caption = values.pop("caption_style", None)
    values = _scalars(NicheConfig, values, where)
    if caption is not None:
        values["caption_style"] = _caption_style(caption, f"{where}.caption_style")
    for key in ("broll_keywords", "broll_sources", "palette", "required_checkpoints"):
        if key in values:
            values[key] = _check_str_list(f"{where}.{key}", values[key])
    if "prompt_fragments" in values:
        frags = values["prompt_fragments"]
        if not isinstance(frags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in frags.items()):
            raise ConfigError(f"{where}.prompt_fragments: expected a mapping of name: text (both strings)")
    values["folder"] = str(folder)
    niche = NicheConfig(**values)

    for key in ("title", "audience", "tone"):
        if not getattr(niche, key).strip():
            raise ConfigError(f"{where}.{key}: must not be empty")
    if not LANGUAGE_RE.match(niche.language):
        raise ConfigError(f"{where}.language: {niche.language!r}; use an ISO 639 code such as 'en', 'pt' or 'pt-BR'")
    _check_range(f"{where}.target_minutes", niche.target_minutes, 0.25, 60)
    _check_range(f"{where}.music_volume_db", niche.music_volume_db, -60, 0)
    _check_range(f"{where}.shorts_count", niche.shorts_count, 0, 10)
    _check_choice(f"{where}.shorts_reframe", niche.shorts_reframe, SHORTS_REFRAMES)
    if not niche.broll_sources:
        raise ConfigError(f"{where}.broll_sources: needs at least one of {list(BROLL_SOURCES)}")
    for src in niche.broll_sources:
        _check_choice(f"{where}.broll_sources", src, BROLL_SOURCES)
    bad = [c for c in niche.required_checkpoints if c not in CHECKPOINT_NAMES]
    if bad:
        raise ConfigError(f"{where}.required_checkpoints: unknown checkpoint(s) {bad}; use {list(CHECKPOINT_NAMES)}")
    if not niche.palette:
        raise ConfigError(f"{where}.palette: needs at least one colour")
    for i, colour in enumerate(niche.palette):
        _check_colour(f"{where}.palette[{i}]", colour)
    if niche.music and not (niche.music_path and niche.music_path.is_file()):
        raise ConfigError(f"{where}.music: {niche.music_path} does not exist; put the file in {Path(folder) / 'music'}")
    return niche


def load_niche_file(path: Path) -> NicheConfig:
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML ({e})") from e
    except OSError as e:
        raise ConfigError(f"{where}: cannot be read ({e})") from e
    return parse_niche(data, where, path.parent / path.stem, path.stem)


def list_niches(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.resolved_niches_dir().glob("*.yaml"))


def load_niche(name: str, settings: Settings) -> NicheConfig:
    if not NAME_RE.match(name or ""):
        raise ConfigError(f"invalid niche name {name!r}; available: {', '.join(list_niches(settings)) or 'none'}")
    path = settings.resolved_niches_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown niche {name!r}; available: {', '.join(list_niches(settings)) or 'none'}")
    return load_niche_file(path)
