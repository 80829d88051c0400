"""The text layout follows a title card's words through the move the render really makes.

The layout (where drawn words sit, what captions are placed off and the quality report checks)
followed img2vid's old zoom (1.0 to 1.12 around the centre) while a Short's tight shot frames the
card at 0.6 of its size: on the demo's Shorts the words spread far past their recorded boxes and two
captions covered them while the report said none did.  Here a card whose only "words" are a white
bar is rendered as a 180x320 native Short (wide, tight, wide shots) and the bar's pixels in every
frame must lie inside the box the layout gives for that moment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu_activities.shorts import render_short
from tests.conftest import tiny_settings
from tests.mediagen import tone_wav
from tests.test_shorts_native import frames_of
from tubeflow.quality_report import TEXT, TextLayout
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan, ShortRange

FPS = 15
BAR = (0.3, 0.44, 0.4, 0.1)  # x, y, w, h of the card: where it "wrote" its words


def bar_card(path: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (180, 320), (20, 24, 32))
    x, y, w, h = BAR
    ImageDraw.Draw(img).rectangle((x * 180, y * 320, (x + w) * 180 - 1, (y + h) * 320 - 1), fill=(255, 255, 255))
    img.save(path)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TextLayout]:
    d = tmp_path_factory.mktemp("card-layout")
    card = MediaItem(str(bar_card(d / "card.png")), "image", "generated", start=0.0, end=2.4,
                     card={"text": [list(BAR)]}, focus_x=0.5, focus_y=0.49)  # fmt: skip
    plan = RenderPlan(320, 180, FPS, 2.4, [PlanPart(0, "hook", 0.0, 2.4, [card])], transition="none")
    s = tiny_settings(d, force_cpu=True)
    stats = render_short(plan, tone_wav(d / "voice.wav", 2.4), [], ShortRange(0.0, 2.4), d / "short.mp4",
                         d / "work", s, reframe="native")  # fmt: skip
    assert stats.text_layout is not None
    return d / "short.mp4", TextLayout.from_json(stats.text_layout.read_text())


def test_the_cards_words_stay_inside_their_layout_box_in_every_frame(rendered: tuple[Path, TextLayout]) -> None:
    video, layout = rendered
    boxes = [b for b in layout.boxes if b.kind == TEXT and b.label.startswith("title card")]
    assert len(boxes) >= 2  # a box per shot: wide, then tight
    heights = sorted(b.rect.h for b in boxes)
    assert heights[-1] > 1.4 * heights[0]  # the tight shot's words are recorded larger, as they are drawn
    frames = frames_of(video)
    assert len(frames) >= 40
    checked = 0
    for i, f in enumerate(frames):
        t = (i + 0.5) / FPS
        on = [b for b in boxes if b.start <= t < b.end]
        if not on:
            continue
        (box,) = on
        ys, xs = np.nonzero(f.mean(axis=2) > 160)
        assert len(xs) > 0, f"frame {i}: the bar is not on screen"
        r = box.rect
        tol = 3  # the encoder's ringing round the bar's edges
        inside = (r.x - tol <= xs.min()) and (xs.max() <= r.right + tol) and (r.y - tol <= ys.min())
        assert inside and ys.max() <= r.bottom + tol, (i, (xs.min(), ys.min(), xs.max(), ys.max()), r)
        checked += 1
    assert checked >= len(frames) - 2
