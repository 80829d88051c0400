"""Generated stills are title cards about what is said: the part's query and fact, the niche icon
that fits (chosen by meaning), the niche palette and font, shared with the thumbnails."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from activities.stills import draw_still, find_font, hex_rgb, make_still, pick_icon
from niches.config import load_niche
from tubeflow.settings import Settings


def test_icon_is_chosen_by_what_the_part_says() -> None:
    s = Settings()
    science, financas = load_niche("science", s), load_niche("financas", s)
    prism = pick_icon(science, "White light splits into colours inside a glass prism.")
    hole = pick_icon(science, "A black hole forms when a massive star collapses.")
    shield = pick_icon(financas, "Guarde dinheiro para uma reserva de emergência e fique protegido.")
    assert prism is not None and prism.name == "prism.png"
    assert hole is not None and hole.name == "black-hole.png"
    assert shield is not None and shield.name == "escudo.png"
    assert pick_icon(None, "anything") is None


def test_title_card_draws_icon_disc_text_and_palette_stripe(tmp_path: Path) -> None:
    s = Settings()
    niche = load_niche("science", s)
    size = (640, 360)
    icon = pick_icon(niche, "prism splitting light")
    card = draw_still("prism splitting light", size, niche.palette, 7, find_font(s, niche), "Splitting light",
                      "White light splits into its colours in a prism.", icon)  # fmt: skip
    plain = draw_still("", size, niche.palette, 7, find_font(s, niche))
    assert card.size == size
    # The disc on the right is a solid palette colour around the icon (not the dark background).
    cx, cy, r = int(size[0] * 0.72), int(size[1] * 0.47), int(size[1] * 0.23)
    rim = cast(tuple[int, ...], card.getpixel((cx - int(r * 0.85), cy)))  # an RGB image: a tuple per pixel
    bright = [hex_rgb(c) for c in niche.palette]
    assert min(sum(abs(a - b) for a, b in zip(rim, c, strict=True)) for c in bright) < 60, rim
    # Text on the left: many bright pixels where the plain background has none.
    left = (int(size[0] * 0.1), int(size[1] * 0.25), int(size[0] * 0.57), int(size[1] * 0.55))

    def whites(img: Image.Image) -> int:
        import numpy as np

        return int((np.asarray(img.crop(left)).min(axis=2) > 230).sum())

    assert whites(card) > 300 and whites(plain) == 0
    # The palette stripe along the bottom edge carries every niche colour in order.
    y = size[1] - 1
    stripe = [
        cast(tuple[int, ...], card.getpixel((int((k + 0.5) * size[0] / len(bright)), y))) for k in range(len(bright))
    ]
    assert all(sum(abs(a - b) for a, b in zip(p, c, strict=True)) < 40 for p, c in zip(stripe, bright, strict=True))


def test_niche_font_is_used_for_stills_and_thumbnails(tmp_path: Path) -> None:
    s = Settings()
    history = load_niche("history", s)
    font = find_font(s, history)
    if font.name != "DejaVuSerif-Bold.ttf":
        pytest.skip("DejaVu Serif is not installed here (fonts-dejavu)")
    assert find_font(s, load_niche("science", s)) != font  # the default sans for other niches
    out = make_still(tmp_path / "a.jpg", "the coronation", (320, 180), history.palette, 1, s, "Power",
                     "In 1804 Napoleon crowned himself emperor.", history)  # fmt: skip
    assert Image.open(out).size == (320, 180)


def test_card_text_keeps_out_of_the_centre_caption_band() -> None:
    """financas burns its captions in the middle of the frame: the card leaves that band empty."""
    s = Settings()
    niche = load_niche("financas", s)
    size = (640, 360)
    fact = "O montante com juros compostos é calculado pela fórmula M = C × (1 + i) elevado a n, ao longo do tempo."
    card = draw_still("Calculado pela fórmula", size, niche.palette, 3, find_font(s, niche), "Como funciona", fact,
                      None, (0.4, 0.6))  # fmt: skip
    import numpy as np

    text_column = np.asarray(card)[int(size[1] * 0.42) : int(size[1] * 0.58), int(size[0] * 0.1) : int(size[0] * 0.55)]
    assert int((text_column.max(axis=2) > 200).sum()) == 0  # no white or yellow text where captions go


def test_card_titles_keep_the_capitals_of_names() -> None:
    from activities.stills import cased_like

    fact = "Lord Rayleigh, the British physicist John William Strutt, explained it. Sunlight looks white."
    assert cased_like("british physicist john", fact) == "British physicist John"
    assert cased_like("white sunlight", fact) == "white sunlight"  # a sentence's first word is no name
    assert cased_like("Visible spectrum", "") == "Visible spectrum"
