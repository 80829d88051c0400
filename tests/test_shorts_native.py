"""Native 9:16 Shorts on real FFmpeg: portrait cards, subject crop, hook title, safe-zone captions, loop.

Everything is rendered at 180x320 (the tiny long-form's portrait) from a plan holding a title card
(with its portrait twin, as the b-roll stage makes it), a still whose subject stands at the right
edge, and a clip; frames are decoded and measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from activities.stills import card_name, make_still
from gpu_activities.portrait_fill import content_fraction, video_content_fraction
from gpu_activities.shorts import render_short
from gpu_activities.subject import focus_of
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip, tone_wav
from tests.test_render import WORDS
from tubeflow.quality_report import CAPTION, SHORTS_SAFE, TEXT, TextLayout, caption_overlaps, captions_outside
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan, ShortRange

FPS = 15
PALETTE = ["#1d3557", "#457b9d", "#a8dadc", "#e63946"]


def subject_still(path: Path, width: int = 320, height: int = 180) -> Path:
    """A plain dark picture with its subject (a bright disc with rings) near the right edge."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (20, 24, 32))
    d = ImageDraw.Draw(img)
    cx, cy, r = int(width * 0.85), height // 2, height // 4
    for k in range(4):
        d.ellipse((cx - r + 4 * k, cy - r + 4 * k, cx + r - 4 * k, cy + r - 4 * k), outline=(255, 200, 40), width=2)
    d.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=(230, 57, 70))
    d.line((0, height - 20, width, height - 24), fill=(60, 70, 80), width=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("native-media")
    card = make_still(d / "card.jpg", "Why sunsets glow red", (320, 180), PALETTE, 7, tiny_settings(d), "Light",
                      fact="Blue light scatters away at dusk.", portrait=True)  # fmt: skip
    return {
        "card": card,
        "subject": subject_still(d / "subject.png"),
        "clip": color_bars_clip(d / "clip.mp4", 2.0),
        "voice": tone_wav(d / "voice.wav", 6.0),
    }


def card_item(card: Path, start: float, end: float) -> MediaItem:
    """The title card as the b-roll stage plans it (its portrait twin and text boxes in ``card``)."""
    meta = json.loads(card.with_name(card_name(card.name)).read_text())
    meta["portrait_key"] = str(card.with_name(meta.pop("portrait")))
    return MediaItem(str(card), "image", "generated", start=start, end=end, card=meta)


def native_plan(m: dict[str, Path], title: str = "Colours of the sky") -> RenderPlan:
    return RenderPlan(
        width=320, height=180, fps=FPS, duration_s=6.0, transition="fade", transition_s=0.4, title=title,
        parts=[
            PlanPart(0, "hook", 0.0, 2.0, [card_item(m["card"], 0.0, 2.0)]),
            PlanPart(1, "the sun", 2.0, 4.0, [MediaItem(str(m["subject"]), "image", "library", start=2.0, end=4.0)]),
            PlanPart(2, "the air", 4.0, 6.0, [MediaItem(str(m["clip"]), "video", "library", start=4.0, end=6.0,
                                                        media_duration=2.0)]),  # fmt: skip
        ],
    )  # fmt: skip


def frames_of(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def renders(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 5.5 s Short rendered native with and without captions, and with the old blurred band."""
    d = tmp_path_factory.mktemp("native-renders")
    s = tiny_settings(d, force_cpu=True)
    plan = native_plan(media)
    out: dict[str, Path] = {}
    for name, words, reframe in (("native", WORDS, "native"), ("bare", [], "native"), ("blur", WORDS, "blur")):
        out[name] = d / f"{name}.mp4"
        stats = render_short(plan, media["voice"], words, ShortRange(0.0, 5.5), out[name], d / name, s,
                             reframe=reframe)  # fmt: skip
        assert stats.text_layout is not None
        out[f"{name}-layout"] = stats.text_layout
    return out


def test_content_fraction_sees_bands_and_only_bands() -> None:
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (320, 180, 3)).astype(np.uint8)
    assert content_fraction(picture) == 1.0
    banded = picture.copy()
    banded[:110] = 40  # a uniform band above, a blurred one below
    banded[210:] = np.linspace(30, 34, 110)[:, None, None].astype(np.uint8)
    assert abs(content_fraction(banded) - 100 / 320) < 0.02
    holed = picture.copy()
    holed[100:200] = 90  # a flat sky in the middle of the picture is not a band
    assert content_fraction(holed) == 1.0


def test_native_short_fills_the_portrait_frame(renders: dict[str, Path]) -> None:
    assert video_content_fraction(renders["native"], samples=9) >= 0.85
    assert video_content_fraction(renders["blur"], samples=9) < 0.6  # the old layout: a band across the middle


def test_title_card_is_its_portrait_twin_and_the_subject_is_kept(renders: dict[str, Path]) -> None:
    frames = frames_of(renders["bare"])
    card = frames[round(1.0 * FPS)]
    # The portrait card stacks its words across the column: text rows between 40 % and 70 % of the height.
    rows = (np.abs(np.diff(card.mean(axis=2), axis=1)) > 60).mean(axis=1)
    assert rows[128:224].mean() > 3 * max(rows[230:250].mean(), 0.002)
    # The subject (a bright disc at 85 % of the landscape width) is inside the portrait crop.
    still = frames[round(3.0 * FPS)]
    bright = (still.max(axis=2) > 180).mean()
    assert bright > 0.05, "the subject was cropped away"


def test_subject_estimate_finds_an_off_centre_subject(media: dict[str, Path]) -> None:
    from PIL import Image

    fx, fy = focus_of(np.asarray(Image.open(media["subject"]).convert("RGB")))
    assert fx > 0.7 and 0.35 < fy < 0.65


def test_hook_title_is_drawn_in_the_first_two_seconds(renders: dict[str, Path]) -> None:
    layout = TextLayout.from_json(renders["native-layout"].read_text())
    (hook,) = [b for b in layout.boxes if b.kind == TEXT and b.label.startswith("hook title")]
    assert hook.start == 0.0 and hook.end <= 2.0 and "Colours of the sky" in hook.label
    assert SHORTS_SAFE.zone(180, 320).contains(hook.rect)
    # The bare render (no words) still has the hook: compare its first second with the same frame
    # of a frame 2.5 s in, where the hook is gone; the hook's box changes, the rest of the card less.
    bare = frames_of(renders["bare"])
    r = hook.rect
    at = bare[round(0.5 * FPS)][int(r.y) : int(r.bottom), int(r.x) : int(r.right)]
    assert (at.max(axis=2) > 200).mean() > 0.05  # bright title letters inside the box
    bare_layout = TextLayout.from_json(renders["bare-layout"].read_text())
    assert any(b.label.startswith("hook title") for b in bare_layout.boxes)


def test_captions_stay_in_the_safe_zone_off_drawn_text_and_where_they_are_said_to_be(
    renders: dict[str, Path],
) -> None:
    layout = TextLayout.from_json(renders["native-layout"].read_text())
    caps = [b for b in layout.boxes if b.kind == CAPTION]
    cards = [b for b in layout.boxes if b.kind == TEXT and b.label.startswith("title card")]
    assert caps and cards and (layout.width, layout.height) == (180, 320)
    assert captions_outside(layout) == [] and caption_overlaps(layout) == []
    # The pixels the captions changed lie inside the caption boxes (and the hook's, the same in both).
    with_caps, bare = frames_of(renders["native"]), frames_of(renders["bare"])
    for box in caps[:4]:
        f = round((box.start + box.end) / 2 * FPS)
        changed = np.abs(with_caps[f] - bare[f]).max(axis=2) > 60
        inside = np.zeros_like(changed)
        for b in layout.boxes:
            if b.start <= f / FPS < b.end and b.kind == CAPTION:
                r = b.rect
                inside[max(0, int(r.y) - 2) : int(r.bottom) + 3, max(0, int(r.x) - 2) : int(r.right) + 3] = True
        assert changed.sum() > 20, box.label
        assert (changed & ~inside).sum() <= 0.02 * changed.sum(), box.label


def test_a_looping_short_ends_on_its_first_frame(media: dict[str, Path], tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=True)
    plan = native_plan(media, title="")
    for part in plan.parts:
        part.label = ""  # no hook title: it would be on the first frame only
    ends = {}
    for reframe in ("native", "native+loop"):
        out = tmp_path / f"{reframe}.mp4"
        render_short(plan, media["voice"], [], ShortRange(2.0, 5.5), out, tmp_path / reframe, s, reframe=reframe)
        frames = frames_of(out)
        ends[reframe] = float(np.abs(frames[-1] - frames[0]).mean())
    assert ends["native+loop"] < 4.0 < ends["native"]


def test_each_caption_style_renders_differently_and_inside_its_boxes(media: dict[str, Path], tmp_path: Path) -> None:
    """Long-form 320x180: the four styles burn different pixels, all inside the boxes they report."""
    from gpu_activities.render import render_production
    from niches.config import CaptionStyle

    s = tiny_settings(tmp_path, force_cpu=True)
    plan = RenderPlan(320, 180, FPS, 3.0, [PlanPart(0, "x", 0.0, 3.0, [MediaItem(str(media["subject"]), "image",
                      "library", start=0.0, end=3.0)])], ken_burns=False)  # fmt: skip
    voice = tone_wav(tmp_path / "v.wav", 3.0)
    bare = tmp_path / "bare.mp4"
    render_production(plan, voice, [], bare, tmp_path / "bare", s)
    base = frames_of(bare)[round(1.0 * FPS)]
    inks: dict[str, np.ndarray] = {}
    for kind in ("karaoke", "word-pop", "boxed", "classic"):
        out = tmp_path / f"{kind}.mp4"
        stats = render_production(plan, voice, WORDS, out, tmp_path / kind, s, caption_style=CaptionStyle(kind=kind))
        assert stats.text_layout is not None
        layout = TextLayout.from_json(stats.text_layout.read_text())
        assert captions_outside(layout) == []
        frame = frames_of(out)[round(1.0 * FPS)]
        changed = np.abs(frame - base).max(axis=2) > 50
        live = [b.rect for b in layout.boxes if b.kind == CAPTION and b.start <= 1.0 < b.end]
        assert live and changed.sum() > 30, kind
        inside = np.zeros_like(changed)
        for r in live:
            inside[max(0, int(r.y) - 2) : int(r.bottom) + 3, max(0, int(r.x) - 2) : int(r.right) + 3] = True
        assert (changed & ~inside).sum() <= 0.02 * changed.sum(), kind
        inks[kind] = frame
    kinds = list(inks)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1 :]:
            assert np.abs(inks[a] - inks[b]).max(axis=2).mean() > 1.0, (a, b)
