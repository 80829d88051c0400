"""Generated visuals: a still for every b-roll cue the library cannot answer.

Stills are drawn with Pillow in the niche's palette (gradient, a few soft shapes, the cue as a
caption card) at the plan's size, so a channel with an empty media library still gets a coherent
look.  Everything is derived from a seed, so the same production attempt redraws the same picture
(a retried activity is idempotent) while a redo after feedback gets a different one.
"""

from __future__ import annotations

import hashlib
import random
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from niches.config import NicheConfig
from tubeflow.settings import Settings


def find_font(settings: Settings | None = None) -> Path:
    """The project's one font lookup (tubeflow.media.fonts), shared with the burned captions."""
    from tubeflow.media.fonts import find_font as lookup

    return lookup(settings or Settings()).path


@lru_cache(maxsize=64)
def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def seed_for(*parts: object) -> int:
    """A stable seed from anything printable (production, attempt, part, slot, feedback)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (v / 255 for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def gradient(size: tuple[int, int], a: tuple[int, int, int], b: tuple[int, int, int], angle: float) -> Image.Image:
    """A linear gradient from ``a`` to ``b`` at ``angle`` degrees (cheap: one rotated 256-px ramp)."""
    w, h = size
    ramp = Image.linear_gradient("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=False)
    # Crop the centre of the rotated ramp so the corners are not the fill colour, then scale up.
    ramp = ramp.crop((48, 48, 208, 208)).resize(size, Image.Resampling.BICUBIC)
    return Image.composite(Image.new("RGB", (w, h), b), Image.new("RGB", (w, h), a), ramp)


def wrap_to_width(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_w: int
) -> list[str]:
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        trial = f"{line} {word}".strip()
        if not line or draw.textlength(trial, font=font) <= max_w:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


def draw_still(
    cue: str,
    size: tuple[int, int],
    palette: Sequence[str],
    seed: int,
    font_path: Path | None = None,
    heading: str = "",
) -> Image.Image:
    """One b-roll still: palette gradient, soft shapes, the cue on a translucent card."""
    rng = random.Random(seed)
    w, h = size
    colours = [hex_rgb(c) for c in palette] or [(29, 53, 87), (69, 123, 157)]
    dark = sorted(colours, key=luminance)
    a = dark[0]
    b = rng.choice(colours[1:] if len(colours) > 1 else colours)
    img = gradient(size, a, b, rng.uniform(0, 360))

    # Soft shapes on a separate layer, blurred: reads as "designed" rather than random.
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for _ in range(rng.randint(4, 8)):
        c = rng.choice(colours)
        alpha = rng.randint(40, 110)
        r = int(rng.uniform(0.08, 0.35) * h)
        x, y = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        shape = rng.choice(("disc", "ring", "bar"))
        if shape == "disc":
            d.ellipse((x - r, y - r, x + r, y + r), fill=(*c, alpha))
        elif shape == "ring":
            d.ellipse((x - r, y - r, x + r, y + r), outline=(*c, alpha + 60), width=max(2, r // 8))
        else:
            d.rounded_rectangle((x - 2 * r, y - r // 4, x + 2 * r, y + r // 4), radius=r // 4, fill=(*c, alpha))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(1, h // 120)))
    img = Image.alpha_composite(img.convert("RGBA"), layer)

    text = cue.strip() or heading.strip()
    if text:
        d = ImageDraw.Draw(img)
        font = load_font(str(font_path) if font_path else None, max(12, h // 14))
        small = load_font(str(font_path) if font_path else None, max(10, h // 26))
        lines = wrap_to_width(d, text[:160], font, int(w * 0.7))[:3]
        line_h = int(font.size * 1.25) if hasattr(font, "size") else h // 12
        box_h = line_h * len(lines) + (int(small.size * 1.6) if heading and hasattr(small, "size") else 0)
        top = int(h * rng.choice((0.1, 0.14, 0.28))) if box_h < h * 0.35 else int((h - box_h) / 3)
        pad = h // 30
        card = Image.new("RGBA", size, (0, 0, 0, 0))
        cd = ImageDraw.Draw(card)
        cd.rounded_rectangle(
            (int(w * 0.1) - pad, top - pad, int(w * 0.9) + pad, top + box_h + pad), radius=pad, fill=(0, 0, 0, 120)
        )
        img = Image.alpha_composite(img, card)
        d = ImageDraw.Draw(img)
        y = top
        if heading and hasattr(small, "size"):
            d.text((int(w * 0.1), y), heading.upper()[:60], font=small, fill=(*colours[-1], 255))
            y += int(small.size * 1.6)
        for line in lines:
            d.text((int(w * 0.1), y), line, font=font, fill=(255, 255, 255, 255))
            y += line_h
    return img.convert("RGB")


def make_still(
    out: Path,
    cue: str,
    size: tuple[int, int],
    palette: Sequence[str],
    seed: int,
    settings: Settings | None = None,
    heading: str = "",
    fact: str = "",
    niche: NicheConfig | None = None,
) -> Path:
    """Draw and save a still as JPEG (a 1080p PNG gradient is several MB; JPEG q90 is ~150 KB)."""
    img = draw_still(cue, size, palette, seed, find_font(settings), heading)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, "JPEG", quality=90, optimize=True)
    return out


def short_label(text: str, width: int = 40) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…")
