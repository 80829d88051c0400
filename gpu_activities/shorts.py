"""Cut a vertical Short (<= 60 s, 9:16) from a time range of the long-form production.

The Short is re-composed from the same plan, not cropped out of the finished MP4: the finished
video already has small bottom captions burned in, which a 9:16 crop would slice and a blurred
fill would show twice.  Re-composing the range gives the same pictures and the same motion, with
large captions re-timed to the clip, and the narration of that range under it.  Only the range's
frames are encoded.

Layouts (``reframe``, a per-channel setting): ``native`` (the default) composes every picture in
portrait: title cards are their portrait twins drawn by the b-roll stage (icon above, heading and
body stacked), other pictures are cropped to 9:16 around their subject (gpu_activities/subject.py),
a hook title is on screen for the first two seconds, and captions sit in the Shorts safe zone off
any drawn text.  ``blur`` (the landscape picture as a band over a blurred copy) and ``crop`` (centre
crop) are the older reframes, kept for channels that chose them.  ``+loop`` makes the last half
second cross-fade into the first frame.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpu_activities.captions import HookTitle, shift_words, style_from
from gpu_activities.render import RenderStats, render_production
from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.ffmpeg import FFmpegCommand, fmt_s, run_ffmpeg
from tubeflow.media.probe import probe
from tubeflow.render_plan import (
    LOOP_S,
    MAX_SHORT_S,
    SHORTS_LAYOUTS,
    PlanPart,
    RenderPlan,
    ShortRange,
    parse_reframe,
)
from tubeflow.render_plan import portrait_size as portrait_size  # re-exported: callers import it from here
from tubeflow.settings import Settings


def sub_plan(plan: RenderPlan, rng: ShortRange) -> RenderPlan:
    """The plan restricted to ``rng`` and shifted so the range starts at 0."""
    parts: list[PlanPart] = []
    for part in plan.parts:
        if part.end <= rng.start or part.start >= rng.end:
            continue
        items = []
        n = len(part.items)
        for j, item in enumerate(part.items):
            start, end = item.start, item.end
            if end <= start:  # untimed: the same even split the long-form used
                start = part.start + (part.end - part.start) * j / max(n, 1)
                end = part.start + (part.end - part.start) * (j + 1) / max(n, 1)
            if end <= rng.start or start >= rng.end:
                continue
            moved = copy.copy(item)
            moved.start, moved.end = start - rng.start, min(end, rng.end) - rng.start
            items.append(moved)
        parts.append(
            PlanPart(
                part.index,
                part.label,
                max(part.start, rng.start) - rng.start,
                min(part.end, rng.end) - rng.start,
                items,
            )
        )
    out = copy.copy(plan)
    out.parts = parts
    out.duration_s = rng.duration
    out.max_shot_s = plan.shorts_max_shot_s  # a Short keeps its own, faster pace
    return out


def cut_audio(src: Path, rng: ShortRange, out: Path) -> Path:
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(src, "-ss", fmt_s(rng.start), "-t", fmt_s(rng.duration))
    cmd.output_args = ["-map", "0:a:0", "-c:a", "pcm_s16le", "-f", "wav"]
    run_ffmpeg(cmd.argv(), what=f"cutting narration {src.name}")
    return out


@dataclass(frozen=True)
class ShortView:
    """A Short as the render engine sees it: the sub-plan, re-timed words, its captions, 9:16 size."""

    plan: RenderPlan
    words: list[dict[str, Any]]
    style: CaptionStyle
    range: ShortRange
    out_size: tuple[int, int]
    reframe: str = "native"  # native | blur | crop (the loop is in ``plan.loop_s``)
    hook: HookTitle | None = None


def hook_text(plan: RenderPlan) -> str:
    """The hook title: the heading of the section the Short starts in (the video's title for the hook)."""
    first = next((p for p in plan.parts if p.end > p.start), None)
    if first is not None and first.label and first.label != "hook":
        return first.label
    return plan.title or next((p.label for p in plan.parts if p.label and p.label != "hook"), "")


def portrait_cards(plan: RenderPlan) -> RenderPlan:
    """Every title card swapped for its portrait twin (drawn by the b-roll stage) where it has one,
    framed on the twin's words (the plan's focus was found on the landscape card)."""
    out = copy.copy(plan)
    out.parts = []
    for part in plan.parts:
        items = []
        for item in part.items:
            if item.card.get("portrait_key"):
                item = copy.copy(item)
                words = [b for b in item.card.get("portrait_text", []) if len(b) == 4]
                item.key, item.card = item.card["portrait_key"], {"text": item.card.get("portrait_text", [])}
                if words:
                    item.focus_x = (min(b[0] for b in words) + max(b[0] + b[2] for b in words)) / 2
                    item.focus_y = (min(b[1] for b in words) + max(b[1] + b[3] for b in words)) / 2
            items.append(item)
        out.parts.append(PlanPart(part.index, part.label, part.start, part.end, items, part.candidates,
                                  part.short_candidate))  # fmt: skip
    return out


def short_view(
    plan: RenderPlan,
    words: Sequence[dict[str, Any]],
    rng: ShortRange,
    narration_s: float,
    caption_style: CaptionStyle | None = None,
    reframe: str = "native",
) -> ShortView:
    """Clamp ``rng`` to the narration and YouTube's limit; refuse a range outside the narration."""
    layout, loop = parse_reframe(check_reframe(reframe))
    end = min(rng.end, narration_s, rng.start + MAX_SHORT_S)
    if end - rng.start < 1.0:
        raise PermanentError(
            f"short range {rng.start:.1f}-{rng.end:.1f} s is outside the {narration_s:.1f} s narration"
        )
    rng = ShortRange(rng.start, end)
    style = caption_style or (style_from(plan.caption_style) if plan.caption_style else CaptionStyle())
    sub = sub_plan(plan, rng)
    sub.loop_s = LOOP_S if loop else 0.0
    hook = None
    if layout == "native":
        sub = portrait_cards(sub)
        text = hook_text(sub)
        hook = HookTitle(text, 0.0, min(2.0, rng.duration)) if text else None
    else:  # the older layouts keep their centred captions
        style = CaptionStyle(**{**style.__dict__, "position": "middle"})
    size = portrait_size(plan.width, plan.height)
    return ShortView(sub, shift_words(words, rng.start, rng.end), style, rng, size, layout, hook)


def check_reframe(reframe: str) -> str:
    if parse_reframe(reframe)[0] not in SHORTS_LAYOUTS:
        allowed = ", ".join(repr(x) for x in SHORTS_LAYOUTS)
        raise PermanentError(f"shorts reframe must be one of {allowed} (optionally with '+loop'), not {reframe!r}")
    return reframe


def render_short(
    plan: RenderPlan,
    voice_wav: Path,
    words: Sequence[dict[str, Any]],
    rng: ShortRange,
    out_path: Path,
    workdir: Path,
    settings: Settings,
    *,
    reframe: str = "native",
    caption_style: CaptionStyle | None = None,
    music: Path | None = None,
    music_volume_db: float = -18.0,
    resolve: Callable[[str], Path] | None = None,
) -> RenderStats:
    narration = probe(voice_wav, label=f"narration {voice_wav.name}").duration_s
    view = short_view(plan, words, rng, narration, caption_style, reframe)
    workdir.mkdir(parents=True, exist_ok=True)
    voice = cut_audio(voice_wav, view.range, workdir / "short-voice.wav")
    # One segment: a Short is short, and a single encode avoids per-segment start-up cost.
    one_segment = settings.with_overrides(segment_seconds=max(settings.segment_seconds, view.range.duration + 1.0))
    return render_production(
        view.plan,
        voice,
        view.words,
        out_path,
        workdir,
        one_segment,
        music=music,
        caption_style=view.style,
        resolve=resolve,
        music_volume_db=music_volume_db,
        reframe=view.reframe,
        out_size=view.out_size,
        hook=view.hook,
    )
