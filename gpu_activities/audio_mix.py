"""The soundtrack, rendered once for the whole timeline.

Never per segment: AAC frames do not line up with video segment cuts, and stream-copy joins of
AAC pieces click at every join (priming samples).  Voice plus optional looped music ducked under
the voice by a sidechain compressor, then two-pass loudnorm (measure, then linear gain) to
YouTube's -14 LUFS with true peak at most -1.5 dBTP, trimmed to exactly the video's length.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from tubeflow.media.ffmpeg import (
    AUDIO_RATE,
    FFmpegCommand,
    aac_args,
    loudnorm_filter,
    parse_loudnorm_json,
    run_ffmpeg,
)


@dataclass(frozen=True)
class AudioStats:
    input_lufs: float
    output_lufs: float  # loudnorm's own estimate of the result
    normalization: str  # linear | dynamic


def mix_graph(samples: int, has_music: bool, music_volume_db: float, loudnorm: str) -> str:
    """Graph from inputs 0 (voice) and 1 (music, already looped by -stream_loop) to [a]."""
    fmt = f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    voice = f"[0:a]{fmt},apad=whole_len={samples},atrim=end_sample={samples}"
    tail = f"{loudnorm},aresample={AUDIO_RATE},apad=whole_len={samples},atrim=end_sample={samples}[a]"
    if not has_music:
        return f"{voice},{tail}"
    return (
        f"{voice},asplit=2[vo][key];"
        f"[1:a]{fmt},volume={music_volume_db}dB,atrim=end_sample={samples}[bed];"
        # Duck the bed ~10 dB while the voice speaks; fast attack, slow release to avoid pumping.
        f"[bed][key]sidechaincompress=threshold=0.02:ratio=6:attack=15:release=350:makeup=1[ducked];"
        f"[vo][ducked]amix=inputs=2:duration=first:normalize=0,{tail}"
    )


def _command(voice: Path, music: Path | None, graph: str, output: str, args: list[str]) -> FFmpegCommand:
    cmd = FFmpegCommand(output=output)
    cmd.loglevel = "info"
    cmd.add_input(voice)
    if music is not None:
        cmd.add_input(music, "-stream_loop", "-1")
    cmd.filter_complex = graph
    cmd.output_args = ["-map", "[a]", *args]
    return cmd


def render_audio(
    voice: Path,
    out: Path,
    samples: int,
    *,
    music: Path | None = None,
    music_volume_db: float = -18.0,
    cancel: threading.Event | None = None,
) -> AudioStats:
    """Write the normalised soundtrack (AAC-LC 48 kHz stereo, ``samples`` long) to ``out`` (.m4a)."""
    has_music = music is not None
    first = _command(
        voice, music, mix_graph(samples, has_music, music_volume_db, loudnorm_filter()), "-", ["-f", "null"]
    )
    measured = parse_loudnorm_json(run_ffmpeg(first.argv(), what="soundtrack loudness pass", cancel=cancel))
    if measured.get("input_i") in (None, "-inf"):
        # Silence: nothing to normalise; keep the (silent) mix as is.
        graph = mix_graph(samples, has_music, music_volume_db, "anull")
        run_ffmpeg(_command(voice, music, graph, str(out), [*aac_args(), "-f", "mp4"]).argv(), what="soundtrack")
        return AudioStats(float("-inf"), float("-inf"), "none")
    second = _command(
        voice,
        music,
        mix_graph(samples, has_music, music_volume_db, loudnorm_filter(measured)),
        str(out),
        [*aac_args(), "-f", "mp4"],
    )
    result = parse_loudnorm_json(run_ffmpeg(second.argv(), what="soundtrack", cancel=cancel))
    return AudioStats(
        input_lufs=float(measured["input_i"]),
        output_lufs=float(result.get("output_i", "nan")),
        normalization=str(result.get("normalization_type", "")),
    )
