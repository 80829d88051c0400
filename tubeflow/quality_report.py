"""The quality report of one rendered video, and the text boxes the renderer drew.

It lives in the core because it crosses Temporal (the GPU side measures, the workflow decides
whether the final checkpoint may auto-approve) and reaches the API, the CLI and the MCP tools.
Every figure is measured (on the file, the plan or the renderer's boxes), carries the threshold
it was judged by, and a failing figure names the moment to look at and says in one sentence what
a reviewer will see there, because a red number without a timestamp sends the reviewer scrubbing.

The text boxes (:class:`TextLayout`) are what the renderer must emit for the overlap and safe
zone checks: every piece of text it burns in (card heading and body, hook title) and every
caption line, in output-frame pixels, with the time it is on screen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Figure names: stable strings (they travel in workflow histories and the API).
LOUDNESS = "loudness_lufs"
TRUE_PEAK = "true_peak_dbtp"
STATIC_SHOT = "longest_static_shot_s"
CUTS_PER_MINUTE = "cuts_per_minute"
BLACK = "black_s"
FROZEN = "frozen_s"
MUSIC_UNDER_SPEECH = "music_under_speech_db"
BROLL_RELEVANCE = "broll_relevance_min"
CAPTION_OVERLAP = "caption_text_overlaps"
CAPTION_OUTSIDE_SAFE = "captions_outside_safe_zone"
# How a reviewer reads each figure's name (the dashboard, the needs-attention reason).
LABELS = {
    LOUDNESS: "Loudness",
    TRUE_PEAK: "True peak",
    STATIC_SHOT: "Longest static shot",
    CUTS_PER_MINUTE: "Cuts per minute",
    BLACK: "Black frames",
    FROZEN: "Frozen frames",
    MUSIC_UNDER_SPEECH: "Music under speech",
    BROLL_RELEVANCE: "B-roll relevance (lowest)",
    CAPTION_OVERLAP: "Captions over drawn text",
    CAPTION_OUTSIDE_SAFE: "Captions outside the safe zone",
}


# A figure points at no more moments than this (the count is in its value and message): the
# report crosses Temporal and sits in the production's status, so it must stay a few kilobytes.
MAX_MOMENTS = 20


@dataclass(frozen=True)
class QualityThresholds:
    """A channel's limits. Defaults are issue 20's; Shorts get a tighter pace (:meth:`shorts`)."""

    loudness_lufs: float = -14.0
    loudness_tolerance_lu: float = 1.0
    max_true_peak_dbtp: float = -1.0
    max_static_shot_s: float = 3.5
    max_static_shot_shorts_s: float = 2.0  # a Short's longest shot (it replaces max_static_shot_s there)
    max_black_s: float = 0.0
    max_frozen_s: float = 0.0
    max_caption_overlaps: int = 0
    max_captions_outside_safe: int = 0
    # Relevance is cosine above the background (about 0.1 for a good match, ~0 unrelated); a
    # picture the channel used recently carries a -1.0 history penalty, so it lands far below.
    min_broll_relevance: float = -0.05
    # Music bed loudness relative to the voice while the voice speaks (LU); louder masks words.
    max_music_under_speech_db: float = -12.0

    @classmethod
    def for_shorts(cls, **overrides: Any) -> QualityThresholds:
        return cls(**overrides).shorts()

    def shorts(self) -> QualityThresholds:
        """The same limits with a Short's pace."""
        return replace(self, max_static_shot_s=self.max_static_shot_shorts_s)

    def for_video(self, video: str) -> QualityThresholds:
        return self.shorts() if video.startswith("short") else self


