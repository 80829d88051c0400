"""Cut a vertical Short (<= 60 s, 9:16) from a time range of the long-form production.

The Short is re-composed from the same plan, not cropped out of the finished MP4: the finished
video already has small bottom captions burned in, which a 9:16 crop would slice and a blurred
fill would show twice.  Re-composing the range gives the same pictures and the same motion,
reframed (centre crop or blurred fill), with large centred captions re-timed to the clip, and the
narration of that range under it.  Only the range's frames are encoded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpu_activities.captions import shift_words
from gpu_activities.render import RenderStats, render_production
from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.ffmpeg import FFmpegCommand, fmt_s, run_ffmpeg
from tubeflow.media.probe import probe
from tubeflow.render_plan import MAX_SHORT_S, PlanPart, RenderPlan, ShortRange
from tubeflow.settings import Settings


def portrait_size(width: int, height: int) -> tuple[int, int]:
    """9:16 at the long-form's height as width: 1920x1080 -> 1080x1920, 320x180 -> 180x320."""
    w = height // 2 * 2
    return w, (w * 16 // 9) // 2 * 2


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
    """A Short as the render engine sees it: the sub-plan, re-timed words, centred captions, 9:16 size."""

    plan: RenderPlan
    words: list[dict[str, Any]]
    style: CaptionStyle
    range: ShortRange
    out_size: tuple[int, int]


def short_view(
    plan: RenderPlan,
    words: Sequence[dict[str, Any]],
    rng: ShortRange,
    narration_s: float,
    caption_style: CaptionStyle | None = None,
) -> ShortView:
    """Clamp ``rng`` to the narration and YouTube's limit; refuse a range outside the narration."""
    end = min(rng.end, narration_s, rng.start + MAX_SHORT_S)
    if end - rng.start < 1.0:
        raise PermanentError(
            f"short range {rng.start:.1f}-{rng.end:.1f} s is outside the {narration_s:.1f} s narration"
        )
    rng = ShortRange(rng.start, end)
    base = caption_style or (CaptionStyle(**plan.caption_style) if plan.caption_style else CaptionStyle())
    style = CaptionStyle(**{**base.__dict__, "position": "center"})
    return ShortView(
        sub_plan(plan, rng), shift_words(words, rng.start, rng.end), style, rng, portrait_size(plan.width, plan.height)
    )


def check_reframe(reframe: str) -> str:
    if reframe not in ("blur", "crop"):
        raise PermanentError(f"shorts reframe must be 'blur' or 'crop', not {reframe!r}")
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
    reframe: str = "blur",
    caption_style: CaptionStyle | None = None,
    music: Path | None = None,
    music_volume_db: float = -18.0,
    resolve: Callable[[str], Path] | None = None,
) -> RenderStats:
    check_reframe(reframe)
    narration = probe(voice_wav, label=f"narration {voice_wav.name}").duration_s
    view = short_view(plan, words, rng, narration, caption_style)
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
        reframe=reframe,
        out_size=view.out_size,
    )
