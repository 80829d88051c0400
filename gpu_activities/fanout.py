"""The render split into pieces any worker can do alone: layout, one segment, soundtrack, join.

Every piece is a pure function of the job, the layout decided once, and local files, so segment
``i`` encoded on worker A joins seamlessly with segment ``i+1`` encoded on worker B, and a piece
already in storage is never encoded again.  The single-activity path (render.render_production)
is the same engine run in one process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpu_activities.audio_mix import AudioStats, render_audio
from gpu_activities.captions import HookTitle
from gpu_activities.render import encode_segment, join_segments, segment_spec, soundtrack_samples, sources
from gpu_activities.shorts import check_reframe, cut_audio, short_view
from gpu_activities.timeline import Segment, build_visuals, plan_segments, total_frames, visuals_in
from niches.config import CaptionStyle
from tubeflow.errors import MediaError
from tubeflow.media.encoders import EncoderChoice, gpu_slots
from tubeflow.render_contracts import RenderJob, RenderLayout
from tubeflow.render_plan import RenderPlan, ShortRange
from tubeflow.settings import Settings


@dataclass(frozen=True)
class View:
    """The job as the engine renders it: the (sub-)plan, its words and captions, the frame size."""

    plan: RenderPlan
    words: list[dict[str, Any]]
    style: CaptionStyle | None
    frames: int
    reframe: str = ""
    out_size: tuple[int, int] | None = None
    start_s: float = 0.0  # where the job starts on the narration (Shorts)
    duration_s: float = 0.0
    hook: HookTitle | None = None  # a native Short's hook title

    @property
    def size(self) -> tuple[int, int]:
        return self.out_size or (self.plan.width, self.plan.height)


def view_of(
    job: RenderJob,
    plan: RenderPlan,
    words: Sequence[dict[str, Any]],
    narration_s: float,
    caption_style: CaptionStyle | None,
    niche_reframe: str = "native",
) -> View:
    if not job.is_short:
        return View(plan, list(words), caption_style, total_frames(narration_s, plan.fps), duration_s=narration_s)
    reframe = check_reframe(job.reframe or niche_reframe or "native")
    sv = short_view(plan, words, ShortRange(job.start_s, job.end_s), narration_s, caption_style, reframe)
    frames = total_frames(sv.range.duration, plan.fps)
    return View(sv.plan, sv.words, sv.style, frames, sv.reframe, sv.out_size, sv.range.start, sv.range.duration,
                sv.hook)  # fmt: skip


def fingerprint(job: RenderJob, settings: Settings) -> str:
    """Same inputs and settings -> same key, whichever worker renders: what makes pieces reusable."""
    s = settings
    parts = [job.plan_key, job.audio_key, job.words_key, job.music_key, job.caption_style, job.niche, job.reframe]
    parts += [repr(job.start_s), repr(job.end_s)]
    parts += [str(v) for v in (s.width, s.height, s.fps, s.segment_seconds, s.video_quality, s.force_cpu)]
    slots = gpu_slots(s)[0]
    if slots > 1:  # shorter segments: a different set of pieces (one slot keeps the keys it always had)
        parts.append(f"slots={slots}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def segment_frames(view: View, settings: Settings) -> list[int]:
    """Cut at ``segment_seconds / slots``: a worker running ``slots`` segments at once that is
    killed loses at most ``segment_seconds`` of encoding, as a one-slot worker does."""
    visuals = build_visuals(view.plan, view.frames)
    seconds = settings.segment_seconds / gpu_slots(settings)[0]
    return [s.frames for s in plan_segments(visuals, view.frames, view.plan.fps, seconds)]


def check_sources(view: View, resolve: Callable[[str], Path]) -> None:
    """Probe every picture once before anything is encoded: a corrupt b-roll file fails the render now."""
    sources(view.plan, resolve)


def render_segment(
    view: View,
    lay: RenderLayout,
    index: int,
    resolve: Callable[[str], Path],
    workdir: Path,
    settings: Settings,
    *,
    encoder: EncoderChoice | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Path, str]:
    """Encode segment ``index`` of ``lay``; fetches (``resolve``) only the pictures it shows."""
    if view.frames != lay.frames or not 0 <= index < len(lay.segment_frames):
        raise MediaError(
            f"segment {index}: the layout ({lay.frames} frames, {len(lay.segment_frames)} segments) does not match "
            f"this job ({view.frames} frames): were the plan or the narration replaced mid-render?"
        )
    start = lay.segment_start(index)
    seg = Segment(index, start, start + lay.segment_frames[index])
    visuals = build_visuals(view.plan, lay.frames)
    shown = visuals_in(seg, visuals)
    srcs = sources(view.plan, resolve, keys={v.key for v in shown if v.key}, focus=view.reframe == "native")
    workdir.mkdir(parents=True, exist_ok=True)
    spec = segment_spec(
        view.plan, view.words, workdir, settings.with_overrides(video_quality=lay.quality),
        caption_style=view.style, encoder=encoder, reframe=view.reframe, out_size=view.out_size, frames=lay.frames,
        hook=view.hook,
    )  # fmt: skip
    path = encode_segment(seg, visuals, srcs, spec, workdir, len(lay.segment_frames), cancel)
    return path, spec.encoder.name


def text_layout_file(view: View, workdir: Path, settings: Settings) -> Path:
    """The text layout of the whole render (written once by the layout step, stored beside the video)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = segment_spec(
        view.plan, view.words, workdir, settings, caption_style=view.style, encoder=None, reframe=view.reframe,
        out_size=view.out_size, frames=view.frames, hook=view.hook,
    )  # fmt: skip
    assert spec.text_layout is not None
    return spec.text_layout


def render_soundtrack(
    view: View,
    lay: RenderLayout,
    voice: Path,
    out: Path,
    *,
    music: Path | None = None,
    music_volume_db: float = -18.0,
    cancel: threading.Event | None = None,
) -> AudioStats:
    """The whole timeline's soundtrack, once (a Short: its range of the narration)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if view.start_s > 0 or view.out_size is not None:
        voice = cut_audio(voice, ShortRange(view.start_s, view.start_s + view.duration_s), out.with_suffix(".wav"))
    samples = soundtrack_samples(lay.frames, lay.fps)
    return render_audio(voice, out, samples, music=music, music_volume_db=music_volume_db, cancel=cancel)


def join(
    lay: RenderLayout,
    segments: Sequence[Path],
    soundtrack: Path,
    out: Path,
    workdir: Path,
    cancel: threading.Event | None = None,
) -> None:
    if len(segments) != len(lay.segment_frames):
        raise MediaError(f"join: {len(segments)} segment files for {len(lay.segment_frames)} segments")
    workdir.mkdir(parents=True, exist_ok=True)
    join_segments(segments, lay.segment_frames, lay.fps, soundtrack, out, workdir, cancel)
