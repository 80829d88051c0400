"""Reads what a media file really is, before anything spends time on it.

Uses PyAV (FFmpeg's libraries, installed with faster-whisper) because the imageio-ffmpeg wheel
ships ``ffmpeg`` but no ``ffprobe``.  A file that cannot be opened or has no usable stream is a
:class:`~tubeflow.errors.MediaError` naming the file and the problem: permanent, never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tubeflow.errors import MediaError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format_name: str
    duration_s: float  # 0 for still images
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    sample_rate: int = 0
    channels: int = 0
    pix_fmt: str = ""
    profile: str = ""
    video_frames: int = 0
    bit_rate: int = 0

    @property
    def is_image(self) -> bool:
        return self.has_video and self.duration_s == 0.0


def probe(path: Path | str, *, label: str | None = None) -> MediaInfo:
    """Describe ``path`` or raise MediaError saying why it is unusable."""
    import av

    p = Path(path)
    name = label or p.name
    if not p.is_file():
        raise MediaError(f"{name}: file not found")
    if p.stat().st_size == 0:
        raise MediaError(f"{name}: file is empty")
    try:
        with av.open(str(p)) as c:
            v = c.streams.video[0] if c.streams.video else None
            a = c.streams.audio[0] if c.streams.audio else None
            if v is None and a is None:
                raise MediaError(f"{name}: no audio or video stream (format {c.format.name})")
            duration = float(c.duration / 1_000_000) if c.duration else 0.0
            if v is not None and (v.duration is not None and v.time_base is not None) and not duration:
                duration = float(v.duration * v.time_base)
            is_still = p.suffix.lower() in IMAGE_SUFFIXES or c.format.name in {"png_pipe", "jpeg_pipe", "image2"}
            if v is not None:
                # Decode one frame: a truncated or garbage file often opens but cannot decode.
                try:
                    next(c.decode(video=0))
                except StopIteration as e:
                    raise MediaError(f"{name}: video stream has no decodable frame") from e
            info = MediaInfo(
                path=str(p),
                format_name=c.format.name,
                duration_s=0.0 if is_still else duration,
                has_video=v is not None,
                has_audio=a is not None,
                width=v.codec_context.width if v is not None else 0,
                height=v.codec_context.height if v is not None else 0,
                fps=float(v.average_rate) if v is not None and v.average_rate else 0.0,
                video_codec=v.codec_context.name if v is not None else "",
                audio_codec=a.codec_context.name if a is not None else "",
                sample_rate=a.codec_context.sample_rate if a is not None else 0,
                channels=a.codec_context.channels if a is not None else 0,
                pix_fmt=(v.codec_context.pix_fmt or "") if v is not None else "",
                profile=(v.codec_context.profile or "") if v is not None else "",
                video_frames=int(v.frames) if v is not None and v.frames else 0,
                bit_rate=int(c.bit_rate or 0),
            )
    except MediaError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as e:
        raise MediaError(f"{name}: not a readable media file ({e.__class__.__name__}: {e})") from e
    if info.has_video and (info.width <= 0 or info.height <= 0):
        raise MediaError(f"{name}: video stream has no frame size")
    return info
