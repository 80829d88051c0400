"""The one place that builds and runs FFmpeg command lines.

Filter graphs are composed by the render modules (they know the timeline); this module owns
everything around them: the binary, input/output option order, the shared output settings every
deliverable must have (H.264 High yuv420p, ~2 s GOP, AAC-LC 48 kHz, +faststart), escaping of
paths inside filter graphs, and turning FFmpeg's exit status and stderr into errors that say
whether a retry can help.  Keeping it in one place is what lets the NVENC and libx264 paths share
one builder and be tested at the string level.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tubeflow.errors import MediaError, PermanentError, TransientError

AUDIO_RATE = 48_000
AUDIO_BITRATE = "192k"
LOUDNESS_TARGET_LUFS = -14.0
TRUE_PEAK_DB = -1.5
LOUDNESS_RANGE = 11.0

# stderr fragments that mean "this input is broken or unsupported": retrying cannot help.
_INPUT_PROBLEMS = (
    "Invalid data found when processing input",
    "moov atom not found",
    "No such file or directory",
    "could not find codec parameters",
    "Unknown format",
    "does not contain any stream",
)


class FFmpegFailed(PermanentError):
    """FFmpeg exited non-zero for a reason other than a bad input or a kill signal.

    Deterministic (same command, same inputs, same failure), so retrying only burns GPU time.
    """

    type_name = "FFmpegFailed"


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """imageio-ffmpeg's static binary: same build (libass, xfade, loudnorm, nvenc) everywhere."""
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def fmt_s(seconds: float) -> str:
    """Seconds for a command line: enough digits for frame accuracy, no float noise."""
    return f"{seconds:.6f}".rstrip("0").rstrip(".") or "0"


def _backslash(text: str, special: str) -> str:
    return "".join("\\" + c if c in special else c for c in text)


def escape_filter_path(value: Path | str) -> str:
    """Escape a filter option value (a path for ``ass=filename=...``) for use in a filter graph.

    Two levels, as FFmpeg parses them: the option parser splits ``key=value`` pairs on ``:`` and
    unescapes ``\\``, ``'``; the graph parser before it splits filters on ``,``, ``;``, ``[``,
    ``]``.  Backslash-escaping both levels (instead of quoting) keeps a path with a quote *and* a
    colon intact: ``/home/o'neil/work:1/c.ass`` reaches libass unchanged.
    """
    level1 = _backslash(str(value).replace("\\", "/"), "\\':=")
    return _backslash(level1, "\\'[],;")


@dataclass
class FFmpegCommand:
    """An FFmpeg invocation assembled in the only order FFmpeg accepts.

    ``inputs`` are (options-before-input, path) pairs; ``add_input`` returns the input index used
    in filter labels (``[2:v]``).
    """

    inputs: list[tuple[list[str], str]] = field(default_factory=list)
    filter_complex: str = ""
    output_args: list[str] = field(default_factory=list)
    output: str = ""
    global_args: list[str] = field(default_factory=list)
    loglevel: str = "error"  # measurements (ebur128, loudnorm) need "info"

    def add_input(self, path: Path | str, *options: str) -> int:
        self.inputs.append((list(options), str(path)))
        return len(self.inputs) - 1

    def argv(self, exe: str | None = None) -> list[str]:
        cmd = [exe or ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", self.loglevel, *self.global_args]
        for options, path in self.inputs:
            cmd += [*options, "-i", path]
        if self.filter_complex:
            cmd += ["-filter_complex", self.filter_complex]
        cmd += self.output_args
        cmd.append(self.output)
        return cmd

    def __str__(self) -> str:
        return shlex.join(self.argv(exe="ffmpeg"))


def threads_args(threads: int) -> list[str]:
    return ["-threads", str(threads)] if threads > 0 else []


def gop_args(fps: int) -> list[str]:
    """A keyframe every 2 s: YouTube's recommendation and what makes segment seeking cheap."""
    return ["-g", str(fps * 2), "-keyint_min", str(fps), "-sc_threshold", "0"]


def video_output_args(codec_args: list[str], fps: int) -> list[str]:
    """Settings every H.264 deliverable shares whatever the encoder."""
    return [
        *codec_args,
        *gop_args(fps),
        "-pix_fmt",
        "yuv420p",
        "-color_range",
        "tv",
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-r",
        str(fps),
        "-fps_mode",
        "cfr",
    ]


def aac_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "2"]


def mp4_args() -> list[str]:
    return ["-movflags", "+faststart", "-f", "mp4"]


