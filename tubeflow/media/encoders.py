"""Which H.264 encoder a worker uses, and the options for it.

NVENC is detected with a real one-second test encode, because the encoder being listed by
``ffmpeg -encoders`` says nothing about the machine: the static build always lists h264_nvenc,
and data-centre GPUs (H100/H200) have CUDA but no NVENC engine.  The result and the reason are
cached per process so a worker probes once, and the reason is reported (logs, RenderResult) so an
operator knows why a GPU worker encoded on the CPU.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tubeflow.media.ffmpeg import FFmpegCommand
from tubeflow.settings import Settings

log = logging.getLogger("tubeflow.encoders")

QUALITIES = ("fast", "balanced", "quality")
# libx264: speed preset and constant-quality CRF by quality setting.
X264 = {"fast": ("veryfast", 23), "balanced": ("faster", 21), "quality": ("medium", 19)}
# h264_nvenc: p1 (fastest) .. p7 (best); constant-quality target for -rc vbr -cq.
NVENC = {"fast": ("p2", 25), "balanced": ("p4", 23), "quality": ("p6", 20)}


@dataclass(frozen=True)
class EncoderChoice:
    name: str  # libx264 | h264_nvenc
    reason: str  # why this encoder (the NVENC probe's failure, or "forced by settings")
    cuda: bool = False  # CUDA decode/scale usable alongside the encoder

    @property
    def is_gpu(self) -> bool:
        return self.name == "h264_nvenc"


@dataclass(frozen=True)
class NvencProbe:
    ok: bool
    reason: str


_probe_lock = threading.Lock()
_probe_result: NvencProbe | None = None


def nvenc_probe_command() -> FFmpegCommand:
    """A tiny real NVENC encode: fails fast with the driver's own message when there is no engine."""
    cmd = FFmpegCommand(output="-")
    cmd.add_input("color=c=black:s=256x144:r=30:d=0.5", "-f", "lavfi")
    cmd.output_args = ["-c:v", "h264_nvenc", "-preset", "p1", "-frames:v", "15", "-f", "null"]
    return cmd


def _first_meaningful_line(stderr: str) -> str:
    keep = [
        re.sub(r" @ 0x[0-9a-f]+\]", "]", ln.strip())
        for ln in stderr.splitlines()
        if ln.strip() and not ln.lstrip().startswith(("Conversion failed", "[out#", "[vost#", "[vf#", "[fc#"))
    ]
    interesting = [ln for ln in keep if any(k in ln for k in ("nvenc", "NVENC", "CUDA", "cuda", "libnvidia", "device"))]
    pick = interesting or keep
    return "; ".join(dict.fromkeys(pick[:3])) or "no output"


def probe_nvenc(
    timeout_s: float = 30.0, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
) -> NvencProbe:
    """Run the test encode now (uncached); ``run`` stands in for FFmpeg in tests (a fake card)."""
    try:
        proc = run(
            nvenc_probe_command().argv(), capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return NvencProbe(False, f"h264_nvenc test encode timed out after {timeout_s:.0f} s")
    except OSError as e:
        return NvencProbe(False, f"h264_nvenc test encode could not start FFmpeg: {e}")
    if proc.returncode == 0:
        return NvencProbe(True, "h264_nvenc test encode succeeded")
    return NvencProbe(False, f"h264_nvenc test encode failed: {_first_meaningful_line(proc.stderr)}")


_probe: Callable[[], NvencProbe] = probe_nvenc


def nvenc_status() -> NvencProbe:
    """The cached probe result for this process."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None:
            _probe_result = _probe()
            log.info("NVENC probe: %s", _probe_result.reason)
        return _probe_result


@contextmanager
def nvenc_probed_by(probe: Callable[[], NvencProbe]) -> Iterator[None]:
    """Inside the block this process asks ``probe`` (a test's fake card) whether NVENC works; after it,
    what the real probe had cached is back.  Lets the NVENC branch be tested where there is no NVENC."""
    global _probe, _probe_result
    with _probe_lock:
        saved = _probe, _probe_result
        _probe, _probe_result = probe, None
    try:
        yield
    finally:
        with _probe_lock:
            _probe, _probe_result = saved


def select_encoder(settings: Settings) -> EncoderChoice:
    if settings.force_cpu:
        return EncoderChoice("libx264", "CPU forced by TUBEFLOW_FORCE_CPU")
    status = nvenc_status()
    if status.ok:
        return EncoderChoice("h264_nvenc", status.reason, cuda=True)
    return EncoderChoice("libx264", status.reason)


def gpu_slots(settings: Settings) -> tuple[int, str]:
    """How many GPU activities one worker runs at once, and why (for its start-up log line).

    With NVENC the card's encoder is the bottleneck and two encodes only slow each other down.
    Encoding on the CPU (no NVENC, or forced) a single segment leaves cores idle in its
    single-threaded filters (Ken Burns, captions), so a fan-out render takes ``render_parallel``
    segments at once, the same number a single-activity render keeps in flight.  The fan-out cuts
    its segments at ``segment_seconds / slots`` so a killed worker still loses at most
    ``segment_seconds`` of encoding (gpu_activities/fanout.py).
    """
    if settings.gpu_slots > 0:
        return settings.gpu_slots, "TUBEFLOW_GPU_SLOTS"
    choice = select_encoder(settings)
    if choice.cuda:
        return 1, f"NVENC encodes: one at a time ({choice.reason})"
    return max(1, settings.render_parallel), f"CPU encodes: TUBEFLOW_RENDER_PARALLEL at once ({choice.reason})"


def check_quality(quality: str) -> str:
    if quality not in QUALITIES:
        from tubeflow.errors import ConfigError

        raise ConfigError(f"TUBEFLOW_VIDEO_QUALITY must be one of {', '.join(QUALITIES)}, not {quality!r}")
    return quality


def video_codec_args(encoder: str, quality: str, threads: int = 0) -> list[str]:
    """Encoder-specific options; GOP, pixel format and rate are added by the command builder."""
    check_quality(quality)
    if encoder == "h264_nvenc":
        preset, cq = NVENC[quality]
        return [
            "-c:v",
            "h264_nvenc",
            "-preset",
            preset,
            "-tune",
            "hq",
            "-rc",
            "vbr",
            "-cq",
            str(cq),
            "-b:v",
            "0",
            "-profile:v",
            "high",
            "-bf",
            "3",
            "-b_ref_mode",
            "middle",
            "-spatial-aq",
            "1",
            "-aq-strength",
            "8",
            "-rc-lookahead",
            "20",
        ]
    if encoder == "libx264":
        preset, crf = X264[quality]
        args = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high"]
        if threads > 0:
            args += ["-threads", str(threads)]
        return args
    raise ValueError(f"unknown video encoder {encoder!r}")


def cuda_decode_args(choice: EncoderChoice) -> list[str]:
    """Input options that decode a clip on the GPU, keeping frames there for scale_cuda.

    Only worth it for video inputs whose first filter is a resize; stills and CPU-only filters
    (xfade, libass) gain nothing from a round trip through GPU memory.
    """
    if not choice.cuda:
        return []
    return ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]


def fill_scale_filter(width: int, height: int, choice: EncoderChoice) -> str:
    """Resize a clip to cover width x height, on the GPU when its frames are there, then to CPU."""
    if choice.cuda:
        return (
            f"scale_cuda=w={width}:h={height}:force_original_aspect_ratio=increase:format=yuv420p,"
            f"hwdownload,format=yuv420p"
        )
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic:out_range=tv:out_color_matrix=bt709"
    )
