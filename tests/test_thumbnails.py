"""Thumbnails: real JPEGs at YouTube's size and limit, distinct options, visible feedback nudges."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageStat

from activities.broll import build_plan
from activities.thumbnails import MAX_BYTES, SIZE, encode_jpeg, make_thumbnails, nudge_from_feedback
from niches.config import NicheConfig
from tubeflow.errors import PermanentError
from tubeflow.render_plan import MediaItem, NarrationTiming, PartTiming, PlanPart, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

SCRIPT = {
    "title": "Why is the sky blue? The physics of scattering",
    "hook": "Look up.",
    "sections": [{"heading": "Scattering", "narration": "Blue scatters most.", "broll_cues": ["blue sky"]}],
}


def niche(tmp: Path) -> NicheConfig:
    (tmp / "media").mkdir(parents=True, exist_ok=True)
    return NicheConfig(name="t", title="T", folder=str(tmp), palette=["#0b132b", "#3a506b", "#5bc0be", "#ffd166"])


def photo_plan(storage: LocalStorage) -> RenderPlan:
    """A plan whose only picture is a photo-like noisy image: the thumbnails must show it."""
    noise = Image.effect_noise((640, 360), 60).convert("RGB")
    red = Image.blend(noise, Image.new("RGB", (640, 360), (200, 30, 30)), 0.6)
    p = Path(storage.root) / "src.jpg"
    red.save(p, quality=90)
    key = storage.put_file("productions/t1/broll/library/photo.jpg", p)
    item = MediaItem(key=key, kind="image", source="library", start=0, end=5)
    return RenderPlan(width=320, height=180, fps=15, duration_s=5, parts=[PlanPart(0, "hook", 0, 5, [item])])


def test_three_distinct_options_within_youtube_limits(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    keys = make_thumbnails(settings, storage, niche(tmp_path / "n"), SCRIPT, photo_plan(storage), "t1", 1, [])
    assert keys == [f"productions/t1/thumbnails/v1-{i}.jpg" for i in (1, 2, 3)]
    images = []
    for k in keys:
        path = storage.fetch(k)
        assert path.stat().st_size < MAX_BYTES
        img = Image.open(path)
        assert img.format == "JPEG" and img.size == SIZE and img.mode == "RGB"
        images.append(img)
    assert len({im.tobytes() for im in images}) == 3
    # The plan's red photo is really the background of the first option (its right side is clear).
    r, g, b = ImageStat.Stat(images[0].crop((900, 0, 1280, 720))).mean
    assert r > g + 40 and r > b + 40


def test_built_from_a_real_plan_with_generated_stills(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    n = niche(tmp_path / "n")
    timing = NarrationTiming(
        5.0, 22050, [PartTiming(0, "hook", 0, 2, "Look up.", None), PartTiming(1, "section", 2.35, 5, "x", 0)]
    )
    plan, _ = build_plan(settings, storage, n, SCRIPT, timing, "t2", 1, [])
    keys = make_thumbnails(settings, storage, n, SCRIPT, plan, "t2", 1, [], count=2)
    assert len(keys) == 2 and all(Image.open(storage.fetch(k)).size == SIZE for k in keys)


def test_feedback_makes_visible_changes(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    n = niche(tmp_path / "n")
    plan = photo_plan(storage)
    base = [Image.open(storage.fetch(k)) for k in make_thumbnails(settings, storage, n, SCRIPT, plan, "t1", 1, [])]
    bright = make_thumbnails(settings, storage, n, SCRIPT, plan, "t1", 2, ["too dark, make it brighter"])
    assert all(k.startswith("productions/t1/thumbnails/v2-") for k in bright)

    def mean(im: Image.Image) -> float:
        return float(sum(ImageStat.Stat(im.convert("L")).mean))

    assert sum(mean(Image.open(storage.fetch(k))) for k in bright) > sum(mean(im) for im in base) * 1.05
    assert base[0].tobytes() != Image.open(storage.fetch(bright[0])).tobytes()


def test_feedback_parsing() -> None:
    assert nudge_from_feedback(["Text too small"]).text_scale > 1
    assert nudge_from_feedback(["text too big"]).text_scale < 1
    assert nudge_from_feedback(["use yellow"]).accent == "#FFD400"
    assert nudge_from_feedback(["too much text"]).max_words == 4
    assert nudge_from_feedback(["looks great"]) == nudge_from_feedback([])


def test_missing_title_is_permanent(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    with pytest.raises(PermanentError, match="no title"):
        make_thumbnails(settings, storage, niche(tmp_path / "n"), {**SCRIPT, "title": " "}, photo_plan(storage), "t1")


def test_busy_image_still_under_two_megabytes() -> None:
    noise = Image.effect_noise(SIZE, 128).convert("RGB")
    noisy = Image.merge("RGB", [noise.getchannel(0), noise.rotate(90).getchannel(0), noise.rotate(180).getchannel(0)])
    assert len(encode_jpeg(noisy)) < MAX_BYTES
