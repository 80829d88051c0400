"""The standalone operations (caption, img2vid, addaudio) on tiny media, including bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu_activities.video_ops import addaudio, caption, img2vid
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip, corrupt_file, still_image, tone_wav, truncated_copy
from tubeflow.errors import MediaError, PermanentError
from tubeflow.media.probe import probe
from tubeflow.settings import Settings


@pytest.fixture
def s(tmp_path: Path) -> Settings:
    return tiny_settings(tmp_path, force_cpu=True)


def _frame(path: Path, index: int) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(np.int16)
    raise AssertionError(index)


SRT = "1\n00:00:00,000 --> 00:00:02,500\nHELLO CAPTIONS\n"


@pytest.mark.parametrize("kind", ["srt", "ass"])
def test_caption_burns_srt_and_ass(tmp_path: Path, s: Settings, kind: str) -> None:
    clip = color_bars_clip(tmp_path / "in.mp4", 3.0)
    subs = tmp_path / f"subs.{kind}"
    if kind == "srt":
        subs.write_text(SRT, encoding="utf-8")
    else:
        from gpu_activities.captions import build_ass
        from niches.config import CaptionStyle
        from tubeflow.media.fonts import find_font

        words = [{"word": "HELLO", "start": 0.0, "end": 1.2}, {"word": "CAPTIONS", "start": 1.2, "end": 2.5}]
        subs.write_text(build_ass(words, CaptionStyle(font_size=90), 320, 180, find_font(s)), encoding="utf-8")
    out = caption(clip, subs, tmp_path / "out.mp4", s)
    info = probe(out.path)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (320, 180, "h264", "aac")
    assert abs(info.duration_s - 3.0) < 0.1
    plain, burned = _frame(clip, 10), _frame(out.path, 10)
    changed = np.abs(plain - burned).max(axis=2) > 80
    assert changed[int(180 * 0.6) :].mean() > 0.01  # text at the bottom
    late = np.abs(_frame(clip, 44) - _frame(out.path, 44)).max(axis=2) > 80
    assert late.mean() < 0.002  # after the cue (and the ASS hold) the text is gone


def test_caption_rejects_bad_inputs(tmp_path: Path, s: Settings) -> None:
    clip = color_bars_clip(tmp_path / "in.mp4", 1.0, audio=False)
    txt = tmp_path / "notes.txt"
    txt.write_text("hello", encoding="utf-8")
    with pytest.raises(MediaError, match=r"notes.txt: unsupported type \.txt"):
        caption(clip, txt, tmp_path / "o.mp4", s)
    fake = tmp_path / "fake.srt"
    fake.write_text("not subtitles at all", encoding="utf-8")
    with pytest.raises(MediaError, match="fake.srt: no 'start --> end'"):
        caption(clip, fake, tmp_path / "o.mp4", s)
    with pytest.raises(MediaError, match="video broken.mp4"):
        caption(corrupt_file(tmp_path / "broken.mp4"), fake, tmp_path / "o.mp4", s)
    cut = truncated_copy(color_bars_clip(tmp_path / "full.mp4", 2.0), tmp_path / "half.mp4")
    with pytest.raises(MediaError, match="half.mp4"):
        caption(cut, fake, tmp_path / "o.mp4", s)


def test_img2vid_zooms_for_the_requested_duration(tmp_path: Path, s: Settings) -> None:
    img = still_image(tmp_path / "in.png", 640, 360, seed=3)
    res = img2vid(img, 2.0, 1.3, tmp_path / "out.mp4", 320, 180, 15, s)
    info = probe(res.path)
    assert (info.width, info.height, info.video_frames, info.profile) == (320, 180, 30, "High")
    first, last = _frame(res.path, 0), _frame(res.path, 29)
    assert np.abs(first - last).mean() > 5  # the picture moved (zoomed)
    with pytest.raises(PermanentError, match="zoom must be between"):
        img2vid(img, 2.0, 3.0, tmp_path / "x.mp4", 320, 180, 15, s)
    with pytest.raises(MediaError, match="image junk.png"):
        img2vid(corrupt_file(tmp_path / "junk.png"), 2.0, 1.2, tmp_path / "x.mp4", 320, 180, 15, s)


def test_addaudio_replace_shortest_and_mix_loop(tmp_path: Path, s: Settings) -> None:
    clip = color_bars_clip(tmp_path / "in.mp4", 3.0)
    tone = tone_wav(tmp_path / "tone.wav", 1.5, frequency=880)
    short = addaudio(clip, tone, tmp_path / "short.mp4", s, mode="replace", fit="shortest")
    info = probe(short.path)
    assert abs(info.duration_s - 1.5) < 0.1 and info.audio_codec == "aac" and info.sample_rate == 48000
    assert short.encoder == "copy"  # H.264 picture kept as is
    looped = addaudio(clip, tone, tmp_path / "loop.mp4", s, mode="mix", fit="loop")
    info = probe(looped.path)
    assert abs(info.duration_s - 3.0) < 0.1
    long_audio = tone_wav(tmp_path / "long.wav", 5.0)
    stretched = addaudio(clip, long_audio, tmp_path / "vloop.mp4", s, fit="loop")
    assert abs(probe(stretched.path).duration_s - 5.0) < 0.15  # the picture loops to the audio
    with pytest.raises(MediaError, match="audio in.mp4: has no audio"):
        addaudio(clip, color_bars_clip(tmp_path / "sub" / "in.mp4", 1.0, audio=False), tmp_path / "x.mp4", s)
    with pytest.raises(PermanentError, match="mode must be"):
        addaudio(clip, tone, tmp_path / "x.mp4", s, mode="blend")
