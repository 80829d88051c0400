"""Render a RenderPlan + narration + words into the finished long-form MP4, segment by segment.

Resumable by construction: the timeline and the segment cuts are a pure function of the plan,
the narration length and the settings, so a retried attempt computes the same segments, skips
those in ``done_segments`` and encodes only the rest.  The soundtrack is rendered once (in a
thread, alongside the first video segments) and muxed when the segments are joined by stream copy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpu_activities.audio_mix import AudioStats, render_audio
from gpu_activities.captions import HookTitle, style_from, write_captions
from gpu_activities.segments import SegmentSpec, Source, segment_command
from gpu_activities.subject import subject_focus
from gpu_activities.text_boxes import card_text_boxes
from gpu_activities.timeline import Segment, Visual, build_visuals, plan_segments, total_frames, visuals_in
from niches.config import CaptionStyle
from tubeflow.errors import MediaError
from tubeflow.media.encoders import EncoderChoice, check_quality, select_encoder
from tubeflow.media.ffmpeg import AUDIO_RATE, concat_list_text, concat_mux_command, run_ffmpeg
from tubeflow.media.fonts import find_font
from tubeflow.media.probe import probe
from tubeflow.quality_report import LONG_FORM_SAFE, SHORTS_SAFE, TextLayout
from tubeflow.render_plan import RenderPlan
from tubeflow.settings import Settings

log = logging.getLogger("tubeflow.render")

OnSegment = Callable[[int, Path, int, int], None]


@dataclass
class RenderStats:
    frames_encoded: int  # frames encoded by this call (resumed segments excluded)
    segments_total: int
    segments_rendered: int
    encoder: str
    duration_s: float
    encoder_reason: str = ""
    frames_total: int = 0
    audio: AudioStats | None = None
    wall_s: float = 0.0
    text_layout: Path | None = None  # every drawn text and caption box (TextLayout JSON)


@dataclass(frozen=True)
class Layout:
    """What the timeline looks like before anything is encoded (used to report progress up front)."""

    frames: int
    visuals: list[Visual]
    segments: list[Segment]


def layout(plan: RenderPlan, narration_s: float, settings: Settings) -> Layout:
    """Segments of ``TUBEFLOW_SEGMENT_SECONDS / TUBEFLOW_RENDER_PARALLEL``: with P encodes in flight,
    a killed worker still loses at most one ``TUBEFLOW_SEGMENT_SECONDS`` of encoding."""
    frames = total_frames(narration_s, plan.fps)
    visuals = build_visuals(plan, frames)
    seconds = settings.segment_seconds / max(1, settings.render_parallel)
    return Layout(frames, visuals, plan_segments(visuals, frames, plan.fps, seconds))


def segment_name(index: int) -> str:
    return f"seg-{index:04d}.mp4"  # not a storage key: the local file a segment is encoded to


def sources(
    plan: RenderPlan, resolve: Callable[[str], Path], keys: set[str] | None = None, *, focus: bool = False
) -> dict[str, Source]:
    """Probe every picture (or those in ``keys``) once: a corrupt file fails before any encoding.

    ``focus``: find each picture's subject too (a native Short crops around it)."""
    out: dict[str, Source] = {}
    for item in plan.all_items():
        if item.key in out or (keys is not None and item.key not in keys):
            continue
        path = resolve(item.key)
        info = probe(path, label=f"b-roll {item.key}")
        if not info.has_video:
            raise MediaError(f"b-roll {item.key}: has no picture (audio-only file)")
        still = item.kind == "image" or info.is_image
        at = subject_focus(path, still) if focus else None
        out[item.key] = Source(path, 0.0 if still else info.duration_s, info.width, info.height, focus=at)
    return out


def segment_spec(
    plan: RenderPlan,
    words: Sequence[dict[str, Any]],
    workdir: Path,
    settings: Settings,
    *,
    caption_style: CaptionStyle | None = None,
    encoder: EncoderChoice | None = None,
    reframe: str = "",
    out_size: tuple[int, int] | None = None,
    frames: int | None = None,
    hook: HookTitle | None = None,
) -> SegmentSpec:
    """What every segment of one render shares; writes the captions (one ASS file for all segments)
    and the text layout (where every drawn text and caption sits, for the quality report).

    A pure function of its inputs and the settings, so a segment rendered by another worker (fan-out)
    or another attempt (resume) matches its neighbours frame for frame.  ``reframe`` ``native``: the
    pictures are composed at ``out_size`` itself (portrait), no reframe after.
    """
    check_quality(settings.video_quality)
    native = reframe == "native" and out_size is not None
    out = out_size or (plan.width, plan.height)
    comp = out if native else (plan.width, plan.height)
    visuals = build_visuals(plan, frames or total_frames(plan.duration_s, plan.fps))
    drawn = card_text_boxes(plan, visuals, comp, out, "" if native else reframe)
    margins = SHORTS_SAFE if out[1] > out[0] else LONG_FORM_SAFE
    captions: Path | None = None
    fonts_dir: Path | None = None
    boxes = list(drawn)
    if words or hook is not None:
        style = caption_style or (style_from(plan.caption_style) if plan.caption_style else CaptionStyle())
        font = find_font(settings)
        doc = write_captions(workdir / "captions.ass", words, style, out[0], out[1], font, margins=margins,
                             avoid=drawn, hook=hook)  # fmt: skip
        captions, fonts_dir = workdir / "captions.ass", font.folder
        boxes += doc.boxes
    layout_file = workdir / "text-layout.json"
    layout_file.write_text(TextLayout(out[0], out[1], boxes, margins).to_json(), encoding="utf-8")
    return SegmentSpec(
        width=comp[0],
        height=comp[1],
        fps=plan.fps,
        transition=plan.transition,
        ken_burns=plan.ken_burns,
        encoder=encoder or select_encoder(settings),
        quality=settings.video_quality,
        threads=settings.ffmpeg_threads,
        captions=captions,
        fonts_dir=fonts_dir,
        reframe="" if native else reframe,
        out_size=out_size if reframe and not native else None,
        text_layout=layout_file,
    )


