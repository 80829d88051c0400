"""Thumbnail options for the final checkpoint: 1280x720 JPEGs under YouTube's 2 MB limit.

Each option uses a different picture from the plan, a different layout and accent colour, so
the reviewer chooses between real alternatives.  Reviewer feedback nudges the next set in simple,
visible ways (bigger/smaller text, brighter/darker picture, fewer words, a named accent colour).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from activities.stills import draw_still, find_font, hex_rgb, load_font, luminance, seed_for, wrap_to_width
from niches.config import NicheConfig
from tubeflow.errors import MediaError, PermanentError
from tubeflow.keys import ProductionKeys
from tubeflow.render_plan import MediaItem, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage, StorageError

SIZE = (1280, 720)
MAX_BYTES = 2 * 1024 * 1024  # YouTube's custom thumbnail limit
LAYOUTS = ("left", "band", "split")
NAMED_COLOURS = {
    "yellow": "#FFD400",
    "red": "#E63946",
    "orange": "#FF8C00",
    "green": "#2ECC71",
    "blue": "#1E90FF",
    "pink": "#FF4FA3",
    "purple": "#8E44AD",
    "white": "#FFFFFF",
    "cyan": "#00D1D1",
}


@dataclass(frozen=True)
class Nudge:
    """What the reviewer's words change; parsed once, applied to every option."""

    text_scale: float = 1.0
    brightness: float = 1.0
    max_words: int = 0  # 0 = whole title
    accent: str = ""
    uppercase: bool = True


def nudge_from_feedback(feedback: Sequence[str]) -> Nudge:
    scale, bright, words, accent, upper = 1.0, 1.0, 0, "", True
    for note in feedback:
        n = note.lower()
        if re.search(r"\b(bigger|larger|huge|more readable|can'?t read|too small)\b", n):
            scale *= 1.3
        if re.search(r"\b(smaller|too big|too large)\b", n):
            scale /= 1.25
        if re.search(r"\b(brighter|lighter|too dark)\b", n):
            bright *= 1.35
        if re.search(r"\b(darker|too bright)\b", n):
            bright /= 1.35
        if re.search(r"\b(fewer words|shorter|less text|too much text)\b", n):
            words = 4
        if re.search(r"\b(lower ?case|no caps|not all caps)\b", n):
            upper = False
        for name, colour in NAMED_COLOURS.items():
            if re.search(rf"\b{name}\b", n):
                accent = colour
    return Nudge(min(scale, 2.0), max(0.5, min(bright, 2.0)), words, accent, upper)


