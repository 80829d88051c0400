"""Shorts: 9:16 re-composition of a range, reframed (crop / blurred fill), big centred captions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu_activities.shorts import portrait_size, render_short, sub_plan
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip, still_image, tone_wav
from tests.test_render import WORDS, make_plan
from tubeflow.errors import PermanentError
from tubeflow.media.probe import probe
from tubeflow.render_plan import ShortRange, pick_ranges


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("shorts-media")
    return {
        "a": still_image(d / "a.png", seed=1),
        "b": still_image(d / "b.jpg", 640, 480, seed=2),
        "c": still_image(d / "c.png", seed=4),
        "clip": color_bars_clip(d / "clip.mp4", 1.5),
        "voice": tone_wav(d / "voice.wav", 6.0),
    }


def _frame(path: Path, index: int) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(np.int16)
    raise AssertionError(index)


def test_portrait_size_and_range_picking(media: dict[str, Path]) -> None:
    assert portrait_size(1920, 1080) == (1080, 1920) and portrait_size(320, 180) == (180, 320)
    plan = make_plan(media)
    plan.parts[2].short_candidate = True
    assert pick_ranges(plan, 2) == [ShortRange(4.0, 6.0)]
    sub = sub_plan(plan, ShortRange(2.0, 5.0))
    assert [p.index for p in sub.parts] == [1, 2]
    clip = sub.parts[0].items[0]
    assert (clip.start, clip.end) == (-0.5, 1.5)  # began before the range: the render skips into it


@pytest.mark.parametrize("mode", ["blur", "crop"])
def test_short_is_portrait_with_centred_captions(media: dict[str, Path], tmp_path: Path, mode: str) -> None:
    s = tiny_settings(tmp_path, force_cpu=True)
    plan = make_plan(media)
    out = tmp_path / f"short-{mode}.mp4"
    stats = render_short(plan, media["voice"], WORDS, ShortRange(2.0, 5.0), out, tmp_path / "w", s, reframe=mode)
    info = probe(out)
    assert (info.width, info.height, info.profile, info.pix_fmt) == (180, 320, "High", "yuv420p")
    assert abs(info.duration_s - 3.5) <= 1 / 15 and info.audio_codec == "aac"
    assert stats.frames_encoded == round(3.5 * 15)
    without = tmp_path / f"nocaps-{mode}.mp4"
    render_short(plan, media["voice"], [], ShortRange(2.0, 5.0), without, tmp_path / "w2", s, reframe=mode)
    f = round(0.5 * 15)  # WORDS has a word at 2.5 s
    changed = np.abs(_frame(out, f) - _frame(without, f)).max(axis=2) > 80
    rows = changed.mean(axis=1)
    assert rows[120:200].mean() > 5 * max(rows[:60].mean(), rows[260:].mean(), 0.001)  # centred text
    if mode == "blur":
        frame = _frame(without, f)

        def sharpness(band: np.ndarray) -> float:
            return float(np.abs(np.diff(band, axis=1)).max(axis=2).mean())

        # The fill above the picture is a blurred copy: far softer than the picture itself.
        assert sharpness(frame[:80]) < 0.5 * sharpness(frame[120:200])


def test_short_outside_narration_is_refused(media: dict[str, Path], tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=True)
    with pytest.raises(PermanentError, match="outside"):
        render_short(make_plan(media), media["voice"], [], ShortRange(30.0, 40.0), tmp_path / "x.mp4", tmp_path, s)