def concat_list_text(paths: list[Path], durations_s: list[float] | None = None) -> str:
    """A concat-demuxer list; paths quoted so spaces and quotes in work dirs are safe.

    Explicit durations (frames / fps) make the demuxer place each file exactly where the timeline
    says instead of trusting each MP4's last-packet duration, which drifts by a few ticks a join.
    """
    lines = []
    for i, p in enumerate(paths):
        escaped = str(Path(p).resolve()).replace("'", r"'\''")
        lines.append(f"file '{escaped}'")
        if durations_s is not None:
            lines.append(f"duration {fmt_s(durations_s[i])}")
    return "\n".join(lines) + "\n"


def concat_mux_command(
    list_file: Path, audio: Path | None, out: Path, duration_s: float | None = None
) -> FFmpegCommand:
    """Join independently encoded segments by stream copy and mux the whole-timeline audio once."""
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(list_file, "-f", "concat", "-safe", "0")
    args = ["-map", "0:v:0"]
    if audio is not None:
        cmd.add_input(audio)
        args += ["-map", "1:a:0"]
    args += ["-c", "copy"]
    if duration_s is not None:
        args += ["-t", fmt_s(duration_s)]
    cmd.output_args = [*args, *mp4_args()]
    return cmd


def loudnorm_filter(measured: dict[str, str] | None = None) -> str:
    """EBU R128 normalisation to YouTube's -14 LUFS; with ``measured`` it is the linear second pass."""
    base = f"loudnorm=I={LOUDNESS_TARGET_LUFS}:TP={TRUE_PEAK_DB}:LRA={LOUDNESS_RANGE}"
    if not measured:
        return base + ":print_format=json"
    return (
        base
        + f":measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
        + f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
        + f":offset={measured['target_offset']}:linear=true:print_format=json"
    )


def parse_loudnorm_json(stderr: str) -> dict[str, str]:
    """The JSON block loudnorm prints at the end of a pass."""
    start = stderr.rfind("{")
    end = stderr.rfind("}")
    if start < 0 or end < start:
        raise FFmpegFailed("loudnorm printed no measurement (is the audio empty?)")
    measured: dict[str, str] = json.loads(stderr[start : end + 1])
    return measured


def measure_loudness_command(path: Path) -> FFmpegCommand:
    """Integrated loudness and true peak of a file's first audio stream (ebur128 scanner)."""
    cmd = FFmpegCommand(output="-")
    cmd.loglevel = "info"
    cmd.add_input(path)
    cmd.output_args = ["-map", "0:a:0", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null"]
    return cmd


_EBU_I = re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-inf) LUFS")
_EBU_TP = re.compile(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-inf) dBFS")


def parse_ebur128(stderr: str) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) from ebur128's summary."""
    mi, mp = _EBU_I.search(stderr), _EBU_TP.search(stderr)
    if not mi or not mp:
        raise FFmpegFailed("ebur128 printed no summary")
    return float(mi.group(1)), float(mp.group(1))


def measure_loudness(path: Path) -> tuple[float, float]:
    return parse_ebur128(run_ffmpeg(measure_loudness_command(path).argv(), what=f"loudness of {Path(path).name}"))


POSTER_WIDTH = 480  # the checkpoint's tiles are at most this wide; a poster is a few tens of kB


def poster_command(clip: Path, out: Path, duration_s: float, width: int = POSTER_WIDTH) -> FFmpegCommand:
    """One JPEG still from the middle of ``clip``: a clip's first frame is often black (a fade in),
    so a reviewer seeing it would not know what the clip shows."""
    cmd = FFmpegCommand(output=str(out))
    cmd.add_input(clip, "-ss", fmt_s(max(duration_s, 0.0) / 2))
    cmd.output_args = ["-frames:v", "1", "-vf", f"scale='min({width},iw)':-2", "-q:v", "4", "-f", "image2"]
    return cmd


def make_poster(clip: Path, out: Path, duration_s: float) -> Path:
    """Write ``poster_command``'s still; a MediaError when the clip cannot be decoded."""
    run_ffmpeg(poster_command(clip, out, duration_s).argv(), what=f"poster of {clip.name}", timeout_s=60)
    if not out.is_file() or out.stat().st_size == 0:
        raise MediaError(f"{clip.name}: no frame could be taken from its middle for a poster")
    return out


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass(frozen=True)
class FFmpegProgress:
    """One block of FFmpeg's own ``-progress`` report: how far the *output* is, not a guess.

    ``fraction`` is output time over ``expected_s`` (the output duration the caller planned),
    capped below 1.0 until FFmpeg says ``progress=end`` so a job never shows 100 % while the
    muxer is still writing the moov atom.
    """

    out_time_s: float
    frame: int
    fps: float
    speed: float  # x realtime; 0 when FFmpeg does not know yet
    done: bool
    expected_s: float = 0.0

    @property
    def fraction(self) -> float:
        if self.done:
            return 1.0
        if self.expected_s <= 0:
            return 0.0
        return max(0.0, min(0.99, self.out_time_s / self.expected_s))