@dataclass(frozen=True)
class Moment:
    """A stretch of the video (seconds on the output timeline) a figure points at."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class QualityFigure:
    """One measured figure. ``passed`` is None when it could not be measured (``message`` says why)."""

    name: str
    value: float | None
    unit: str
    threshold: str  # as a reviewer reads it: "-14 ± 1 LUFS", "≤ 3.5 s"
    passed: bool | None
    message: str  # one sentence; for a failure it says what is wrong and where
    at_s: float | None = None  # the moment to look at (first failing one)
    moments: list[Moment] = field(default_factory=list)
    label: str = ""  # how a reviewer reads the name (set from LABELS when not given)

    def __post_init__(self) -> None:
        self.label = self.label or LABELS.get(self.name, self.name.replace("_", " ").capitalize())


@dataclass
class QualityReport:
    """Every figure of one video (the long-form or one Short)."""

    video: str  # "long" or "short-<n>"
    duration_s: float
    width: int
    height: int
    figures: list[QualityFigure]
    notes: list[str] = field(default_factory=list)
    # True when no measured figure failed (unmeasured ones do not block, they are noted).  A field,
    # not a property, so it is in the JSON (status, API); always recomputed from the figures.
    passed: bool = True
    key: str = ""  # where the report is stored (its JSON), once it is

    def __post_init__(self) -> None:
        self.passed = all(f.passed is not False for f in self.figures)

    def failures(self) -> list[QualityFigure]:
        return [f for f in self.figures if f.passed is False]

    def figure(self, name: str) -> QualityFigure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def reason(self) -> str:
        """The failing figures in one line: why an auto-approved production waits for a person."""
        parts = [f"{f.label} {_value(f)} (want {f.threshold}){_at(f)}" for f in self.failures()]
        return f"quality check of the {_video_words(self.video)} failed: " + "; ".join(parts)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QualityReport:
        figures = [QualityFigure(**{**f, "moments": [Moment(**m) for m in f.get("moments", [])]}) for f in d["figures"]]
        return cls(
            video=d["video"],
            duration_s=d["duration_s"],
            width=d["width"],
            height=d["height"],
            figures=figures,
            notes=list(d.get("notes", [])),
            key=str(d.get("key", "")),
        )


def _value(f: QualityFigure) -> str:
    return f"{f.value:g}{' ' + f.unit if f.unit else ''}" if f.value is not None else "?"


def _at(f: QualityFigure) -> str:
    if f.at_s is None:
        return ""
    m, s = divmod(max(0.0, f.at_s), 60.0)
    return f" at {int(m)}:{s:04.1f}"


def _video_words(video: str) -> str:
    if video.startswith("short-"):
        return f"Short {int(video.removeprefix('short-')) + 1}" if video.removeprefix("short-").isdigit() else video
    return "video"


# --- what the renderer draws -------------------------------------------------------------------

TEXT = "text"  # text burnt into the picture: a card's heading or body, a hook title
CAPTION = "caption"  # one caption line (or word-pop) as libass places it


@dataclass(frozen=True)
class Rect:
    """Pixels of the output frame: x, y of the top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def intersection_area(self, other: Rect) -> float:
        dx = min(self.right, other.right) - max(self.x, other.x)
        dy = min(self.bottom, other.bottom) - max(self.y, other.y)
        return dx * dy if dx > 0 and dy > 0 else 0.0

    def contains(self, other: Rect) -> bool:
        return other.x >= self.x and other.y >= self.y and other.right <= self.right and other.bottom <= self.bottom


@dataclass(frozen=True)
class TextBox:
    """One piece of drawn text: where (frame pixels, the ink's bounding box, outline included) and when."""

    kind: str  # TEXT or CAPTION
    rect: Rect
    start: float
    end: float
    label: str = ""  # what it says, or which card it belongs to: shown in the failure sentence


@dataclass(frozen=True)
class SafeMargins:
    """Fractions of the frame that platform UI may cover; captions must stay inside the rest."""

    left: float
    top: float
    right: float
    bottom: float

    def zone(self, width: int, height: int) -> Rect:
        x, y = width * self.left, height * self.top
        return Rect(x, y, width * (1 - self.left - self.right), height * (1 - self.top - self.bottom))


# Long-form: title-safe 5% all round, and the player's control bar over the bottom 10%.
LONG_FORM_SAFE = SafeMargins(left=0.05, top=0.05, right=0.05, bottom=0.10)
# Shorts: the search/camera bar on top, the action rail (like, comment, share) on the right, the
# title, channel and sound lines over the bottom ~20% (YouTube's own Shorts safe-zone overlay).
SHORTS_SAFE = SafeMargins(left=0.05, top=0.10, right=0.15, bottom=0.20)


@dataclass
class TextLayout:
    """Every text box of one rendered video; the renderer writes it beside the video as JSON."""

    width: int
    height: int
    boxes: list[TextBox] = field(default_factory=list)
    margins: SafeMargins = LONG_FORM_SAFE

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextLayout:
        boxes = [TextBox(**{**b, "rect": Rect(**b["rect"])}) for b in d.get("boxes", [])]
        return cls(d["width"], d["height"], boxes, SafeMargins(**d["margins"]) if "margins" in d else LONG_FORM_SAFE)

    @classmethod
    def from_json(cls, text: str) -> TextLayout:
        return cls.from_dict(json.loads(text))


