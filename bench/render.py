"""Render benchmark: prints ONE JSON object.

(a) render_s: our long-form render of a generated 60 s project (10 stills, 2 clips, voice, music,
    captions) at 1080p30; (b) floor_s: one plain encode of a same-length, same-size output with
    the same encoder settings (moving test pattern + the same AAC audio); (c) moviepy_s: the same
    composition in MoviePy 2 (bench extra; measured on --moviepy-seconds of the timeline and
    scaled linearly to 60 s when shorter, reported in moviepy_measured_s); (d) an interrupted
    render (FFmpeg killed half way through, as a spot reclaim would) resumed from its finished
    segments: resume_frames counts every frame encoded by both attempts, the killed segment's
    frames included as if fully encoded (an upper bound).

Usage: python bench/render.py [--seconds 60] [--moviepy-seconds 10] [--skip-moviepy]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpu_activities.render import layout, render_production  # noqa: E402
from tests.mediagen import color_bars_clip, music_wav, still_image, tone_wav  # noqa: E402
from tubeflow.errors import TransientError  # noqa: E402
from tubeflow.media.encoders import select_encoder, video_codec_args  # noqa: E402
from tubeflow.media.ffmpeg import FFmpegCommand, aac_args, mp4_args, run_ffmpeg, video_output_args  # noqa: E402
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402

W, H, FPS = 1920, 1080, 30


class PeakRss:
    """Peak resident memory of this process plus its children (the FFmpeg processes), sampled."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                total = self.proc.memory_info().rss
                for c in self.proc.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def make_project(d: Path, seconds: float) -> tuple[RenderPlan, Path, Path, list[dict[str, Any]]]:
    stills = [still_image(d / f"still{i}.png", 2400, 1600 if i % 2 else 1350, seed=i) for i in range(10)]
    clips = [color_bars_clip(d / f"clip{i}.mp4", 4.0, 1920, 1080, 30) for i in range(2)]
    voice = tone_wav(d / "voice.wav", seconds, rate=24000)
    music = music_wav(d / "music.wav", 20.0)
    media = [(str(p), "image", 0.0) for p in stills[:5]] + [(str(clips[0]), "video", 4.0)]
    media += [(str(p), "image", 0.0) for p in stills[5:]] + [(str(clips[1]), "video", 4.0)]
    slot = seconds / len(media)
    parts = []
    for k in range(6):  # 6 sections of 2 items: cross-fades between sections, cuts inside
        items = []
        for j in range(2):
            i = k * 2 + j
            key, kind, dur = media[i]
            items.append(MediaItem(key, kind, "library", start=i * slot, end=(i + 1) * slot, media_duration=dur))
        parts.append(PlanPart(k, f"part {k}", k * 2 * slot, (k + 1) * 2 * slot, items))
    plan = RenderPlan(width=W, height=H, fps=FPS, duration_s=seconds, parts=parts, transition="fade", transition_s=0.5)
    vocab = "energy flows through every living system and shapes the world we see around us".split()
    words = [
        {"word": vocab[i % len(vocab)], "start": i * 0.4, "end": i * 0.4 + 0.35} for i in range(int(seconds / 0.4))
    ]
    return plan, voice, music, words


