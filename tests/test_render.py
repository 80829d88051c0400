"""The long-form render on tiny media: container/stream checks, captions, loudness, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu_activities.render import RenderStats, layout, render_production
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip, music_wav, still_image, tone_wav
from tubeflow.errors import MediaError
from tubeflow.media.ffmpeg import measure_loudness
from tubeflow.media.probe import probe
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan
from tubeflow.settings import Settings

W, H, FPS = 320, 180, 15
NARRATION_S = 6.0
WORDS = [
    {"word": w, "start": round(0.1 + i * 0.45, 3), "end": round(0.1 + i * 0.45 + 0.4, 3)}
    for i, w in enumerate("the quick brown fox jumps over the lazy dog and then it naps quietly".split())
]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("render-media")
    return {
        "a": still_image(d / "a.png", seed=1),
        "b": still_image(d / "b.jpg", 640, 480, seed=2),  # different aspect: must be cropped to fill
        "c": still_image(d / "c.png", seed=4),
        "clip": color_bars_clip(d / "clip.mp4", 1.5),  # shorter than its slot: must loop
        "voice": tone_wav(d / "voice.wav", NARRATION_S),
        "music": music_wav(d / "music.wav", 2.5),
    }


def make_plan(m: dict[str, Path], transition: str = "fade") -> RenderPlan:
    return RenderPlan(
        width=W,
        height=H,
        fps=FPS,
        duration_s=NARRATION_S,
        transition=transition,
        transition_s=0.5,
        parts=[
            PlanPart(0, "hook", 0.0, 1.5, [MediaItem(str(m["a"]), "image", "library", start=0.0, end=1.5)]),
            PlanPart(
                1,
                "one",
                1.5,
                4.0,
                [
                    MediaItem(str(m["clip"]), "video", "library", start=1.5, end=3.5, media_duration=1.5),
                    MediaItem(str(m["b"]), "image", "library", start=3.5, end=4.0),
                ],
            ),
            PlanPart(2, "two", 4.0, 6.0, [MediaItem(str(m["c"]), "image", "generated", start=4.0, end=6.0)]),
        ],
    )


def _settings(tmp: Path) -> Settings:
    return tiny_settings(tmp, force_cpu=True)


def _frame(path: Path, index: int) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(np.int16)
    raise AssertionError(f"{path} has no frame {index}")


def test_render_output_matches_delivery_spec(media: dict[str, Path], tmp_path: Path) -> None:
    s = _settings(tmp_path)
    out = tmp_path / "out.mp4"
    seen: list[tuple[int, int, int]] = []
    stats = render_production(
        make_plan(media), media["voice"], WORDS, out, tmp_path / "work", s,
        music=media["music"], on_segment=lambda i, p, done, total: seen.append((i, done, total)),
    )  # fmt: skip
    info = probe(out)
    assert info.video_codec == "h264" and info.profile == "High" and info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == (W, H) and info.fps == FPS
    assert info.audio_codec == "aac" and info.sample_rate == 48000
    expected = NARRATION_S + 0.5
    assert abs(info.duration_s - expected) <= 1 / FPS, info.duration_s
    assert info.video_frames == round(expected * FPS) == stats.frames_encoded
    assert stats.segments_total >= 3 and stats.segments_rendered == stats.segments_total
    assert [d for _, d, _ in seen] == list(range(1, stats.segments_total + 1))
    assert stats.encoder == "libx264" and "TUBEFLOW_FORCE_CPU" in stats.encoder_reason
    # +faststart: the moov box comes before the media data.
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    # GOP of about 2 s: a keyframe at 0 and 30, none in between (besides segment starts).
    import av

    with av.open(str(out)) as c:
        keys = [i for i, p in enumerate(c.demux(video=0)) if p.is_keyframe]
    assert 0 in keys and all(k in {0, 2 * FPS, 4 * FPS} or k in _segment_starts(media, s) for k in keys), keys


def _segment_starts(media: dict[str, Path], s: Settings) -> set[int]:
    return {seg.start for seg in layout(make_plan(media), NARRATION_S, s).segments}


def test_loudness_is_youtube_target(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "loud.mp4"
    render_production(
        make_plan(media), media["voice"], [], out, tmp_path / "w", _settings(tmp_path), music=media["music"]
    )
    integrated, peak = measure_loudness(out)
    assert abs(integrated - (-14.0)) <= 1.0, integrated
    assert peak <= -1.0 + 0.5, peak  # true peak target -1.5 dBTP; AAC adds a little


def test_captions_are_burned_in(media: dict[str, Path], tmp_path: Path) -> None:
    s = _settings(tmp_path)
    plan = make_plan(media)
    with_caps = tmp_path / "caps.mp4"
    without = tmp_path / "nocaps.mp4"
    render_production(plan, media["voice"], WORDS, with_caps, tmp_path / "w1", s)
    render_production(plan, media["voice"], [], without, tmp_path / "w2", s)
    frame = round(1.0 * FPS)  # a word is being spoken at 1.0 s
    a, b = _frame(with_caps, frame), _frame(without, frame)
    # Encoder noise moves pixels by a few levels everywhere; burned text moves them by 100+.
    changed = np.abs(a - b).max(axis=2) > 80
    bottom, top = changed[int(H * 0.7) :].mean(), changed[: int(H * 0.4)].mean()
    assert bottom > 0.02 and top < 0.002, (bottom, top)  # text in the caption band, nothing elsewhere
    # The highlighted word is yellow: strongly more red+green than blue somewhere in the band.
    band = a[int(H * 0.7) :]
    yellow = (band[..., 0] > 180) & (band[..., 1] > 160) & (band[..., 2] < 90)
    assert yellow.sum() > 10


def test_resume_renders_only_missing_segments(media: dict[str, Path], tmp_path: Path) -> None:
    s = _settings(tmp_path)
    plan = make_plan(media)
    first = render_production(plan, media["voice"], WORDS, tmp_path / "full.mp4", tmp_path / "w", s)
    segs = layout(plan, NARRATION_S, s).segments
    half = {seg.index: tmp_path / "w" / f"seg-{seg.index:04d}.mp4" for seg in segs[: len(segs) // 2]}
    assert half and all(p.is_file() for p in half.values())
    # Simulate a retry on a fresh worker: only the first half survives in storage.
    keep = tmp_path / "kept"
    keep.mkdir()
    kept = {i: p.rename(keep / p.name) for i, p in half.items()}
    rendered: list[int] = []
    second: RenderStats = render_production(
        plan, media["voice"], WORDS, tmp_path / "resumed.mp4", tmp_path / "w", s,
        done_segments=kept, on_segment=lambda i, *_: rendered.append(i),
    )  # fmt: skip
    missing = [seg for seg in segs if seg.index not in kept]
    assert sorted(rendered) == [seg.index for seg in missing]  # in completion order (encodes overlap)
    assert second.segments_rendered == len(missing) and second.segments_total == len(segs)
    assert second.frames_encoded == sum(seg.frames for seg in missing) < first.frames_encoded
    a, b = probe(tmp_path / "full.mp4"), probe(tmp_path / "resumed.mp4")
    assert a.video_frames == b.video_frames and abs(a.duration_s - b.duration_s) < 1e-3
    # Same pictures: a frame from a resumed segment matches the uninterrupted render.
    f = missing[0].start + 2
    assert np.abs(_frame(tmp_path / "full.mp4", f) - _frame(tmp_path / "resumed.mp4", f)).mean() < 1.0


def test_corrupt_broll_fails_before_encoding(media: dict[str, Path], tmp_path: Path) -> None:
    from tests.mediagen import corrupt_file

    plan = make_plan(media)
    bad = corrupt_file(tmp_path / "bad.mp4")
    plan.parts[1].items[0].key = str(bad)
    with pytest.raises(MediaError, match="bad.mp4"):
        render_production(plan, media["voice"], [], tmp_path / "x.mp4", tmp_path / "w", _settings(tmp_path))
    assert not list((tmp_path / "w").glob("seg-*.mp4"))


def test_hard_cuts_and_no_words(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cuts.mp4"
    stats = render_production(make_plan(media, "none"), media["voice"], [], out, tmp_path / "w", _settings(tmp_path))
    assert probe(out).video_frames == stats.frames_total == round((NARRATION_S + 0.5) * FPS)