PROGRESS_PERIOD_S = 0.5  # FFmpeg's -stats_period: how often a block is written


def progress_args() -> list[str]:
    """Global options that make FFmpeg write key=value progress blocks to stdout."""
    return ["-progress", "pipe:1", "-stats_period", str(PROGRESS_PERIOD_S), "-nostats"]


def _num(text: str, kind: type[float] | type[int] = float) -> float:
    try:
        return kind(text.strip().rstrip("x"))
    except ValueError:
        return 0.0  # "N/A" before the first frame


def parse_progress_block(fields: dict[str, str], expected_s: float = 0.0) -> FFmpegProgress:
    """A progress block (``frame=``, ``out_time_us=``, ``speed=1.5x``, ``progress=continue|end``)."""
    us = _num(fields.get("out_time_us", fields.get("out_time_ms", "0")), int)
    return FFmpegProgress(
        out_time_s=max(0.0, us / 1e6),
        frame=int(_num(fields.get("frame", "0"), int)),
        fps=float(_num(fields.get("fps", "0"))),
        speed=float(_num(fields.get("speed", "0"))),
        done=fields.get("progress") == "end",
        expected_s=expected_s,
    )


def run_ffmpeg(
    argv: list[str],
    *,
    what: str,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[FFmpegProgress], None] | None = None,
    expected_s: float = 0.0,
) -> str:
    """Run FFmpeg, return its stderr; raise an error whose type says whether retrying can help.

    Killed by a signal (OOM killer, a spot reclaim, ``cancel``) -> TransientError; a broken input
    -> MediaError; any other failure -> FFmpegFailed (permanent: the same command fails again).
    With ``on_progress``, FFmpeg's own ``-progress`` blocks are parsed from its stdout and handed
    to the callback (from a reader thread) as they arrive; ``expected_s`` is the planned output
    duration that turns output time into a fraction.
    """
    if on_progress is not None and "-progress" not in argv:
        argv = [argv[0], *progress_args(), *argv[1:]]
    stdout = subprocess.PIPE if on_progress is not None else subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
    chunks: list[bytes] = []

    def _drain() -> None:
        stderr = proc.stderr
        assert stderr is not None
        for chunk in iter(lambda: stderr.read(65536), b""):
            chunks.append(chunk)

    def _progress() -> None:
        assert proc.stdout is not None and on_progress is not None
        block: dict[str, str] = {}
        for raw in proc.stdout:
            key, sep, value = raw.decode("utf-8", errors="replace").strip().partition("=")
            if not sep:
                continue
            block[key] = value
            if key == "progress":
                try:
                    on_progress(parse_progress_block(block, expected_s))
                except Exception:  # noqa: BLE001 - a reporting problem must not stop the encode
                    pass
                block = {}

    reader = threading.Thread(target=_drain, daemon=True)
    reader.start()
    watcher = threading.Thread(target=_progress, daemon=True) if on_progress is not None else None
    if watcher is not None:
        watcher.start()
    deadline = time.monotonic() + timeout_s if timeout_s else None
    while True:
        try:
            proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if (cancel is not None and cancel.is_set()) or (deadline is not None and time.monotonic() > deadline):
                proc.kill()
                proc.wait()
                reader.join(timeout=5)
                why = "cancelled" if cancel is not None and cancel.is_set() else "timed out"
                raise TransientError(f"{what}: FFmpeg stopped ({why})") from None
    reader.join(timeout=5)
    if watcher is not None:
        watcher.join(timeout=5)
    stderr = b"".join(chunks).decode("utf-8", errors="replace")
    if proc.returncode == 0:
        return stderr
    if proc.returncode < 0:
        raise TransientError(f"{what}: FFmpeg was killed by signal {-proc.returncode}")
    if any(p in stderr for p in _INPUT_PROBLEMS):
        raise MediaError(f"{what}: FFmpeg could not read an input: {_tail(stderr, 4)}")
    raise FFmpegFailed(f"{what}: FFmpeg exited with status {proc.returncode}: {_tail(stderr)}")


