"""Command lines at the string level: NVENC options, the probe fallback, segments and timeline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gpu_activities.segments import SegmentSpec, Source, segment_command
from gpu_activities.timeline import Segment, build_visuals, plan_segments, total_frames
from tubeflow.errors import ConfigError, MediaError
from tubeflow.media import encoders
from tubeflow.media.encoders import (
    EncoderChoice,
    NvencProbe,
    nvenc_probed_by,
    probe_nvenc,
    select_encoder,
    video_codec_args,
)
from tubeflow.media.ffmpeg import FFmpegFailed, concat_list_text, escape_filter_path, ffmpeg_exe, run_ffmpeg
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan
from tubeflow.settings import Settings

NVENC = EncoderChoice("h264_nvenc", "test", cuda=True)
CPU = EncoderChoice("libx264", "test")


def _opts(args: list[str]) -> dict[str, str]:
    return {args[i]: args[i + 1] for i in range(0, len(args) - 1) if args[i].startswith("-")}


@pytest.mark.parametrize(
    ("quality", "preset", "cq"), [("fast", "p2", "25"), ("balanced", "p4", "23"), ("quality", "p6", "20")]
)
def test_nvenc_args_follow_documented_options(quality: str, preset: str, cq: str) -> None:
    o = _opts(video_codec_args("h264_nvenc", quality))
    assert o["-c:v"] == "h264_nvenc" and o["-preset"] == preset and o["-cq"] == cq
    assert o["-tune"] == "hq" and o["-rc"] == "vbr" and o["-b:v"] == "0" and o["-profile:v"] == "high"
    assert o["-spatial-aq"] == "1" and int(o["-bf"]) >= 2


def test_x264_args_and_bad_quality() -> None:
    o = _opts(video_codec_args("libx264", "balanced", threads=2))
    assert (o["-preset"], o["-crf"], o["-profile:v"], o["-threads"]) == ("faster", "21", "high", "2")
    with pytest.raises(ConfigError, match="TUBEFLOW_VIDEO_QUALITY"):
        video_codec_args("libx264", "ultra")


def _plan(tmp: Path) -> RenderPlan:
    return RenderPlan(
        width=1920,
        height=1080,
        fps=30,
        duration_s=20.0,
        parts=[
            PlanPart(0, "hook", 0, 6, [MediaItem("a.png", "image", "library", start=0, end=6)]),
            PlanPart(1, "one", 6, 14, [MediaItem("clip.mp4", "video", "stock", start=6, end=14, media_duration=3.0)]),
            PlanPart(2, "two", 14, 20, [MediaItem("b.png", "image", "library", start=14, end=20)]),
        ],
        max_shot_s=0,  # one visual per item: these tests read the command, tests/test_pacing.py the pace
    )


def test_segment_command_on_nvenc_uses_cuda_decode_and_scale(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    frames = total_frames(20.0, 30)
    visuals = build_visuals(plan, frames)
    seg = Segment(0, 0, frames)
    sources = {"a.png": Source(tmp_path / "a.png", 0), "clip.mp4": Source(tmp_path / "clip.mp4", 3.0),
               "b.png": Source(tmp_path / "b.png", 0)}  # fmt: skip
    spec = SegmentSpec(1920, 1080, 30, "fade", True, NVENC, "balanced", captions=tmp_path / "c's.ass",
                       fonts_dir=Path("/usr/share/fonts/truetype/dejavu"))  # fmt: skip
    argv = segment_command(seg, visuals, sources, spec, tmp_path / "out.mp4").argv(exe="ffmpeg")
    line = " ".join(argv)
    clip_at = argv.index(str(tmp_path / "clip.mp4"))
    assert argv[clip_at - 7 : clip_at - 3] == ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]
    assert "-stream_loop" in argv[clip_at - 3 : clip_at]  # 8 s slot, 3 s clip: looped
    assert "scale_cuda=w=1920:h=1080" in line and "hwdownload" in line
    assert "-c:v h264_nvenc" in line and "-preset p4" in line and "-g 60" in line and "-pix_fmt yuv420p" in line
    assert line.count("xfade=transition=fade") == 2 and "ass=filename=" in line and "c\\\\\\'s.ass" in line
    assert f"-frames:v {frames}" in line and "+faststart" in line
    cpu = " ".join(segment_command(seg, visuals, sources, SegmentSpec(1920, 1080, 30, "fade", True, CPU, "fast"),
                                   tmp_path / "o.mp4").argv(exe="ffmpeg"))  # fmt: skip
    assert "hwaccel" not in cpu and "scale_cuda" not in cpu and "-c:v libx264 -preset veryfast" in cpu


def test_nvenc_probe_fails_cleanly_with_a_reason_here() -> None:
    result = probe_nvenc()
    if result.ok:  # a machine with a working NVENC engine
        pytest.skip("NVENC works on this machine")
    assert result.reason.startswith("h264_nvenc test encode failed: ")
    assert any(k in result.reason for k in ("libcuda", "NVENC", "nvenc", "CUDA", "device"))
    choice = select_encoder(Settings())
    assert choice.name == "libx264" and choice.reason == encoders.nvenc_status().reason and not choice.cuda
    assert select_encoder(Settings(force_cpu=True)).reason == "CPU forced by TUBEFLOW_FORCE_CPU"


class FakeFFmpeg:
    """Stands in for FFmpeg in the NVENC probe: a card whose test encode exits ``code`` with ``stderr``."""

    def __init__(self, code: int = 0, stderr: str = "", hang: bool = False) -> None:
        self.code, self.stderr, self.hang = code, stderr, hang
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        if self.hang:
            raise subprocess.TimeoutExpired(argv, kw["timeout"])
        return subprocess.CompletedProcess(argv, self.code, "", self.stderr)


def test_the_nvenc_probe_reads_a_fake_cards_answer() -> None:
    """The probe's three answers without a GPU: a working card, a driver error, a hung encode."""
    works = FakeFFmpeg()
    assert probe_nvenc(run=works) == NvencProbe(True, "h264_nvenc test encode succeeded")
    line = " ".join(works.calls[0])
    assert "-c:v h264_nvenc" in line and "-f lavfi" in line and line.endswith("-f null -")
    err = "[h264_nvenc @ 0x55d0] OpenEncodeSessionEx failed: no capable devices found\nConversion failed!\n"
    failed = probe_nvenc(run=FakeFFmpeg(1, err))
    assert failed == NvencProbe(False, "h264_nvenc test encode failed: [h264_nvenc] OpenEncodeSessionEx failed: "
                                "no capable devices found")  # fmt: skip
    assert probe_nvenc(2, run=FakeFFmpeg(hang=True)) == NvencProbe(False, "h264_nvenc test encode timed out after 2 s")


