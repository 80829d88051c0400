"""The render plan: what the b-roll stage decides and the render engine executes.

It is the contract between the CPU side (which picks media) and the GPU side (which only
follows the plan), stored as JSON under ``productions/<id>/plan-v<attempt>.json``.  Times are in
seconds on the narration timeline.  Also the narration timing document written by TTS.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

# The pace when a channel says nothing (issue 20): a long-form shot changes within 3.5 s, a Short's within 2.
DEFAULT_MAX_SHOT_S = 3.5
DEFAULT_SHORTS_MAX_SHOT_S = 2.0


@dataclass
class PartTiming:
    """One spoken part: index 0 is the hook, then one per script section."""

    index: int
    kind: str  # hook | section
    start: float
    end: float
    text: str
    section: int | None = None  # index into script["sections"], None for the hook


@dataclass
class NarrationTiming:
    duration_s: float
    sample_rate: int
    parts: list[PartTiming]
    voice: str = ""  # which voice of the chain spoke ("" in timings written before the chain)
    voice_notes: list[str] = field(default_factory=list)  # why the voices before it did not

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> NarrationTiming:
        d = json.loads(text)
        return cls(
            duration_s=d["duration_s"],
            sample_rate=d["sample_rate"],
            parts=[PartTiming(**p) for p in d["parts"]],
            voice=str(d.get("voice") or ""),
            voice_notes=[str(n) for n in d.get("voice_notes") or []],
        )


@dataclass
class MediaItem:
    key: str  # storage key of the image or clip
    kind: str  # image | video
    source: str  # library | generated | stock | upload
    cue: str = ""  # the b-roll cue it answers
    start: float = 0.0  # on the narration timeline (set for chosen items)
    end: float = 0.0
    media_duration: float = 0.0  # clips only: the clip's own length
    score: float = 0.0  # relevance to what is said in the part (cosine similarity, shown to the reviewer)
    description: str = ""  # what the picture shows, as it was ranked (library index, stock tags, cue)
    # Why it scored what it did, in words ("matches 'prism'; used in the last 5 videos (-1.0)"),
    # written where the score is computed; plans made before it existed have none.
    reason: str = ""
    poster: str = ""  # clips: storage key of a still from their middle (what the checkpoint shows)
    # A generated title card: where it drew text (fractions of the picture, [x, y, w, h]) and its
    # portrait twin drawn for native Shorts, so the renderer keeps captions off the card's words.
    card: dict[str, Any] = field(default_factory=dict)  # {"text": [...], "portrait_key": k, "portrait_text": [...]}
    # Where the picture's subject is (fractions of its width and height), found by the b-roll stage
    # so every worker frames it identically; the centre for clips and for plans made before it.
    focus_x: float = 0.5
    focus_y: float = 0.5


@dataclass
class PlanPart:
    index: int
    label: str
    start: float
    end: float
    items: list[MediaItem]
    candidates: list[MediaItem] = field(default_factory=list)  # alternatives a reviewer may swap in
    short_candidate: bool = False


@dataclass
class RenderPlan:
    width: int
    height: int
    fps: int
    duration_s: float
    parts: list[PlanPart]
    transition: str = "fade"  # an xfade transition name, or "none"
    transition_s: float = 0.5
    music_key: str = ""
    caption_style: dict[str, Any] = field(default_factory=dict)
    ken_burns: bool = True
    warnings: list[str] = field(default_factory=list)
    title: str = ""  # the video's title (a Short's hook title falls back to it)
    loop_s: float = 0.0  # > 0: the last this-many seconds cross-fade into the first frame (looping Shorts)
    # Pacing: the longest a shot may stay on screen before a cut (a new picture, another crop of the
    # same one, or a clip); the channel's setting when the plan was made, else the defaults. 0: no limit.
    max_shot_s: float = DEFAULT_MAX_SHOT_S
    shorts_max_shot_s: float = DEFAULT_SHORTS_MAX_SHOT_S

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenderPlan:
        parts = [
            PlanPart(
                index=p["index"],
                label=p["label"],
                start=p["start"],
                end=p["end"],
                items=[MediaItem(**m) for m in p["items"]],
                candidates=[MediaItem(**m) for m in p.get("candidates", [])],
                short_candidate=p.get("short_candidate", False),
            )
            for p in d["parts"]
        ]
        rest = {k: v for k, v in d.items() if k != "parts"}
        return cls(parts=parts, **rest)

    @classmethod
    def from_json(cls, text: str) -> RenderPlan:
        return cls.from_dict(json.loads(text))

    def all_items(self) -> list[MediaItem]:
        return [m for p in self.parts for m in p.items]


# How far under the limit a shot is planned: scene detection samples the video 4 times a second
# and a cross-fade shows up a little before its middle, so a planned shot of ``max - 0.6`` s is
# still measured under ``max`` on the rendered file (tests/test_pacing.py).
SHOT_MARGIN_S = 0.6
MIN_SHOT_S = 0.8


def shot_target(max_shot_s: float) -> float:
    """The longest shot to plan for a channel limit of ``max_shot_s`` (0: no limit)."""
    return max(MIN_SHOT_S, max_shot_s - SHOT_MARGIN_S) if max_shot_s > 0 else 0.0


def shot_count(span_s: float, max_shot_s: float) -> int:
    """How many shots fill ``span_s`` seconds without one staying longer than the pace allows."""
    target = shot_target(max_shot_s)
    if target <= 0 or span_s <= 0:
        return 1
    return max(1, math.ceil(span_s / target - 1e-9))


# Shorts are cut from ranges of the plan: the main queue picks them (to name the Shorts), the GPU
# queue renders them, so the choice lives here where both can read it.
MAX_SHORT_S = 59.0  # YouTube counts <= 60 s; keep the 0.5 s tail inside


@dataclass(frozen=True)
class ShortRange:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


# How a Short is laid out in 9:16: ``native`` re-composes every picture in portrait (subject
# crop, portrait title cards, hook title, captions in the Shorts safe zone); ``blur`` and ``crop``
# are the older reframes of the landscape picture.  A looping Short says so with ``+loop``: the
# value crosses Temporal as ``ShortsPlan.reframe`` / ``RenderJob.reframe``, one string.
SHORTS_LAYOUTS = ("native", "blur", "crop")
LOOP_SUFFIX = "+loop"
LOOP_S = 0.5


def portrait_size(width: int, height: int) -> tuple[int, int]:
    """9:16 at the long-form's height as width: 1920x1080 -> 1080x1920, 320x180 -> 180x320."""
    w = height // 2 * 2
    return w, (w * 16 // 9) // 2 * 2


def shorts_reframe(layout: str, loop: bool = False) -> str:
    return f"{layout}{LOOP_SUFFIX if loop else ''}"


def parse_reframe(value: str) -> tuple[str, bool]:
    """``"native+loop"`` -> ("native", True); an unknown layout is returned as is for the caller to refuse."""
    loop = value.endswith(LOOP_SUFFIX)
    return (value[: -len(LOOP_SUFFIX)] if loop else value), loop


def pick_ranges(plan: RenderPlan, count: int, max_s: float = MAX_SHORT_S) -> list[ShortRange]:
    """The parts the script marked as Short candidates (else the longest parts), capped at ``max_s``."""
    parts = [p for p in plan.parts if p.short_candidate] or sorted(plan.parts, key=lambda p: p.start - p.end)
    out = [ShortRange(p.start, min(p.end, p.start + max_s)) for p in parts[:count] if p.end > p.start]
    return sorted(out, key=lambda r: r.start)