# Where a render result may carry its boxes (the renderer's field; the first one present is used).
RENDER_BOX_FIELDS = ("text_boxes", "boxes")


def render_boxes(result: Any) -> list[dict[str, Any]] | None:
    """The drawn-text and caption boxes a render result reports, as dicts; None when it reports
    none (a renderer that does not emit them yet, or a result recorded before it did)."""
    for name in RENDER_BOX_FIELDS:
        boxes = getattr(result, name, None)
        if boxes is not None:
            return boxes_as_dicts(boxes)
    return None


def boxes_as_dicts(boxes: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    """The renderer's boxes as plain dicts (they cross Temporal in the quality request)."""
    if boxes is None:
        return None
    names = ("t0", "t1", "x", "y", "w", "h", "kind", "label", "text")
    out = []
    for b in boxes:
        d = {n: _box_field(b, n) for n in names}
        out.append({k: v for k, v in d.items() if v is not None})
    return out


def _box_field(box: Any, name: str) -> Any:
    return box.get(name) if isinstance(box, Mapping) else getattr(box, name, None)


def layout_from_render_boxes(
    boxes: Sequence[Any] | None, width: int, height: int, margins: SafeMargins
) -> TextLayout | None:
    """The renderer's own boxes (``{t0, t1, x, y, w, h, kind}`` in output pixels, as dicts or
    objects with those attributes) as a :class:`TextLayout`; None when it reported none.

    A ``kind`` naming a caption (``caption``, ``caption-line``...) is a caption; any other kind
    (``card``, ``heading``, ``hook``, ``text``) is drawn text a caption must not cover.  A box
    that lacks a coordinate is skipped rather than guessed.
    """
    if boxes is None:
        return None
    out: list[TextBox] = []
    for b in boxes:
        try:
            t0, t1 = float(_box_field(b, "t0")), float(_box_field(b, "t1"))
            x, y = float(_box_field(b, "x")), float(_box_field(b, "y"))
            w, h = float(_box_field(b, "w")), float(_box_field(b, "h"))
        except (TypeError, ValueError):
            continue
        kind_name = str(_box_field(b, "kind") or TEXT)
        kind = CAPTION if kind_name.lower().startswith(CAPTION) else TEXT
        label = str(_box_field(b, "label") or _box_field(b, "text") or kind_name)
        out.append(TextBox(kind, Rect(x, y, w, h), t0, t1, label))
    return TextLayout(width, height, out, margins)


@dataclass(frozen=True)
class Overlap:
    caption: TextBox
    text: TextBox
    start: float
    end: float
    area_px: float


def caption_overlaps(layout: TextLayout, min_area_px: float = 1.0) -> list[Overlap]:
    """Caption boxes that cover drawn text while both are on screen, earliest first."""
    caps = [b for b in layout.boxes if b.kind == CAPTION]
    texts = [b for b in layout.boxes if b.kind == TEXT]
    out = []
    for c in caps:
        for t in texts:
            start, end = max(c.start, t.start), min(c.end, t.end)
            if end <= start:
                continue
            area = c.rect.intersection_area(t.rect)
            if area >= min_area_px:
                out.append(Overlap(c, t, start, end, area))
    return sorted(out, key=lambda o: (o.start, o.caption.label))


def captions_outside(layout: TextLayout) -> list[TextBox]:
    """Caption boxes not wholly inside the safe zone, earliest first."""
    zone = layout.margins.zone(layout.width, layout.height)
    return sorted((b for b in layout.boxes if b.kind == CAPTION and not zone.contains(b.rect)), key=lambda b: b.start)


# --- what crosses Temporal ---------------------------------------------------------------------


@dataclass
class QualityRequest:
    """Measure one rendered video (GPU queue, after its render) and store its report at ``output_key``."""

    production_id: str
    video: str  # "long" or "short-<n>"
    video_key: str
    plan_key: str
    output_key: str
    niche: str = ""
    thresholds: QualityThresholds | None = None  # None: the defaults (a Short's pace for a Short)
    # The renderer's drawn-text and caption boxes ({t0, t1, x, y, w, h, kind}); None: not reported.
    text_boxes: list[dict[str, Any]] | None = None
    start_s: float = 0.0  # a Short's range of the plan (its pictures' relevance scores)
    end_s: float = 0.0


@dataclass
class QualityResult:
    report: QualityReport
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0