def test_a_working_nvenc_card_is_chosen_and_drives_the_commands(tmp_path: Path) -> None:
    """The branch a GPU worker with NVENC takes (this machine has none: a fake card answers the probe)."""
    from gpu_activities.render import segment_spec

    card = FakeFFmpeg()
    real_answer = encoders.nvenc_status()  # what this machine's own probe said, cached before the block
    with nvenc_probed_by(lambda: probe_nvenc(run=card)):
        choice = select_encoder(Settings())
        assert choice == EncoderChoice("h264_nvenc", "h264_nvenc test encode succeeded", cuda=True)
        assert choice.is_gpu and select_encoder(Settings()) == choice and len(card.calls) == 1  # probed once
        forced = select_encoder(Settings(force_cpu=True))
        assert forced == EncoderChoice("libx264", "CPU forced by TUBEFLOW_FORCE_CPU") and not forced.cuda
        # The render's segments are encoded by NVENC, decoding and scaling the clips on the GPU.
        plan = _plan(tmp_path)
        spec = segment_spec(plan, [], tmp_path, Settings(video_quality="quality"))
        assert spec.encoder == choice
        frames = total_frames(20.0, 30)
        sources = {"a.png": Source(tmp_path / "a.png", 0), "clip.mp4": Source(tmp_path / "clip.mp4", 3.0),
                   "b.png": Source(tmp_path / "b.png", 0)}  # fmt: skip
        argv = segment_command(Segment(0, 0, frames), build_visuals(plan, frames), sources, spec, tmp_path / "o.mp4")
        line = " ".join(argv.argv(exe="ffmpeg"))
        assert "-c:v h264_nvenc -preset p6" in line and "-cq 20" in line
        assert "-hwaccel cuda -hwaccel_output_format cuda" in line and "scale_cuda=w=1920:h=1080" in line
        assert "libx264" not in line
    assert encoders.nvenc_status() == real_answer and len(card.calls) == 1  # the fake card is gone again