def _frame_of(path: Path) -> Image.Image:
    """First decodable frame ~1 s into a clip (the very first frame is often black)."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        first = None
        for frame in c.decode(stream):
            first = first or frame
            if frame.time is not None and frame.time >= 1.0:
                img: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]  # PyAV leaves to_image unannotated
                return img
        if first is None:
            raise MediaError(f"{path.name}: no decodable frame for a thumbnail")
        still: Image.Image = first.to_image()  # type: ignore[no-untyped-call]  # PyAV leaves to_image unannotated
        return still


def _backgrounds(storage: Storage, plan: RenderPlan, count: int) -> list[Image.Image]:
    """Pictures from the plan: library and stock before generated ones (those carry cue text)."""
    items: list[MediaItem] = plan.all_items() + [c for p in plan.parts for c in p.candidates]
    order = sorted(range(len(items)), key=lambda i: (items[i].source == "generated", i))
    out: list[Image.Image] = []
    seen: set[str] = set()
    for i in order:
        m = items[i]
        if m.key in seen:
            continue
        seen.add(m.key)
        try:
            path = storage.fetch(m.key)
            img = _frame_of(path) if m.kind == "video" else Image.open(path)
            img = ImageOps.exif_transpose(img).convert("RGB")
        except (StorageError, MediaError, OSError, ValueError):
            continue  # a missing or broken picture just is not a thumbnail option
        out.append(ImageOps.fit(img, SIZE, Image.Resampling.LANCZOS))
        if len(out) >= count:
            break
    return out


def _fit_title(
    draw: ImageDraw.ImageDraw, text: str, font_path: Path | None, box_w: int, box_h: int, start: int
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str]]:
    """The largest font (from ``start`` down) at which the title fits in 4 lines inside the box."""
    size = start
    while True:
        font = load_font(str(font_path) if font_path else None, size)
        lines = wrap_to_width(draw, text, font, box_w)
        if (len(lines) <= 4 and len(lines) * size * 1.15 <= box_h) or size <= 40:
            return font, lines[:5]
        size = int(size * 0.9)


def _outlined(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: tuple[int, int, int],
) -> None:
    stroke = max(3, int(getattr(font, "size", 40) / 12))
    draw.text(xy, text, font=font, fill=fill, stroke_width=stroke, stroke_fill=(0, 0, 0))


def render_option(
    background: Image.Image,
    title: str,
    layout: str,
    accent: str,
    palette: Sequence[str],
    nudge: Nudge,
    font: Path | None,
) -> Image.Image:
    img = ImageEnhance.Brightness(background.copy()).enhance(nudge.brightness)
    img = ImageEnhance.Contrast(img).enhance(1.12)
    w, h = SIZE
    acc = hex_rgb(accent)
    dark = min((hex_rgb(c) for c in palette), key=luminance, default=(10, 10, 10))
    text = title.upper() if nudge.uppercase else title
    if nudge.max_words:
        text = " ".join(text.split()[: nudge.max_words])
    base = int(118 * nudge.text_scale)

    if layout == "left":
        shade = Image.linear_gradient("L").rotate(90).resize(SIZE)  # dark on the left, clear on the right
        img = Image.composite(img, Image.new("RGB", SIZE, dark), shade.point(lambda v: min(255, v + 40)))
        d = ImageDraw.Draw(img)
        font_obj, lines = _fit_title(d, text, font, int(w * 0.62), int(h * 0.7), base)
        assert isinstance(font_obj, ImageFont.FreeTypeFont)  # load_font's sized fonts are FreeType ones
        y = (h - len(lines) * int(font_obj.size * 1.1)) // 2
        for k, line in enumerate(lines):
            _outlined(d, (60, y), line, font_obj, acc if k == 0 else (255, 255, 255))
            y += int(font_obj.size * 1.1)
        d.rectangle((60, y + 12, 60 + int(w * 0.2), y + 24), fill=acc)
    elif layout == "band":
        img = img.filter(ImageFilter.GaussianBlur(2))
        d = ImageDraw.Draw(img)
        font_obj, lines = _fit_title(d, text, font, int(w * 0.86), int(h * 0.5), base)
        assert isinstance(font_obj, ImageFont.FreeTypeFont)  # load_font's sized fonts are FreeType ones
        band_h = len(lines) * int(font_obj.size * 1.12) + 60
        top = h - band_h - 50
        band = Image.new("RGBA", SIZE, (0, 0, 0, 0))
        ImageDraw.Draw(band).rectangle((0, top, w, top + band_h), fill=(*acc, 225))
        img = Image.alpha_composite(img.convert("RGBA"), band).convert("RGB")
        d = ImageDraw.Draw(img)
        ink = (0, 0, 0) if luminance(acc) > 0.55 else (255, 255, 255)
        y = top + 30
        for line in lines:
            lw = d.textlength(line, font=font_obj)
            if ink == (0, 0, 0):
                d.text(((w - lw) // 2, y), line, font=font_obj, fill=ink)
            else:
                _outlined(d, (int((w - lw) // 2), y), line, font_obj, ink)
            y += int(font_obj.size * 1.12)
    else:  # split: solid panel with the title, picture on the right
        panel_w = int(w * 0.55)
        right = ImageOps.fit(img, (w - panel_w, h), Image.Resampling.LANCZOS)
        img = Image.new("RGB", SIZE, dark)
        img.paste(right, (panel_w, 0))
        d = ImageDraw.Draw(img)
        d.rectangle((panel_w - 10, 0, panel_w + 4, h), fill=acc)
        font_obj, lines = _fit_title(d, text, font, panel_w - 80, int(h * 0.85), base)
        assert isinstance(font_obj, ImageFont.FreeTypeFont)  # load_font's sized fonts are FreeType ones
        y = (h - len(lines) * int(font_obj.size * 1.1)) // 2
        for line in lines:
            _outlined(d, (45, y), line, font_obj, (255, 255, 255))
            y += int(font_obj.size * 1.1)
        d.rectangle((45, y + 10, 45 + 120, y + 22), fill=acc)
    return img


def punchline(title: str) -> str:
    """The part of a title that reads at thumbnail size: "Why is the sky blue? The physics" -> first clause."""
    m = re.match(r"^(.{8,}?[?!:—-])\s+\S", title)
    head = m.group(1).rstrip(":—- ") if m else title
    return head if len(head.split()) >= 2 else title


def encode_jpeg(img: Image.Image) -> bytes:
    """JPEG under YouTube's 2 MB limit, stepping quality down if a busy picture needs it."""
    for quality in (92, 85, 75, 60, 45):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
        if buf.tell() < MAX_BYTES:
            return buf.getvalue()
    raise MediaError("thumbnail could not be encoded under YouTube's 2 MB limit")


def make_thumbnails(
    settings: Settings,
    storage: Storage,
    niche: NicheConfig,
    script: dict[str, Any],
    plan: RenderPlan,
    production_id: str,
    attempt: int = 1,
    feedback: Sequence[str] = (),
    count: int = 3,
) -> list[str]:
    """``count`` options under ``productions/<id>/thumbnails/``; returns their keys in display order."""
    title = str(script.get("title") or "").strip()
    if not title:
        raise PermanentError("the script has no title to put on the thumbnail")
    if not 1 <= count <= 6:
        raise PermanentError(f"thumbnail count must be 1..6, not {count}")
    nudge = nudge_from_feedback(feedback)
    font = find_font(settings, niche)  # the same font as the niche's stills
    palette = niche.palette
    accents = [c for c in sorted(palette, key=lambda c: -luminance(hex_rgb(c)))] + ["#FFD400", "#FFFFFF"]
    backgrounds = _backgrounds(storage, plan, count)
    fb = " | ".join(feedback)
    while len(backgrounds) < count:
        seed = seed_for(production_id, "thumb", attempt, fb, len(backgrounds))
        backgrounds.append(draw_still("", SIZE, palette, seed, font))
    keys = []
    # A redo rotates layouts and accents so even unchanged pictures give new options.
    shift = attempt - 1
    for i in range(count):
        layout = LAYOUTS[(i + shift) % len(LAYOUTS)]
        accent = nudge.accent or accents[(i + shift) % len(accents)]
        # Options differ in wording too: the punchy first clause, or the whole title on the band layout.
        text = title if layout == "band" else punchline(title)
        img = render_option(backgrounds[i], text, layout, accent, palette, nudge, font)
        key = ProductionKeys(production_id).thumbnail(attempt, i + 1)
        storage.put_bytes(key, encode_jpeg(img), "image/jpeg")
        keys.append(key)
    return keys