def child_cpu_s() -> float:
    """CPU seconds used by finished child processes (the FFmpeg encodes): load-independent."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def floor_encode(d: Path, seconds: float, voice: Path, settings: Settings) -> tuple[float, float]:
    choice = select_encoder(settings)
    cmd = FFmpegCommand(output=str(d / "floor.mp4"))
    cmd.add_input(f"testsrc2=s={W}x{H}:r={FPS}:d={seconds + 0.5}", "-f", "lavfi")
    cmd.add_input(voice)
    codec = video_codec_args(choice.name, settings.video_quality, settings.ffmpeg_threads)
    cmd.output_args = ["-map", "0:v", "-map", "1:a", *video_output_args(codec, FPS), *aac_args(), *mp4_args()]
    t0, c0 = time.monotonic(), child_cpu_s()
    run_ffmpeg(cmd.argv(), what="floor encode")
    return time.monotonic() - t0, child_cpu_s() - c0


def moviepy_render(
    d: Path, plan: RenderPlan, voice: Path, music: Path, words: list[dict[str, Any]], upto: float
) -> float:
    """The same composition in MoviePy 2: Ken Burns by per-frame resize, cross-fades, captions, ducking-free mix."""
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        TextClip,
        VideoFileClip,
        concatenate_videoclips,
        vfx,
    )

    t0 = time.monotonic()
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    clips = []
    for part in plan.parts:
        for item in part.items:
            if item.start >= upto:
                continue
            dur = min(item.end, upto) - item.start
            if item.kind == "image":
                c = ImageClip(item.key).resized(height=H).with_duration(dur)
                c = c.resized(lambda t, d=dur: 1.0 + 0.12 * t / d).cropped(
                    x_center=W / 2, y_center=H / 2, width=W, height=H
                )
            else:
                c = VideoFileClip(item.key, audio=False).with_effects([vfx.Loop(duration=dur)]).resized((W, H))
            clips.append(c.with_effects([vfx.CrossFadeIn(0.5)]))
    video = concatenate_videoclips(clips, method="compose", padding=-0.5)
    lines = [words[i : i + 6] for i in range(0, len(words), 6)]
    caps = [
        TextClip(font=font, text=" ".join(w["word"] for w in ln), font_size=64, color="white", stroke_color="black",
                 stroke_width=4).with_start(ln[0]["start"]).with_duration(ln[-1]["end"] - ln[0]["start"])
        .with_position(("center", H - 160))
        for ln in lines if ln[0]["start"] < upto
    ]  # fmt: skip
    comp = CompositeVideoClip([video, *caps], size=(W, H)).with_duration(upto)
    audio = CompositeAudioClip(
        [AudioFileClip(str(voice)).subclipped(0, upto), AudioFileClip(str(music)).with_volume_scaled(0.12)]
    ).with_duration(upto)
    comp.with_audio(audio).write_videofile(
        str(d / "moviepy.mp4"), fps=FPS, codec="libx264", preset="faster", audio_codec="aac", logger=None,
        ffmpeg_params=["-crf", "21", "-pix_fmt", "yuv420p"],
    )  # fmt: skip
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--moviepy-seconds", type=float, default=60.0)
    ap.add_argument("--skip-moviepy", action="store_true")
    ap.add_argument("--quality", default="balanced")
    ap.add_argument("--parallel", type=int, default=0, help="segments encoded at once (0 = the engine's default)")
    ap.add_argument("--skip-resume", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tubeflow-bench-") as tmp:
        d = Path(tmp)
        settings = Settings(home=d, width=W, height=H, fps=FPS, segment_seconds=10.0, video_quality=args.quality)
        if args.parallel:
            settings = settings.with_overrides(render_parallel=args.parallel)
        plan, voice, music, words = make_project(d / "media", args.seconds)

        with PeakRss() as rss:
            t0, c0 = time.monotonic(), child_cpu_s()
            full = render_production(plan, voice, words, d / "full.mp4", d / "w-full", settings, music=music)
            out["render_s"] = round(time.monotonic() - t0, 2)
            out["render_cpu_s"] = round(child_cpu_s() - c0, 2)
        out["peak_rss_mib"] = round(rss.peak / 2**20, 1)
        floor_s, floor_cpu_s = floor_encode(d, args.seconds, voice, settings)
        out["floor_s"], out["floor_cpu_s"] = round(floor_s, 2), round(floor_cpu_s, 2)
        out["ratio_render_over_floor"] = round(out["render_s"] / out["floor_s"], 3)
        out["cpu_ratio_render_over_floor"] = round(out["render_cpu_s"] / out["floor_cpu_s"], 3)

        if not args.skip_resume:
            # (d) interrupted at half the segments (FFmpeg killed 1 s into the next one), then resumed.
            segs = layout(plan, args.seconds, settings).segments
            half = len(segs) // 2
            cancel = threading.Event()
            finished: list[int] = []

            def on_seg(i: int, path: Path, done: int, total: int) -> None:
                finished.append(i)
                if done == half:
                    threading.Timer(1.0, cancel.set).start()

            try:
                render_production(plan, voice, words, d / "cut.mp4", d / "w-cut", settings, music=music,
                                  on_segment=on_seg, cancel=cancel)  # fmt: skip
            except TransientError:
                pass
            by_index = {s.index: s for s in segs}
            # Every encode in flight at the kill counts as fully wasted (an upper bound).
            unfinished = sorted(by_index[i].frames for i in by_index if i not in finished)
            wasted = sum(unfinished[-max(1, settings.render_parallel) :])
            first_attempt = sum(by_index[i].frames for i in finished) + wasted
            done = {i: d / "w-cut" / f"seg-{i:04d}.mp4" for i in finished}
            resumed = render_production(plan, voice, words, d / "resumed.mp4", d / "w-cut", settings, music=music,
                                        done_segments=done)  # fmt: skip
            out["uninterrupted_frames"] = full.frames_encoded
            out["resume_frames"] = first_attempt + resumed.frames_encoded
            out["segment_frames"] = max(s.frames for s in segs)
            out["segment_seconds_frames"] = round(settings.segment_seconds * FPS)  # the documented crash cost
            out["rework_frames"] = out["resume_frames"] - out["uninterrupted_frames"]
            out["render_parallel"] = settings.render_parallel
            out["segments"] = len(segs)
        out["encoder"] = full.encoder
        out["encoder_reason"] = full.encoder_reason
        out["loudness_lufs"] = full.audio.output_lufs if full.audio else None

        if args.skip_moviepy:
            out["moviepy_s"] = None
        else:
            upto = min(args.moviepy_seconds, args.seconds)
            measured = moviepy_render(d, plan, voice, music, words, upto)
            out["moviepy_measured_s"] = round(measured, 2)
            out["moviepy_measured_seconds_of_video"] = upto
            out["moviepy_s"] = round(measured * args.seconds / upto, 2)
            out["ratio_moviepy_over_render"] = round(out["moviepy_s"] / out["render_s"], 2)
        out["machine"] = {"cpus": os.cpu_count(), "video_quality": args.quality, "loadavg_at_end": os.getloadavg()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