def test_timeline_fades_only_between_parts_and_cuts_avoid_fades() -> None:
    plan = _plan(Path("."))
    plan.parts[1].items.append(MediaItem("c.png", "image", "library", start=10, end=14))
    plan.parts[1].items[0].end = 10
    frames = total_frames(20.0, 30)
    vis = build_visuals(plan, frames)
    assert [v.fade_in for v in vis] == [0, 15, 0, 15]  # part -> part fades, hard cut inside part 1
    assert vis[0].end - vis[1].start == 15 and vis[1].end == vis[2].start and vis[2].end - vis[3].start == 15
    assert vis[1].start == 6 * 30 - 7 and vis[0].end == 6 * 30 + 8  # the fade is centred on the part change
    segs = plan_segments(vis, frames, 30, 4.0)
    assert segs[0].start == 0 and segs[-1].end == frames
    assert all(a.end == b.start for a, b in zip(segs, segs[1:], strict=False))
    for s in segs[1:]:
        assert not any(v.start < s.start < v.start + v.fade_in for v in vis)
    assert all(s.frames >= 60 for s in segs)


def test_concat_list_quotes_and_durations(tmp_path: Path) -> None:
    text = concat_list_text([tmp_path / "it's.mp4"], [2.2666666666])
    assert "it'\\''s.mp4'" in text and "duration 2.266667" in text
    assert escape_filter_path("/a/b:c'd,e") == "/a/b\\\\:c\\\\\\'d\\,e"


def test_caption_path_with_quote_and_colon_reaches_libass(tmp_path: Path) -> None:
    """Quoting alone breaks on a quote followed by a colon: the graph fails to parse (seen before)."""
    from gpu_activities.captions import write_ass
    from niches.config import CaptionStyle
    from tubeflow.media.fonts import find_font

    folder = tmp_path / "o'neil:v1, [x]"
    folder.mkdir()
    font = find_font(Settings(home=tmp_path))
    ass = write_ass(folder / "c.ass", [{"word": "hi", "start": 0.0, "end": 0.5}], CaptionStyle(), 320, 180, font)
    graph = f"[0:v]ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(font.folder)}[o]"
    run_ffmpeg([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=320x180:r=15:d=0.5",
                "-filter_complex", graph, "-map", "[o]", "-f", "null", "-"], what="burn captions")  # fmt: skip


def test_run_ffmpeg_maps_failures(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(MediaError, match="bad.mp4|could not read"):
        run_ffmpeg([ffmpeg_exe(), "-v", "error", "-i", str(bad), "-f", "null", "-"], what="decode bad.mp4")
    with pytest.raises(FFmpegFailed, match="status"):
        run_ffmpeg(
            [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color", "-vf", "nosuch", "-f", "null", "-"], what="x"
        )
    assert shutil.which(ffmpeg_exe()) or Path(ffmpeg_exe()).is_file()


def test_progress_blocks_are_parsed_from_ffmpegs_own_report() -> None:
    from tubeflow.media.ffmpeg import parse_progress_block

    mid = parse_progress_block(
        {"frame": "150", "fps": "30.5", "out_time_us": "5000000", "speed": "2.5x", "progress": "continue"}, 20.0
    )
    assert (mid.frame, mid.out_time_s, mid.speed, mid.done) == (150, 5.0, 2.5, False)
    assert mid.fraction == 0.25
    early = parse_progress_block({"frame": "0", "out_time_us": "N/A", "speed": "N/A", "progress": "continue"}, 20.0)
    assert early.fraction == 0.0 and early.speed == 0.0
    # Never 100 % before FFmpeg says "end" (the muxer may still be writing), always at the end.
    assert parse_progress_block({"out_time_us": "21000000", "progress": "continue"}, 20.0).fraction == 0.99
    assert parse_progress_block({"out_time_us": "1", "progress": "end"}, 20.0).fraction == 1.0
