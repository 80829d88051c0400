"""The standalone video operations behind VideoJobWorkflow: caption, img2vid, addaudio.

Every input is probed before FFmpeg runs, so a corrupt or unsupported upload fails at once with
a MediaError naming the file and the problem (non-retryable) instead of as an FFmpeg exit code
after minutes of GPU time.  Outputs follow the same delivery settings as the long-form render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpu_activities.kenburns import Motion, still_chain
from tubeflow.errors import MediaError, PermanentError
from tubeflow.job_contracts import IMG2VID_MAX_DURATION_S, IMG2VID_MAX_ZOOM, IMG2VID_MIN_ZOOM
from tubeflow.media.encoders import EncoderChoice, select_encoder, video_codec_args
from tubeflow.media.ffmpeg import (
    FFmpegCommand,
    FFmpegProgress,
    aac_args,
    escape_filter_path,
    fmt_s,
    mp4_args,
    run_ffmpeg,
    video_output_args,
)
from tubeflow.media.fonts import find_font
from tubeflow.media.probe import MediaInfo, probe
from tubeflow.settings import Settings

SUB_SUFFIXES = (".srt", ".ass")
OnProgress = Callable[[FFmpegProgress], None]
MAX_IMG2VID_S = IMG2VID_MAX_DURATION_S


@dataclass(frozen=True)
class OpResult:
    path: Path
    duration_s: float
    encoder: str


def _video_input(path: Path, label: str = "video") -> MediaInfo:
    info = probe(path, label=f"{label} {path.name}")
    if not info.has_video or info.is_image:
        raise MediaError(f"{label} {path.name}: has no video stream")
    return info


def _check_subtitles(subs: Path) -> None:
    name = subs.name
    if subs.suffix.lower() not in SUB_SUFFIXES:
        raise MediaError(f"subtitles {name}: unsupported type {subs.suffix or '(none)'}; use .srt or .ass")
    if not subs.is_file():
        raise MediaError(f"subtitles {name}: file not found")
    try:
        text = subs.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise MediaError(f"subtitles {name}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    if subs.suffix.lower() == ".srt" and "-->" not in text:
        raise MediaError(f"subtitles {name}: no 'start --> end' cue found; not an SRT file")
    if subs.suffix.lower() == ".ass" and "[Events]" not in text:
        raise MediaError(f"subtitles {name}: no [Events] section; not an ASS file")


def _encoder(settings: Settings, encoder: EncoderChoice | None) -> EncoderChoice:
    return encoder or select_encoder(settings)


def caption(
    video: Path,
    subs: Path,
    out: Path,
    settings: Settings,
    *,
    encoder: EncoderChoice | None = None,
    progress: OnProgress | None = None,
) -> OpResult:
    """Burn an SRT or ASS file into ``video``; audio is kept (re-encoded to AAC 48 kHz)."""
    info = _video_input(video)
    _check_subtitles(subs)
    choice = _encoder(settings, encoder)
    font = find_font(settings)
    fonts = f":fontsdir={escape_filter_path(font.folder)}"
    if subs.suffix.lower() == ".ass":
        burn = f"ass=filename={escape_filter_path(subs)}{fonts}"
    else:
        size = max(12, round(info.height * 0.05))
        style = f"FontName={font.family},FontSize={size},Outline=2,MarginV={round(info.height * 0.06)}"
        burn = f"subtitles=filename={escape_filter_path(subs)}{fonts}:original_size={info.width}x{info.height}"
        burn += f":force_style='{style}'"
    fps = round(info.fps) or settings.fps
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(video)
    cmd.filter_complex = f"[0:v]{burn},format=yuv420p[v]"
    args = ["-map", "[v]", *video_output_args(video_codec_args(choice.name, settings.video_quality), fps)]
    if info.has_audio:
        args += ["-map", "0:a:0", *aac_args()]
    cmd.output_args = [*args, *mp4_args()]
    run_ffmpeg(cmd.argv(), what=f"caption {video.name}", on_progress=progress, expected_s=info.duration_s)
    return OpResult(out, info.duration_s, choice.name)


def img2vid(
    image: Path,
    duration: float,
    zoom: float,
    out: Path,
    width: int,
    height: int,
    fps: int,
    settings: Settings,
    *,
    encoder: EncoderChoice | None = None,
    progress: OnProgress | None = None,
) -> OpResult:
    """A Ken Burns clip from one still: zoom from 1.0 to ``zoom`` over ``duration`` seconds."""
    if not 0 < duration <= MAX_IMG2VID_S:
        raise PermanentError(f"img2vid: duration must be between 0 and {MAX_IMG2VID_S:.0f} s, not {duration}")
    if not IMG2VID_MIN_ZOOM <= zoom <= IMG2VID_MAX_ZOOM:
        raise PermanentError(f"img2vid: zoom must be between {IMG2VID_MIN_ZOOM} and {IMG2VID_MAX_ZOOM}, not {zoom}")
    if width <= 0 or height <= 0 or width % 2 or height % 2 or fps <= 0:
        raise PermanentError(
            f"img2vid: size must be positive even numbers and fps positive, not {width}x{height}@{fps}"
        )
    info = probe(image, label=f"image {image.name}")
    if not info.has_video:
        raise MediaError(f"image {image.name}: has no picture")
    choice = _encoder(settings, encoder)
    frames = max(1, round(duration * fps))
    chain = still_chain(width, height, fps, frames, first=0, length=frames, index=0, ken_burns=True,
                        motion=Motion(1.0, zoom))  # fmt: skip
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(image)
    cmd.filter_complex = f"[0:v]trim=end_frame=1,{chain}[v]"
    codec = video_codec_args(choice.name, settings.video_quality)
    cmd.output_args = ["-map", "[v]", *video_output_args(codec, fps), "-frames:v", str(frames), *mp4_args()]
    run_ffmpeg(cmd.argv(), what=f"img2vid {image.name}", on_progress=progress, expected_s=frames / fps)
    return OpResult(out, frames / fps, choice.name)


def addaudio(
    video: Path,
    audio: Path,
    out: Path,
    settings: Settings,
    *,
    mode: str = "replace",
    fit: str = "shortest",
    encoder: EncoderChoice | None = None,
    progress: OnProgress | None = None,
) -> OpResult:
    """Replace or mix ``video``'s sound with ``audio``.

    fit="shortest" trims both to the shorter; fit="loop" loops the shorter up to the longer.
    The picture is stream-copied when it is already H.264 (no quality loss, no encode time).
    """
    if mode not in ("replace", "mix"):
        raise PermanentError(f"addaudio: mode must be 'replace' or 'mix', not {mode!r}")
    if fit not in ("shortest", "loop"):
        raise PermanentError(f"addaudio: fit must be 'shortest' or 'loop', not {fit!r}")
    vinfo = _video_input(video)
    ainfo = probe(audio, label=f"audio {audio.name}")
    if not ainfo.has_audio:
        raise MediaError(f"audio {audio.name}: has no audio stream")
    if ainfo.duration_s <= 0 or vinfo.duration_s <= 0:
        raise MediaError(f"addaudio: {video.name if vinfo.duration_s <= 0 else audio.name} has no duration")
    if fit == "shortest":
        length = min(vinfo.duration_s, ainfo.duration_s)
    else:
        length = max(vinfo.duration_s, ainfo.duration_s)
    loop_video = fit == "loop" and vinfo.duration_s < length
    loop_audio = fit == "loop" and ainfo.duration_s < length
    choice = _encoder(settings, encoder)
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(video, *(["-stream_loop", "-1"] if loop_video else []))
    cmd.add_input(audio, *(["-stream_loop", "-1"] if loop_audio else []))
    fmt = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    if mode == "mix" and vinfo.has_audio:
        graph = f"[0:a:0]{fmt}[orig];[1:a:0]{fmt}[new];[orig][new]amix=inputs=2:duration=longest:normalize=0[a]"
    else:
        graph = f"[1:a:0]{fmt}[a]"
    cmd.filter_complex = graph
    fps = round(vinfo.fps) or settings.fps
    if vinfo.video_codec == "h264" and vinfo.pix_fmt == "yuv420p":
        vargs = ["-c:v", "copy"]
    else:
        vargs = video_output_args(video_codec_args(choice.name, settings.video_quality), fps)
    cmd.output_args = ["-map", "0:v:0", "-map", "[a]", *vargs, *aac_args(), "-t", fmt_s(length), *mp4_args()]
    run_ffmpeg(cmd.argv(), what=f"addaudio {video.name} + {audio.name}", on_progress=progress, expected_s=length)
    return OpResult(out, length, "copy" if vargs[:2] == ["-c:v", "copy"] else choice.name)
