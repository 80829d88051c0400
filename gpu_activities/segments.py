"""One segment's filter graph and encode: pictures, cross-fades and burned captions in one pass.

Each visual becomes a stream of exactly the frames it covers inside the segment (stills are
decoded and scaled once, then moved by zoompan; clips are seeked, looped if short, scaled to
fill); streams are joined by ``xfade`` (cross-fades) or ``concat`` (hard cuts); captions are
burned with libass after shifting timestamps to the global timeline, so one ASS file serves
every segment.  Video only: the audio is rendered once for the whole timeline (see audio_mix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpu_activities.kenburns import crop_at, still_chain
from gpu_activities.timeline import Segment, Visual
from tubeflow.media.encoders import EncoderChoice, cuda_decode_args, fill_scale_filter, video_codec_args
from tubeflow.media.ffmpeg import FFmpegCommand, escape_filter_path, fmt_s, mp4_args, video_output_args


@dataclass(frozen=True)
class Source:
    path: Path
    duration_s: float  # 0 for stills
    width: int = 0  # the picture's own size (0: unknown): a long picture pans along its long axis
    height: int = 0
    focus: tuple[float, float] | None = None  # the subject (fractions), when the render estimated it


@dataclass(frozen=True)
class SegmentSpec:
    width: int
    height: int
    fps: int
    transition: str
    ken_burns: bool
    encoder: EncoderChoice
    quality: str
    threads: int = 0
    captions: Path | None = None
    fonts_dir: Path | None = None
    # Portrait Shorts reframed from landscape: pictures are composed at width x height, then
    # reframed to out_size.  A native Short is composed at its portrait size (width x height are
    # portrait, each picture cropped around its ``Source.focus``) and needs no reframe.
    reframe: str = ""  # "" | crop | blur
    out_size: tuple[int, int] | None = None
    text_layout: Path | None = None  # the boxes of every text drawn (tubeflow.quality_report.TextLayout)

    @property
    def output_size(self) -> tuple[int, int]:
        return self.out_size or (self.width, self.height)


def reframe_filter(mode: str, out_w: int, out_h: int) -> str:
    """Landscape picture -> portrait frame: centre crop, or the whole picture over a blurred fill."""
    if mode == "crop":
        return f"scale={out_w}:{out_h}:force_original_aspect_ratio=increase:flags=bicubic,crop={out_w}:{out_h},setsar=1"
    if mode == "blur":
        bw, bh = max(2, out_w // 4 // 2 * 2), max(2, out_h // 4 // 2 * 2)
        # The fill is blurred at quarter size: the same look for a sixteenth of the work.
        return (
            f"split=2[rf_bg][rf_fg];"
            f"[rf_bg]scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},"
            f"boxblur=luma_radius=8:luma_power=2,eq=brightness=-0.08,scale={out_w}:{out_h},setsar=1[rf_b];"
            f"[rf_fg]scale={out_w}:-2:flags=bicubic,setsar=1[rf_f];"
            f"[rf_b][rf_f]overlay=x=0:y=(H-h)/2"
        )
    raise ValueError(f"reframe must be 'crop' or 'blur', not {mode!r}")


CLIP_PUNCH_IN = 0.72  # odd shots of one clip show this much of it (a closer crop, the same moment)


def clip_crop(v: Visual, width: int, height: int) -> str:
    """Another crop of the same clip for its odd shots (its time runs on): a cut the eye reads."""
    if v.shot % 2 == 0:
        return ""
    w, h = max(2, round(width * CLIP_PUNCH_IN / 2) * 2), max(2, round(height * CLIP_PUNCH_IN / 2) * 2)
    fx, fy = v.focus
    x = min(max(round(width * fx - w / 2), 0), width - w)
    y = min(max(round(height * fy - h / 2), 0), height - h)
    return f"crop={w}:{h}:{x}:{y},scale={width}:{height}:flags=bicubic,setsar=1,"


def _clip_input(
    cmd: FFmpegCommand, v: Visual, src: Source, spec: SegmentSpec, first: int, frames: int
) -> tuple[int, str]:
    """Add a clip input positioned at ``first`` frames into the visual; return (input, pre-trim filter)."""
    fps = spec.fps
    clip_s = src.duration_s or v.media_duration
    offset_s = first / fps
    need_s = frames / fps
    hw = cuda_decode_args(spec.encoder)
    if clip_s > 0 and offset_s >= clip_s:
        offset_s = offset_s % clip_s
    if clip_s <= 0 or offset_s + need_s <= clip_s - 0.05:
        idx = cmd.add_input(src.path, *hw, "-ss", fmt_s(offset_s), "-t", fmt_s(need_s + 1.0))
        return idx, ""
    # Too short for what this segment needs: loop the file and skip into it by frames.
    idx = cmd.add_input(src.path, *hw, "-stream_loop", "-1")
    skip = round(offset_s * fps)
    return idx, f"trim=start_frame={skip},setpts=PTS-STARTPTS," if skip else ""


def shot_focus(v: Visual, src: Source | None) -> tuple[float, float]:
    """What a shot frames: the subject the render found (a native Short's pictures), else the plan's.
    A title card's is always the plan's, so the text layout (gpu_activities/text_boxes.py) follows
    the card's move exactly in every segment's worker without fetching the card to look at it."""
    if v.card or src is None or src.focus is None:
        return v.focus
    return src.focus


def visual_chain(cmd: FFmpegCommand, v: Visual, src: Source | None, seg: Segment, spec: SegmentSpec) -> str:
    """Filter graph text producing this visual's frames inside ``seg``; returns '[label]' graph part."""
    w, h, fps = spec.width, spec.height, spec.fps
    lo, hi = max(v.start, seg.start), min(v.end, seg.end)
    frames, first = hi - lo, lo - v.start + v.lead
    label = f"v{v.index}"
    if v.kind == "color" or src is None:
        return f"color=c=black:s={w}x{h}:r={fps},trim=end_frame={frames},format=yuv420p,setsar=1,setpts=N[{label}]"
    if v.kind == "video":
        # The clip's own time runs on across its shots: this frame is ``offset`` frames into the item.
        idx, pre = _clip_input(cmd, v, src, spec, lo - v.start + v.offset, frames)
        scale = fill_scale_filter(w, h, spec.encoder)
        return (
            f"[{idx}:v]setpts=PTS-STARTPTS,fps={fps},{pre}trim=end_frame={frames},{scale},{crop_at(w, h, src.focus)},"
            f"setsar=1,{clip_crop(v, w, h)}format=yuv420p,settb=1/{fps},setpts=N[{label}]"
        )
    idx = cmd.add_input(src.path)
    length = v.frames + v.lead
    chain = still_chain(
        w, h, fps, frames, first=first, length=v.hold_length or length, index=v.index, ken_burns=spec.ken_burns,
        picture=(src.width, src.height), focus=shot_focus(v, src), item=v.item, shot=v.shot,
        hold=v.hold_of is not None,
    )  # fmt: skip
    return f"[{idx}:v]{chain}[{label}]"


def segment_command(
    seg: Segment, visuals: list[Visual], sources: dict[str, Source], spec: SegmentSpec, out: Path
) -> FFmpegCommand:
    cmd = FFmpegCommand(output=str(out))
    parts: list[str] = []
    for v in visuals:
        parts.append(visual_chain(cmd, v, sources.get(v.key), seg, spec))
    acc = f"v{visuals[0].index}"
    for k, v in enumerate(visuals[1:], start=1):
        nxt = f"v{v.index}"
        out_label = f"x{k}"
        if v.fade_in > 0 and v.start >= seg.start and spec.transition not in ("", "none"):
            offset = (v.start - seg.start) / spec.fps
            duration = v.fade_in / spec.fps
            parts.append(
                f"[{acc}][{nxt}]xfade=transition={spec.transition}:duration={fmt_s(duration)}"
                f":offset={fmt_s(offset)}[{out_label}]"
            )
        else:
            # concat answers in microseconds; xfade downstream insists on matching time bases.
            parts.append(f"[{acc}][{nxt}]concat=n=2:v=1:a=0,settb=1/{spec.fps},setpts=N[{out_label}]")
        acc = out_label
    tail = f"[{acc}]"
    if spec.reframe:
        ow, oh = spec.output_size
        parts.append(f"{tail}{reframe_filter(spec.reframe, ow, oh)}[rf]")
        tail = "[rf]"
    if spec.captions is not None:
        fonts = f":fontsdir={escape_filter_path(spec.fonts_dir)}" if spec.fonts_dir else ""
        # libass reads the frame's timestamp: shift to the global timeline, burn, shift back.
        tail += (
            f"settb=1/{spec.fps},setpts=N+{seg.start},ass=filename={escape_filter_path(spec.captions)}{fonts},setpts=N,"
        )
    else:
        tail += "null,"
    parts.append(f"{tail}format=yuv420p[out]")
    cmd.filter_complex = ";".join(parts)
    codec = video_codec_args(spec.encoder.name, spec.quality, spec.threads)
    cmd.output_args = [
        "-map",
        "[out]",
        "-an",
        *video_output_args(codec, spec.fps),
        "-frames:v",
        str(seg.frames),
        "-video_track_timescale",
        str(spec.fps * 1000),
        *mp4_args(),
    ]
    return cmd