def encode_segment(
    seg: Segment,
    visuals: list[Visual],
    srcs: dict[str, Source],
    spec: SegmentSpec,
    workdir: Path,
    total: int,
    cancel: threading.Event | None = None,
) -> Path:
    """Encode one segment to ``workdir/seg-NNNN.mp4`` (written under a temporary name, then renamed)."""
    final = workdir / segment_name(seg.index)
    tmp = final.with_name(f".tmp-{final.name}")
    cmd = segment_command(seg, visuals_in(seg, visuals), srcs, spec, tmp)
    run_ffmpeg(cmd.argv(), what=f"segment {seg.index + 1} of {total}", cancel=cancel)
    tmp.replace(final)
    return final


def soundtrack_samples(frames: int, fps: int) -> int:
    return round(frames / fps * AUDIO_RATE)


def join_segments(
    paths: Sequence[Path],
    frames: Sequence[int],
    fps: int,
    audio: Path | None,
    out_path: Path,
    workdir: Path,
    cancel: threading.Event | None = None,
) -> None:
    """Stream-copy the segments end to end (explicit durations: no drift) and mux the soundtrack."""
    list_file = workdir / "segments.txt"
    list_file.write_text(concat_list_text(list(paths), [f / fps for f in frames]), encoding="utf-8")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out_path.with_name(f".tmp-{out_path.name}")
    run_ffmpeg(concat_mux_command(list_file, audio, tmp_out).argv(), what="joining segments", cancel=cancel)
    tmp_out.replace(out_path)


def render_production(
    plan: RenderPlan,
    voice_wav: Path,
    words: Sequence[dict[str, Any]],
    out_path: Path,
    workdir: Path,
    settings: Settings,
    *,
    music: Path | None = None,
    caption_style: CaptionStyle | None = None,
    done_segments: Mapping[int, Path] | None = None,
    on_segment: OnSegment | None = None,
    resolve: Callable[[str], Path] | None = None,
    music_volume_db: float = -18.0,
    encoder: EncoderChoice | None = None,
    cancel: threading.Event | None = None,
    reframe: str = "",
    out_size: tuple[int, int] | None = None,
    hook: HookTitle | None = None,
) -> RenderStats:
    """Render what is missing and join everything into ``out_path``.

    ``resolve`` maps a plan item's key to a local file (default: the key is a path).
    ``on_segment(i, path, done, total)`` runs after each newly encoded segment, in order of
    completion (from several threads when ``TUBEFLOW_RENDER_PARALLEL`` > 1); ``done_segments`` maps
    segment index -> an already encoded segment file.
    """
    t0 = time.monotonic()
    check_quality(settings.video_quality)
    workdir.mkdir(parents=True, exist_ok=True)
    voice_info = probe(voice_wav, label=f"narration {voice_wav.name}")
    if not voice_info.has_audio:
        raise MediaError(f"narration {voice_wav.name}: has no audio stream")
    lay = layout(plan, voice_info.duration_s, settings)
    srcs = sources(plan, resolve or (lambda key: Path(key)), focus=reframe == "native")
    spec = segment_spec(
        plan, words, workdir, settings, caption_style=caption_style, encoder=encoder, reframe=reframe,
        out_size=out_size, frames=lay.frames, hook=hook,
    )  # fmt: skip
    done: dict[int, Path] = {}
    for i, p in (done_segments or {}).items():
        if 0 <= int(i) < len(lay.segments) and Path(p).is_file():
            done[int(i)] = Path(p)
    todo = [s for s in lay.segments if s.index not in done]
    total = len(lay.segments)
    audio_out = workdir / "soundtrack.m4a"
    lock = threading.Lock()
    frames_encoded = 0
    # Encodes in flight: one FFmpeg leaves cores idle at every segment's start and end (decode and
    # prescale of the stills, the encoder's lookahead filling and draining); two overlap those.
    width = max(1, settings.render_parallel)

    def encode(seg: Segment) -> None:
        nonlocal frames_encoded
        final = encode_segment(seg, lay.visuals, srcs, spec, workdir, total, cancel)
        with lock:  # callbacks in order of completion, one at a time
            done[seg.index] = final
            frames_encoded += seg.frames
            if on_segment is not None:
                on_segment(seg.index, final, len(done), total)

    with ThreadPoolExecutor(max_workers=1 + max(1, width)) as pool:
        audio_job = pool.submit(
            render_audio, voice_wav, audio_out, soundtrack_samples(lay.frames, plan.fps), music=music,
            music_volume_db=music_volume_db, cancel=cancel,
        )  # fmt: skip
        if width <= 1:
            for seg in todo:
                encode(seg)
        else:
            for fut in [pool.submit(encode, seg) for seg in todo]:
                fut.result()
        audio_stats = audio_job.result()

    join_segments(
        [done[s.index] for s in lay.segments], [s.frames for s in lay.segments], plan.fps, audio_out, out_path,
        workdir, cancel,
    )  # fmt: skip
    return RenderStats(
        frames_encoded=frames_encoded,
        segments_total=total,
        segments_rendered=len(todo),
        encoder=spec.encoder.name,
        duration_s=lay.frames / plan.fps,
        encoder_reason=spec.encoder.reason,
        frames_total=lay.frames,
        audio=audio_stats,
        wall_s=time.monotonic() - t0,
        text_layout=spec.text_layout,
    )
