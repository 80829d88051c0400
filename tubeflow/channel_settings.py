"""A channel's own settings: what it overrides of its niche, its YouTube defaults, calendar and cadence.

Stored as JSON in ``channels.settings``; every value is validated on the way in (CLI ``channel
set``, ``PATCH /api/channels/{name}``) and again on the way out, so a bad value names the field
and what is allowed instead of surfacing at upload time.  Unset fields mean "the niche decides"
(language, voice, checkpoints) or the documented default.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tubeflow.contracts import Checkpoint
from tubeflow.errors import PermanentError
from tubeflow.render_plan import DEFAULT_MAX_SHOT_S, DEFAULT_SHORTS_MAX_SHOT_S
from tubeflow.settings import TtsEngine

CHECKPOINTS = tuple(c.value for c in Checkpoint)
PRIVACY = ("private", "unlisted", "public")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# YouTube's assignable video categories (videoCategories.list, region US).
CATEGORIES: dict[str, str] = {
    "1": "Film & Animation",
    "2": "Autos & Vehicles",
    "10": "Music",
    "15": "Pets & Animals",
    "17": "Sports",
    "19": "Travel & Events",
    "20": "Gaming",
    "22": "People & Blogs",
    "23": "Comedy",
    "24": "Entertainment",
    "25": "News & Politics",
    "26": "Howto & Style",
    "27": "Education",
    "28": "Science & Technology",
    "29": "Nonprofits & Activism",
}
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
PLAYLIST_RE = re.compile(r"^[A-Za-z0-9_-]{10,64}$")
SLOT_RE = re.compile(r"^\s*([a-z,\s-]+?)\s+([0-2]?\d):([0-5]\d)\s*$")
MAX_TAGS_CHARS = 500
VOICE_ENGINES: tuple[str, ...] = get_args(TtsEngine)  # the registry's names (tests/test_registry_choices.py)
MIN_SHOT_S, MAX_SHOT_S = 1.5, 30.0  # a shot shorter than 1.5 s flickers; a limit over 30 s is no pace


class SettingsInvalid(PermanentError):
    """A channel setting with a value that is not allowed; the message names field and allowed values."""


@dataclass(frozen=True)
class Slot:
    days: tuple[int, ...]  # 0 = Monday
    hour: int
    minute: int

    def __str__(self) -> str:
        return f"{','.join(DAYS[d] for d in self.days)} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class ChannelSettings:
    language: str = ""  # empty: the niche's language
    voice: str = ""  # Piper voice path or Azure voice name; empty: the niche's
    timezone: str = "UTC"
    publish_slots: list[str] = field(default_factory=list)  # e.g. ["mon,wed,fri 17:00"]; empty: publish at once
    shorts_spacing_hours: float = 24.0
    privacy: str = "private"  # once published; "public" with slots = scheduled publishing (publishAt)
    made_for_kids: bool = False
    synthetic_disclosure: bool = True  # narration and visuals are generated
    category: str = "27"
    playlist: str = ""
    default_tags: list[str] = field(default_factory=list)
    required_checkpoints: list[str] | None = None  # None: the niche's review policy
    priority: int = 3  # 1 (first on a contended GPU queue) .. 5
    cadence: bool = False  # a Temporal Schedule starts productions before each slot
    lead_time_hours: float = 72.0  # how long before a slot the cadence starts its production
    max_waiting_reviews: int = 2  # back-pressure: the cadence starts nothing while this many wait
    webhooks: list[str] = field(default_factory=list)  # names from TUBEFLOW_CHANNEL_WEBHOOKS (URLs stay in env)
    review_reminder_hours: float | None = None  # None: TUBEFLOW_REVIEW_REMINDER_HOURS; 0 = never remind
    # Pacing: the longest a shot may stay on screen (seconds) before a new picture, crop or clip.
    max_shot_s: float = DEFAULT_MAX_SHOT_S
    shorts_max_shot_s: float = DEFAULT_SHORTS_MAX_SHOT_S
    # Voices to try in order when one fails (e.g. ["azure", "piper", "espeak"]); empty: TUBEFLOW_TTS,
    # its fallbacks, then Piper and eSpeak NG.
    voice_chain: list[str] = field(default_factory=list)

    @property
    def slots(self) -> list[Slot]:
        return [parse_slot(s) for s in self.publish_slots]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELD_HELP: dict[str, str] = {
    "language": "an ISO 639 code such as en, pt or pt-BR (empty: the niche's)",
    "voice": "a Piper .onnx path or an Azure voice name (empty: the niche's)",
    "timezone": "an IANA time zone such as Europe/Lisbon or America/New_York",
    "publish_slots": "slots separated by ';', each 'days HH:MM', e.g. 'mon,wed,fri 17:00; sat 10:00' (days: "
    + ", ".join(DAYS)
    + ", or mon-fri)",
    "shorts_spacing_hours": "hours between a video's Shorts, 0..168",
    "privacy": "one of " + ", ".join(PRIVACY),
    "made_for_kids": "true or false",
    "synthetic_disclosure": "true or false",
    "category": "a YouTube category id: " + ", ".join(f"{k} ({v})" for k, v in CATEGORIES.items()),
    "playlist": "a YouTube playlist id (10-64 letters, digits, - or _), empty for none",
    "default_tags": f"comma-separated tags, {MAX_TAGS_CHARS} characters in all",
    "required_checkpoints": "comma-separated subset of " + ", ".join(CHECKPOINTS) + " ('none', or 'niche')",
    "priority": "an integer 1 (highest) .. 5",
    "cadence": "true or false",
    "lead_time_hours": "hours before a slot to start its production, 1..720",
    "max_waiting_reviews": "an integer 1..50",
    "webhooks": "comma-separated target names defined in TUBEFLOW_CHANNEL_WEBHOOKS (letters, digits, - and _)",
    "review_reminder_hours": "hours a checkpoint may wait before a reminder, 0 (never) .. 720, or 'default'",
    "max_shot_s": f"seconds a long-form shot may last before a cut, {MIN_SHOT_S:g} .. {MAX_SHOT_S:g}",
    "shorts_max_shot_s": f"seconds a Short's shot may last before a cut, {MIN_SHOT_S:g} .. {MAX_SHOT_S:g}",
    "voice_chain": "comma-separated voice engines tried in order, from "
    + ", ".join(VOICE_ENGINES)
    + " (empty: TUBEFLOW_TTS, then piper, espeak)",
}
FIELD_NAMES = tuple(f.name for f in fields(ChannelSettings))


def _bad(name: str, value: Any) -> SettingsInvalid:
    return SettingsInvalid(f"channel setting {name}={value!r} is not allowed; use {FIELD_HELP[name]}")


def parse_slot(text: str) -> Slot:
    m = SLOT_RE.match(text.lower())
    if not m:
        raise _bad("publish_slots", text)
    days: list[int] = []
    for part in m.group(1).replace(" ", "").split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            if a not in DAYS or b not in DAYS:
                raise _bad("publish_slots", text)
            i, j = DAYS.index(a), DAYS.index(b)
            days += list(range(i, j + 1)) if i <= j else list(range(i, 7)) + list(range(0, j + 1))
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise _bad("publish_slots", text)
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23:
        raise _bad("publish_slots", text)
    return Slot(tuple(sorted(set(days))), hour, minute)


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise _bad(name, value)


def _number(name: str, value: Any, kind: type, low: float, high: float) -> Any:
    if isinstance(value, bool):
        raise _bad(name, value)
    try:
        n = kind(value)
    except (TypeError, ValueError):
        raise _bad(name, value) from None
    if kind is int and isinstance(value, float) and value != int(value):
        raise _bad(name, value)
    if not low <= n <= high or n != n:
        raise _bad(name, value)
    return n


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise TypeError


def clean_value(name: str, value: Any) -> Any:
    """One field's value, validated and normalised (strings from the CLI become the right type)."""
    if name not in FIELD_NAMES:
        raise SettingsInvalid(f"unknown channel setting {name!r}; settings are: {', '.join(FIELD_NAMES)}")
    if name in ("language", "voice", "timezone", "privacy", "category", "playlist"):
        if not isinstance(value, str):
            raise _bad(name, value)
        value = value.strip()
    if name == "language" and value and not LANGUAGE_RE.match(value):
        raise _bad(name, value)
    if name == "voice" and len(value) > 200:
        raise _bad(name, value)
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad(name, value) from None
    if name == "privacy" and value not in PRIVACY:
        raise _bad(name, value)
    if name == "category" and value not in CATEGORIES:
        raise _bad(name, value)
    if name == "playlist" and value and not PLAYLIST_RE.match(value):
        raise _bad(name, value)
    if name == "publish_slots":
        items = [s.strip() for s in value.split(";")] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise _bad(name, value)
        return [str(parse_slot(s)) for s in items if s.strip()]
    if name in ("made_for_kids", "synthetic_disclosure", "cadence"):
        return _bool(name, value)
    if name == "shorts_spacing_hours":
        return _number(name, value, float, 0, 168)
    if name == "lead_time_hours":
        return _number(name, value, float, 1, 720)
    if name in ("max_shot_s", "shorts_max_shot_s"):
        return _number(name, value, float, MIN_SHOT_S, MAX_SHOT_S)
    if name == "priority":
        return _number(name, value, int, 1, 5)
    if name == "max_waiting_reviews":
        return _number(name, value, int, 1, 50)
    if name == "default_tags":
        try:
            tags = _list(value)
        except TypeError:
            raise _bad(name, value) from None
        if sum(len(t) + 2 for t in tags) > MAX_TAGS_CHARS or any("<" in t or ">" in t for t in tags):
            raise _bad(name, value)
        return tags
    if name == "voice_chain":
        try:
            chain = [n.lower() for n in _list(value)]
        except TypeError:
            raise _bad(name, value) from None
        if any(n not in VOICE_ENGINES for n in chain) or len(chain) != len(set(chain)):
            raise _bad(name, value)
        return chain
    if name == "webhooks":
        try:
            names = _list(value)
        except TypeError:
            raise _bad(name, value) from None
        if any(not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", n) for n in names) or len(names) > 10:
            raise _bad(name, value)
        return names
    if name == "review_reminder_hours":
        if value is None or value == "default":
            return None
        return _number(name, value, float, 0, 720)
    if name == "required_checkpoints":
        if value is None or value == "niche":
            return None
        if value == "none":
            return []  # every checkpoint auto-approved
        try:
            cps = _list(value)
        except TypeError:
            raise _bad(name, value) from None
        if any(c not in CHECKPOINTS for c in cps):
            raise _bad(name, value)
        return [c for c in CHECKPOINTS if c in cps]
    return value


def parse_settings(data: dict[str, Any] | None) -> ChannelSettings:
    """Stored JSON → settings; unknown keys (another version's) are ignored, bad values refused."""
    values = {k: clean_value(k, v) for k, v in (data or {}).items() if k in FIELD_NAMES}
    return ChannelSettings(**values)


def updated(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The stored settings after ``changes`` (``key: None`` or an empty string resets a field)."""
    out = {k: v for k, v in (current or {}).items() if k in FIELD_NAMES}
    for key, value in changes.items():
        if key not in FIELD_NAMES:
            clean_value(key, value)  # raises with the list of settings
        if value is None or (value == "" and key not in ("language", "voice", "playlist")):
            out.pop(key, None)
        else:
            out[key] = clean_value(key, value)
    parse_settings(out)
    return out


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` from the command line."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SettingsInvalid(f"{pair!r}: use key=value; settings are: {', '.join(FIELD_NAMES)}")
        out[key.strip()] = value.strip()
    return out


# ---------------------------------------------------------------- the calendar


def slot_times(cs: ChannelSettings, start: datetime, end: datetime) -> list[datetime]:
    """Every slot moment (UTC) in [start, end), in order; wall-clock times in the channel's zone."""
    tz = ZoneInfo(cs.timezone)
    out: list[datetime] = []
    slots = cs.slots
    day: date = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for slot in slots:
            if day.weekday() in slot.days:
                local = datetime(day.year, day.month, day.day, slot.hour, slot.minute, tzinfo=tz)
                at = local.astimezone(UTC)
                if start <= at < end:
                    out.append(at)
        day += timedelta(days=1)
    return sorted(set(out))


def next_free_slot(
    cs: ChannelSettings, after: datetime, taken: set[datetime], horizon_days: int = 366
) -> datetime | None:
    """The first slot after ``after`` nobody holds; None when the channel has no slots."""
    if not cs.publish_slots:
        return None
    start = after
    while start < after + timedelta(days=horizon_days):
        window_end = start + timedelta(days=28)
        for at in slot_times(cs, start, window_end):
            if at > after and at not in taken:
                return at
        start = window_end
    raise SettingsInvalid(f"no free publishing slot in the next {horizon_days} days; add slots (publish_slots)")
