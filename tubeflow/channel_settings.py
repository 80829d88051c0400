"""A channel's own settings: what it overrides of its niche, its YouTube defaults, calendar and cadence.

Stored as JSON in ``channels.settings``; every value is validated on the way in (CLI ``channel
set``, ``PATCH /api/channels/{name}``) and again on the way out, so a bad value names the field
and what is allowed instead of surfacing at upload time.  Unset fields mean "the niche decides"
(language, voice, checkpoints) or the documented default.

Each field is declared once with :func:`setting`: its default and its :class:`Spec` (label, help,
kind, limits).  Validation (:func:`clean_value`), the CLI's "use ..." hint, and the dashboard's
typed form (``api/settings_form.py``) all read that spec, so a new setting is one declaration
here: no per-field branch elsewhere.  ``tests/test_settings_form.py`` fails on a field without
a label or help.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tubeflow.contracts import Checkpoint
from tubeflow.errors import PermanentError
from tubeflow.quality_report import QualityThresholds
from tubeflow.render_plan import DEFAULT_MAX_SHOT_S, DEFAULT_SHORTS_MAX_SHOT_S
from tubeflow.settings import TtsEngine

CHECKPOINTS = tuple(c.value for c in Checkpoint)
CHECKPOINT_LABELS = {"script": "Script", "audio": "Narration", "broll": "B-roll", "final": "Final cut"}
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
SHORTS_LAYOUTS = ("native", "blur", "crop")  # as tubeflow.render_plan.SHORTS_LAYOUTS
CAPTION_KINDS = ("karaoke", "word-pop", "boxed", "classic")  # as niches.config.CAPTION_KINDS
CAPTION_POSITIONS = ("top", "middle", "bottom")

# What a value is, which decides how it is checked and which input the dashboard shows:
# text (a line; ``pattern``/``check``), choice (one of ``choices``: a select), flag (a checkbox),
# number / whole (a number input with ``low``..``high``), words (a list of short strings: tags),
# slots (publishing slots: weekday chips and a time each), subset (some of ``choices``: checkboxes).
Kind = Literal["text", "choice", "flag", "number", "whole", "words", "slots", "subset"]
_T = TypeVar("_T")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class Spec:
    """Everything said about one setting apart from its default: for people and for the checks."""

    label: str  # what the form calls it, in words
    help: str  # one sentence: what it changes (under the input)
    kind: Kind
    group: str  # the form's section
    allowed: str = ""  # how a value is written (the CLI's and the error's "use ..."); derived when empty
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for choice and subset
    low: float | None = None
    high: float | None = None
    step: float | None = None  # the number input's step
    unit: str = ""  # e.g. "hours", shown next to a number
    pattern: re.Pattern[str] | None = None  # a text (when not empty) or each word must match
    check: Callable[[str], bool] | None = None  # a text's further rule (a real time zone)
    max_chars: int = 0  # a text's length, or all words together (each counted with ", ")
    max_items: int = 0  # words: how many at most
    empty: str = ""  # what the default means when there is no value, e.g. "the niche's"
    nullable: bool = False  # None is a value: "use the default" (the niche, or an env variable)
    null_words: tuple[str, ...] = ()  # what the command line types for None
    env_default: str = ""  # the Settings field that decides when the value is None
    niche_default: str = ""  # the niche's field that decides when the value is empty or None
    suggestions: Callable[[], list[str]] | None = None  # a text's typical values (a datalist)

    def allowed_text(self) -> str:
        if self.allowed:
            return self.allowed
        if self.kind == "flag":
            return "true or false"
        if self.kind in ("choice", "subset"):
            named = ", ".join(v if label.lower() == v.lower() else f"{v} ({label})" for v, label in self.choices)
            return ("one of " if self.kind == "choice" else "comma-separated subset of ") + named
        if self.kind in ("number", "whole"):
            what = "an integer" if self.kind == "whole" else f"a number of {self.unit}" if self.unit else "a number"
            extra = ", or " + " / ".join(repr(w) for w in self.null_words) if self.null_words else ""
            return f"{what} {self.low:g}..{self.high:g}{extra}"
        if self.kind == "words":
            limit = f", {self.max_chars} characters in all" if self.max_chars else ""
            count = f", at most {self.max_items}" if self.max_items else ""
            return f"comma-separated values{limit}{count}"
        return "text"


def setting(default: _T, spec: Spec) -> _T:
    """A :class:`ChannelSettings` field: its default and its spec, declared together."""
    if isinstance(default, list):
        items = list(default)
        return cast(_T, field(default_factory=lambda: list(items), metadata={"spec": spec}))
    return field(default=default, metadata={"spec": spec})


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _zones() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


_LANGUAGE = "Language and voice"
_CALENDAR = "Calendar"
_YOUTUBE = "On YouTube"
_REVIEW = "Review"
_CADENCE = "Cadence and priority"
_QUALITY = "Quality report"
_LOOK = "Look of the videos"


def _limit(
    default: _N,
    label: str,
    help: str,
    low: float,
    high: float,
    unit: str = "",
    *,
    whole: bool = False,
    step: float | None = None,
    group: str = _QUALITY,
) -> _N:
    """A number in a range: one of the quality report's limits (``quality_<threshold>``) unless
    ``group`` says otherwise (the pace)."""
    kind: Kind = "whole" if whole else "number"
    return setting(
        default, Spec(label, help, kind, group, low=low, high=high, step=step or (1 if whole else 0.5), unit=unit)
    )


VOICE_ENGINES: tuple[str, ...] = get_args(TtsEngine)  # the registry's names (tests/test_registry_choices.py)
MIN_SHOT_S, MAX_SHOT_S = 1.5, 30.0  # a shot shorter than 1.5 s flickers; a limit over 30 s is no pace


class SettingsInvalid(PermanentError):
    """A channel setting with a value that is not allowed; the message names field and allowed values.

    ``field`` is the setting's name (empty for an unknown one), so a form can mark its input."""

    def __init__(self, message: str, field_name: str = "") -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Slot:
    days: tuple[int, ...]  # 0 = Monday
    hour: int
    minute: int

    def __str__(self) -> str:
        return f"{','.join(DAYS[d] for d in self.days)} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class ChannelSettings:
    language: str = setting(
        "",
        Spec(
            "Narration language",
            "The language scripts are written and narrated in, as an ISO 639 code (en, pt, pt-BR).",
            "text",
            _LANGUAGE,
            allowed="an ISO 639 code such as en, pt or pt-BR (empty: the niche's)",
            pattern=LANGUAGE_RE,
            empty="the niche's",
            niche_default="language",
        ),
    )
    voice: str = setting(
        "",
        Spec(
            "Voice",
            "A Piper voice (.onnx path) or an Azure voice name that reads the narration.",
            "text",
            _LANGUAGE,
            allowed="a Piper .onnx path or an Azure voice name (empty: the niche's)",
            max_chars=200,
            empty="the niche's",
            niche_default="voice",
        ),
    )
    timezone: str = setting(
        "UTC",
        Spec(
            "Time zone",
            "The zone the publishing slots are in, e.g. Europe/Lisbon or America/New_York.",
            "text",
            _CALENDAR,
            allowed="an IANA time zone such as Europe/Lisbon or America/New_York",
            check=_zone_exists,
            suggestions=_zones,
        ),
    )
    publish_slots: list[str] = setting(
        [],
        Spec(
            "Publishing slots",
            "The weekdays and times a video goes out; with none, a video is published as soon as it is approved.",
            "slots",
            _CALENDAR,
            allowed="slots separated by ';', each 'days HH:MM', e.g. 'mon,wed,fri 17:00; sat 10:00' (days: "
            + ", ".join(DAYS)
            + ", or mon-fri)",
            empty="publish at once",
        ),
    )
    shorts_spacing_hours: float = setting(
        24.0,
        Spec(
            "Hours between Shorts",
            "How long after its video (and after each other) the video's Shorts go out.",
            "number",
            _CALENDAR,
            low=0,
            high=168,
            step=0.5,
            unit="hours",
        ),
    )
    tiktok_slots: list[str] = setting(
        [],
        Spec(
            "TikTok slots",
            "When the Shorts go out on TikTok. TikTok's API posts at once, so the production waits for the slot.",
            "slots",
            _CALENDAR,
            allowed="slots as for publishing slots, e.g. 'mon-fri 18:00' (empty: with each Short's YouTube time)",
            empty="with the YouTube Short",
        ),
    )
    instagram_slots: list[str] = setting(
        [],
        Spec(
            "Instagram slots",
            "When the Shorts go out as Reels. The production waits for the slot, then posts.",
            "slots",
            _CALENDAR,
            allowed="slots as for publishing slots, e.g. 'sat,sun 11:00' (empty: with each Short's YouTube time)",
            empty="with the YouTube Short",
        ),
    )
    privacy: str = setting(
        "private",
        Spec(
            "Privacy once published",
            "Public together with publishing slots is scheduled publishing (YouTube's publishAt).",
            "choice",
            _YOUTUBE,
            choices=(("private", "Private"), ("unlisted", "Unlisted"), ("public", "Public")),
        ),
    )
    made_for_kids: bool = setting(
        False,
        Spec(
            "Made for kids",
            "Declares every video as made for children (YouTube then turns comments and some features off).",
            "flag",
            _YOUTUBE,
        ),
    )
    synthetic_disclosure: bool = setting(
        True,
        Spec(
            "Disclose generated media",
            "Marks videos as containing generated narration and visuals, and says so in the description.",
            "flag",
            _YOUTUBE,
        ),
    )
    category: str = setting(
        "27",
        Spec(
            "YouTube category",
            "The category every video is filed under on YouTube.",
            "choice",
            _YOUTUBE,
            allowed="a YouTube category id: " + ", ".join(f"{k} ({v})" for k, v in CATEGORIES.items()),
            choices=tuple(CATEGORIES.items()),
        ),
    )
    playlist: str = setting(
        "",
        Spec(
            "Playlist",
            "The id of a YouTube playlist every video is added to (from the playlist's address, list=...).",
            "text",
            _YOUTUBE,
            allowed="a YouTube playlist id (10-64 letters, digits, - or _), empty for none",
            pattern=PLAYLIST_RE,
            empty="none",
        ),
    )
    default_tags: list[str] = setting(
        [],
        Spec(
            "Default tags",
            f"Added to every video's own tags; YouTube allows {MAX_TAGS_CHARS} characters of tags in all.",
            "words",
            _YOUTUBE,
            allowed=f"comma-separated tags, {MAX_TAGS_CHARS} characters in all",
            pattern=re.compile(r"[^<>]+"),
            max_chars=MAX_TAGS_CHARS,
            empty="none",
        ),
    )
    required_checkpoints: list[str] | None = setting(
        None,
        Spec(
            "Review checkpoints",
            "The checkpoints a person must approve; the others are approved automatically.",
            "subset",
            _REVIEW,
            allowed="comma-separated subset of " + ", ".join(CHECKPOINTS) + " ('none', or 'niche')",
            choices=tuple((c, CHECKPOINT_LABELS.get(c, c.title())) for c in CHECKPOINTS),
            empty="the niche's review policy",
            niche_default="required_checkpoints",
            nullable=True,
            null_words=("niche",),
        ),
    )
    priority: int = setting(
        3,
        Spec(
            "GPU priority",
            "When the GPU queue is contended, 1 runs first and 5 last.",
            "whole",
            _CADENCE,
            allowed="an integer 1 (highest) .. 5",
            low=1,
            high=5,
            step=1,
        ),
    )
    cadence: bool = setting(
        False,
        Spec(
            "Automatic cadence",
            "A schedule starts a production ahead of each publishing slot, from the topic backlog.",
            "flag",
            _CADENCE,
        ),
    )
    lead_time_hours: float = setting(
        72.0,
        Spec(
            "Start before a slot",
            "How long before a slot the cadence starts its production, to leave time for the reviews.",
            "number",
            _CADENCE,
            low=1,
            high=720,
            step=1,
            unit="hours",
        ),
    )
    max_waiting_reviews: int = setting(
        2,
        Spec(
            "Waiting reviews at most",
            "Back-pressure: the cadence starts nothing while this many of the channel's productions wait.",
            "whole",
            _CADENCE,
            low=1,
            high=50,
            step=1,
        ),
    )
    webhooks: list[str] = setting(
        [],
        Spec(
            "Notification targets",
            "Names of targets in TUBEFLOW_CHANNEL_WEBHOOKS this channel notifies (the URLs stay there).",
            "words",
            _REVIEW,
            allowed="comma-separated target names defined in TUBEFLOW_CHANNEL_WEBHOOKS (letters, digits, - and _)",
            pattern=re.compile(r"[A-Za-z0-9_-]{1,40}"),
            max_items=10,
            empty="none",
        ),
    )
    review_reminder_hours: float | None = setting(
        None,
        Spec(
            "Remind reviewers after",
            "How long a checkpoint may wait before its reviewers are reminded; 0 never reminds.",
            "number",
            _REVIEW,
            allowed="hours a checkpoint may wait before a reminder, 0 (never) .. 720, or 'default'",
            low=0,
            high=720,
            step=0.5,
            unit="hours",
            nullable=True,
            null_words=("default",),
            env_default="review_reminder_hours",
        ),
    )
    # The quality report's limits (tubeflow/quality_report.py; README "Quality report").
    quality_gate: bool | None = setting(
        None,
        Spec(
            "Hold a failed quality report",
            "An auto-approved final cut whose quality report failed waits for a person instead of publishing.",
            "flag",
            _QUALITY,
            allowed="true, false or 'default' (TUBEFLOW_QUALITY_GATE): hold an auto-approved final whose "
            "quality report failed",
            nullable=True,
            null_words=("default",),
            env_default="quality_gate",
        ),
    )
    quality_loudness_lufs: float = _limit(
        -14.0, "Target loudness", "Integrated loudness the mix should reach.", -40, -5, "LUFS"
    )
    quality_loudness_tolerance_lu: float = _limit(
        1.0, "Loudness tolerance", "How far from the target loudness a mix may be.", 0, 10, "LU"
    )
    quality_max_true_peak_dbtp: float = _limit(
        -1.0, "Highest true peak", "Louder peaks can clip on phones.", -20, 0, "dBTP"
    )
    quality_max_static_shot_s: float = _limit(
        3.5, "Longest still shot", "The longest a long-form video holds one picture without a change.", 0.5, 600, "s"
    )
    quality_max_static_shot_shorts_s: float = _limit(
        2.0, "Longest still shot in a Short", "The same for a Short, which must move faster.", 0.5, 60, "s"
    )
    quality_max_black_s: float = _limit(0.0, "Black frames", "Seconds of black picture allowed.", 0, 600, "s")
    quality_max_frozen_s: float = _limit(0.0, "Frozen frames", "Seconds of frozen picture allowed.", 0, 600, "s")
    quality_max_caption_overlaps: int = _limit(
        0, "Captions over drawn text", "Captions allowed on top of a title card's text.", 0, 10000, whole=True
    )
    quality_max_captions_outside_safe: int = _limit(
        0,
        "Captions outside the safe zone",
        "Captions allowed where the player's buttons cover them.",
        0,
        10000,
        whole=True,
    )
    quality_min_broll_relevance: float = _limit(
        -0.05,
        "Lowest b-roll relevance",
        "The weakest match between a picture and its narration allowed.",
        -2,
        1,
        step=0.01,
    )
    quality_max_music_under_speech_db: float = _limit(
        -12.0, "Music under the voice", "How loud the music bed may be under speech, against the voice.", -60, 0, "dB"
    )
    # How a channel's videos look (laid over the niche in niches/channel_profile.py; README "Shorts and captions").
    shorts_layout: str = setting(
        "",
        Spec(
            "Shorts layout",
            "Native composes each Short at 9:16 (portrait cards, subject kept); blur and crop reframe the 16:9 cut.",
            "choice",
            _LOOK,
            choices=(("", "The niche's"), ("native", "Native 9:16"), ("blur", "Blurred fill"), ("crop", "Centre crop")),
            allowed="one of " + ", ".join(SHORTS_LAYOUTS) + " (empty: the niche's)",
            empty="the niche's",
            niche_default="shorts_reframe",
        ),
    )
    shorts_loop: bool = setting(
        False,
        Spec(
            "Loop Shorts",
            "A Short's last half second cross-fades into its first frame, so a replay runs on without a jump.",
            "flag",
            _LOOK,
        ),
    )
    caption_style: str = setting(
        "",
        Spec(
            "Caption style",
            "How the burned-in captions look: karaoke colours the word being said, word-pop shows one word at a time.",
            "choice",
            _LOOK,
            choices=(
                ("", "The niche's"),
                ("karaoke", "Karaoke"),
                ("word-pop", "Word pop"),
                ("boxed", "Boxed"),
                ("classic", "Classic"),
            ),
            allowed="one of " + ", ".join(CAPTION_KINDS) + " (empty: the niche's)",
            empty="the niche's",
        ),
    )
    caption_position: str = setting(
        "",
        Spec(
            "Caption position",
            "Where captions sit, always inside the platform's safe area (clear of its buttons).",
            "choice",
            _LOOK,
            choices=(("", "The niche's"), ("top", "Top"), ("middle", "Middle"), ("bottom", "Bottom")),
            allowed="one of " + ", ".join(CAPTION_POSITIONS) + " (empty: the niche's)",
            empty="the niche's",
        ),
    )
    # Pacing: the longest a shot may stay on screen before a new picture, another crop of it, or a clip.
    max_shot_s: float = _limit(
        DEFAULT_MAX_SHOT_S,
        "Longest shot",
        "The longest a long-form shot stays on screen before a cut (a new picture, another framing, a clip).",
        MIN_SHOT_S,
        MAX_SHOT_S,
        "s",
        group=_LOOK,
    )
    shorts_max_shot_s: float = _limit(
        DEFAULT_SHORTS_MAX_SHOT_S,
        "Longest shot in a Short",
        "The same for a Short, which must move faster.",
        MIN_SHOT_S,
        MAX_SHOT_S,
        "s",
        group=_LOOK,
    )
    voice_chain: list[str] = setting(
        [],
        Spec(
            "Voices, in order",
            "Voices tried in turn: one that fails (no model, an error, silence) hands over to the next.",
            "words",
            _LANGUAGE,
            allowed="comma-separated voice engines tried in order, from "
            + ", ".join(VOICE_ENGINES)
            + " (empty: TUBEFLOW_TTS, then piper, espeak)",
            choices=tuple((e, e) for e in VOICE_ENGINES),
            empty="TUBEFLOW_TTS, then piper, espeak",
        ),
    )

    @property
    def slots(self) -> list[Slot]:
        return [parse_slot(s) for s in self.publish_slots]

    def quality_thresholds(self) -> QualityThresholds:
        """The channel's limits for its quality reports (the long-form's; ``.shorts()`` for a Short)."""
        return QualityThresholds(**{name: getattr(self, f"quality_{name}") for name in QUALITY_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Read at call time by every function here and by the form, so the specs are the one list of settings.
SPECS: dict[str, Spec] = {f.name: f.metadata["spec"] for f in fields(ChannelSettings)}
FIELD_NAMES = tuple(SPECS)
FIELD_HELP: dict[str, str] = {name: spec.allowed_text() for name, spec in SPECS.items()}
QUALITY_FIELDS = tuple(f.name for f in fields(QualityThresholds))


def _bad(name: str, value: Any) -> SettingsInvalid:
    return SettingsInvalid(f"channel setting {name}={value!r} is not allowed; use {SPECS[name].allowed_text()}", name)


def parse_slot(text: str, name: str = "publish_slots") -> Slot:
    m = SLOT_RE.match(text.lower())
    if not m:
        raise _bad(name, text)
    days: list[int] = []
    for part in m.group(1).replace(" ", "").split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            if a not in DAYS or b not in DAYS:
                raise _bad(name, text)
            i, j = DAYS.index(a), DAYS.index(b)
            days += list(range(i, j + 1)) if i <= j else list(range(i, 7)) + list(range(0, j + 1))
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise _bad(name, text)
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23:
        raise _bad(name, text)
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
    except (TypeError, ValueError, OverflowError):
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
    """One field's value, validated and normalised by its spec (strings from the CLI become the right type)."""
    spec = SPECS.get(name)
    if spec is None:
        raise SettingsInvalid(f"unknown channel setting {name!r}; settings are: {', '.join(SPECS)}")
    if spec.nullable and (value is None or (isinstance(value, str) and value.strip() in spec.null_words)):
        return None
    if spec.kind == "flag":
        return _bool(name, value)
    if spec.kind in ("number", "whole"):
        kind: type = int if spec.kind == "whole" else float
        low = spec.low if spec.low is not None else float("-inf")
        high = spec.high if spec.high is not None else float("inf")
        return _number(name, value, kind, low, high)
    if spec.kind == "slots":
        items = [s.strip() for s in value.split(";")] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise _bad(name, value)
        return [str(parse_slot(s, name)) for s in items if s.strip()]
    if spec.kind in ("words", "subset"):
        if spec.kind == "subset" and value == "none":
            return []  # e.g. every checkpoint auto-approved
        try:
            words = _list(value)
        except TypeError:
            raise _bad(name, value) from None
        if spec.kind == "subset":
            allowed = [v for v, _label in spec.choices]
            if any(w not in allowed for w in words):
                raise _bad(name, value)
            return [v for v in allowed if v in words]
        too_long = spec.max_chars and sum(len(w) + 2 for w in words) > spec.max_chars
        if too_long or (spec.max_items and len(words) > spec.max_items):
            raise _bad(name, value)
        if spec.pattern is not None and any(not spec.pattern.fullmatch(w) for w in words):
            raise _bad(name, value)
        if spec.choices:  # some of the choices, in the order given (a fallback chain), each once
            words = [w.lower() for w in words]
            if any(w not in dict(spec.choices) for w in words) or len(words) != len(set(words)):
                raise _bad(name, value)
        return words
    if not isinstance(value, str):  # text and choice
        raise _bad(name, value)
    value = value.strip()
    if spec.kind == "choice" and value not in [v for v, _label in spec.choices]:
        raise _bad(name, value)
    if value and spec.pattern is not None and not spec.pattern.fullmatch(value):
        raise _bad(name, value)
    if spec.max_chars and len(value) > spec.max_chars:
        raise _bad(name, value)
    if spec.check is not None and not spec.check(value):
        raise _bad(name, value)
    return value


def field_errors(changes: dict[str, Any]) -> dict[str, str]:
    """Every refused value of ``changes`` at once (setting → message), for a form that marks each field."""
    out: dict[str, str] = {}
    for key, value in changes.items():
        if value is None or value == "":
            if key not in SPECS:
                out[key] = f"unknown channel setting {key!r}"
            continue  # a reset
        try:
            clean_value(key, value)
        except SettingsInvalid as e:
            out[key] = str(e)
    return out


def parse_settings(data: dict[str, Any] | None) -> ChannelSettings:
    """Stored JSON → settings; unknown keys (another version's) are ignored, bad values refused."""
    values = {k: clean_value(k, v) for k, v in (data or {}).items() if k in SPECS}
    return ChannelSettings(**values)


def updated(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The stored settings after ``changes`` (``key: None`` or an empty string resets a field)."""
    out = {k: v for k, v in (current or {}).items() if k in SPECS}
    for key, value in changes.items():
        if key not in SPECS:
            clean_value(key, value)  # raises with the list of settings
        if value is None or value == "":
            out.pop(key, None)
        else:
            out[key] = clean_value(key, value)
    cs = parse_settings(out)
    if cs.publish_slots and cs.privacy != "public" and ("publish_slots" in changes or "privacy" in changes):
        raise SettingsInvalid(
            f"channel setting publish_slots needs privacy=public: YouTube only publishes at a slot (publishAt) "
            f"a video that goes public then, so a {cs.privacy} upload would sit on the calendar as 'scheduled' "
            f"and never appear; set privacy=public with the slots, or clear publish_slots to upload {cs.privacy} "
            f"at once"
        )
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


def slot_times(cs: ChannelSettings, start: datetime, end: datetime, slots: list[Slot] | None = None) -> list[datetime]:
    """Every slot moment (UTC) in [start, end), in order; wall-clock times in the channel's zone.

    ``slots``: another list than the channel's publishing slots (a platform's, e.g. ``tiktok_slots``)."""
    tz = ZoneInfo(cs.timezone)
    out: list[datetime] = []
    slots = cs.slots if slots is None else slots
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
    cs: ChannelSettings, after: datetime, taken: set[datetime], horizon_days: int = 366, platform: str = ""
) -> datetime | None:
    """The first slot after ``after`` nobody holds; None when the channel has no slots.

    ``platform``: that platform's slots (``tiktok_slots``...) instead of the publishing slots."""
    texts = getattr(cs, f"{platform}_slots") if platform else cs.publish_slots
    if not texts:
        return None
    slots = [parse_slot(t) for t in texts]
    start = after
    while start < after + timedelta(days=horizon_days):
        window_end = start + timedelta(days=28)
        for at in slot_times(cs, start, window_end, slots):
            if at > after and at not in taken:
                return at
        start = window_end
    raise SettingsInvalid(f"no free publishing slot in the next {horizon_days} days; add slots (publish_slots)")