# --- quality measurements (gpu_activities/quality.py) -----------------------------------------

SCENE_FPS = 4.0  # scene detection samples this many frames a second (see video_checks_command)
SCENE_WIDTH = 320  # every picture check runs at this width: detail enough, cheap on two cores


def video_checks_command(
    path: Path,
    *,
    with_audio: bool,
    black_min_s: float = 0.1,
    black_pixel_threshold: float = 0.10,
    freeze_noise_db: float = -60.0,
    freeze_min_s: float = 1.0,
    scene_fps: float = SCENE_FPS,
    masks: Sequence[tuple[float, float]] = (),
) -> FFmpegCommand:
    """One decode of a rendered file for every measured figure: blackdetect, freezedetect and
    scdet on the picture, ebur128 (true peak, one line per 100 ms) on the sound.

    ``masks`` (top, bottom as fractions of the height) blank the caption bands after blackdetect
    (a black frame with a caption on it is not black) and before the other two: karaoke
    captions change every word, so unmasked they hide a stuck picture from freezedetect and
    score like cuts in scdet.  Black and frozen frames are judged at full frame rate (dropping
    frames first would invent freezes).  Scene detection runs on frames resampled to
    ``scene_fps``: scdet scores the *change* in frame difference, so a 0.5 s cross-fade sampled
    at 30 fps is fifteen small equal steps that score near zero, while at 4 fps it is a jump; a
    slow Ken Burns zoom stays small at either rate.  scdet's threshold is 0, so every sampled
    frame's score is printed and the caller applies its own threshold.
    """
    cmd = FFmpegCommand(output="-")
    cmd.loglevel = "info"
    cmd.add_input(path)
    graph = f"[0:v]scale={SCENE_WIDTH}:-2,blackdetect=d={fmt_s(black_min_s)}:pix_th={fmt_s(black_pixel_threshold)},"
    for top, bottom in masks:
        graph += f"drawbox=x=0:y=ih*{fmt_s(top)}:w=iw:h=ih*{fmt_s(bottom - top)}:color=black:t=fill,"
    graph += (
        f"freezedetect=n={fmt_s(freeze_noise_db)}dB:d={fmt_s(freeze_min_s)},fps={fmt_s(scene_fps)},scdet=threshold=0[v]"
    )
    args = ["-map", "[v]"]
    if with_audio:
        graph += ";[0:a:0]ebur128=peak=true:framelog=info[a]"
        args += ["-map", "[a]"]
    cmd.filter_complex = graph
    cmd.output_args = [*args, "-f", "null"]
    return cmd


_BLACK = re.compile(r"black_start:\s*(-?[\d.]+)\s+black_end:\s*(-?[\d.]+)")
_FREEZE = re.compile(r"lavfi\.freezedetect\.freeze_(start|end):\s*(-?[\d.]+)")
_SCENE = re.compile(r"lavfi\.scd\.score:\s*([\d.]+),\s*lavfi\.scd\.time:\s*(-?[\d.]+)")
_FTPK = re.compile(r"\bt:\s*([\d.]+)\s.*?FTPK:\s*((?:-?[\d.]+|-inf)(?:\s+(?:-?[\d.]+|-inf))*)\s+dBFS")


def parse_blackdetect(stderr: str) -> list[tuple[float, float]]:
    """(start, end) of each black interval blackdetect reported."""
    return [(float(a), float(b)) for a, b in _BLACK.findall(stderr)]


def parse_freezedetect(stderr: str, duration_s: float) -> list[tuple[float, float]]:
    """(start, end) of each frozen interval; one still frozen at the end closes at ``duration_s``
    (freezedetect prints no end for it)."""
    out: list[tuple[float, float]] = []
    start: float | None = None
    for kind, value in _FREEZE.findall(stderr):
        if kind == "start":
            start = float(value)
        elif start is not None:
            out.append((start, float(value)))
            start = None
    if start is not None:
        out.append((start, max(start, duration_s)))
    return out


def parse_scdet(stderr: str) -> list[tuple[float, float]]:
    """(time, score 0-100) for each frame scdet printed, in time order."""
    return sorted((float(t), float(s)) for s, t in _SCENE.findall(stderr))


def parse_ebur128_peaks(stderr: str) -> list[tuple[float, float]]:
    """(time at the end of the 100 ms frame, its true peak dBFS over all channels) from ebur128's
    frame log: where the loudest peak is, not only how loud."""
    out = []
    for t, peaks in _FTPK.findall(stderr):
        values = [float(v) for v in peaks.split()]
        out.append((float(t), max(values)))
    return out
