"""Generated visuals: a designed title card for every part the library and stock cannot answer.

A card says what the part is about: the heading as a kicker, the visual query as the title, the
part's first fact underneath, and the niche icon that best fits what is said (ranked by meaning,
like b-roll; ``niches/<niche>/icons/``) on an accent disc, over a gradient of the niche palette with
a palette stripe along the bottom.  The niche's font (``font`` in the niche file) is used here and
on the thumbnails, so a channel with an empty media library still has one consistent look.
Each card also gets a portrait twin for native Shorts (icon above, heading and body stacked,
clear of the Shorts UI), and both say where they wrote their words, so the renderer keeps the
captions off them.
Everything derives from a seed, so the same attempt redraws the same picture (a retried activity
is idempotent) while a redo after feedback gets a different one.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from niches.config import NicheConfig
from tubeflow.render_plan import portrait_size
from tubeflow.settings import Settings


def find_font(settings: Settings | None = None, niche: NicheConfig | None = None) -> Path:
    """The niche's font (a file in the niche folder or a system font file name), else the project's
    one font lookup (tubeflow.media.fonts), shared with the burned captions."""
    from tubeflow.media.fonts import SYSTEM_FONT_DIRS
    from tubeflow.media.fonts import find_font as lookup

    if niche is not None and niche.font:
        own = Path(niche.folder) / niche.font
        if own.is_file():
            return own
        for root in SYSTEM_FONT_DIRS:
            hit = next(iter(sorted(root.rglob(Path(niche.font).name))), None) if root.is_dir() else None
            if hit is not None:
                return hit
    return lookup(settings or Settings()).path


ICON_INDEX = "index.yaml"


@lru_cache(maxsize=16)
def _icons(folder: str) -> tuple[tuple[Path, str], ...]:
    """(icon file, what it shows) from ``icons/index.yaml``; files not in the index go by their name."""
    import yaml

    root = Path(folder)
    if not root.is_dir():
        return ()
    try:
        index = yaml.safe_load((root / ICON_INDEX).read_text(encoding="utf-8")) if (root / ICON_INDEX).is_file() else {}
    except (yaml.YAMLError, OSError):
        index = {}
    index = index if isinstance(index, dict) else {}
    return tuple((p, str(index.get(p.name) or p.stem.replace("-", " "))) for p in sorted(root.glob("*.png")))


def pick_icon(niche: NicheConfig | None, about: str) -> Path | None:
    """The niche icon whose description best fits ``about`` (what the part says)."""
    if niche is None or not about.strip():
        return None
    icons = _icons(str(Path(niche.folder) / "icons"))
    if not icons:
        return None
    from activities.relevance import relevance

    sims = relevance(about, [text for _, text in icons])
    return icons[sims.index(max(sims))][0]


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


def _soft_shapes(img: Image.Image, colours: list[tuple[int, int, int]], rng: random.Random, n: int) -> Image.Image:
    w, h = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for _ in range(n):
        c = rng.choice(colours)
        alpha = rng.randint(25, 70)
        r = int(rng.uniform(0.15, 0.45) * h)
        x, y = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        if rng.random() < 0.5:
            d.ellipse((x - r, y - r, x + r, y + r), fill=(*c, alpha))
        else:
            d.ellipse((x - r, y - r, x + r, y + r), outline=(*c, alpha + 40), width=max(2, r // 10))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(1, h // 60)))
    return Image.alpha_composite(img.convert("RGBA"), layer)


def _tinted(icon: Image.Image, colour: tuple[int, int, int], size: int, alpha: float = 1.0) -> Image.Image:
    mask = icon.convert("RGBA").getchannel("A").resize((size, size), Image.Resampling.LANCZOS)
    if alpha < 1.0:
        mask = mask.point(lambda v: int(v * alpha))
    out = Image.new("RGBA", (size, size), (*colour, 255))
    out.putalpha(mask)
    return out


@dataclass(frozen=True)
class _Inks:
    """A card's colours picked from the palette: the two darkest for the background, a bright accent."""

    colours: list[tuple[int, int, int]]
    dark: tuple[int, int, int]
    dark2: tuple[int, int, int]
    accent: tuple[int, int, int]
    light: tuple[int, int, int]

    @classmethod
    def pick(cls, palette: Sequence[str], rng: random.Random) -> _Inks:
        colours = [hex_rgb(c) for c in palette] or [(29, 53, 87), (69, 123, 157)]
        by_light = sorted(colours, key=luminance)
        dark, dark2 = by_light[0], by_light[1] if len(by_light) > 1 else by_light[0]
        brights = [c for c in colours if luminance(c) > 0.35] or [by_light[-1]]
        return cls(colours, dark, dark2, rng.choice(brights), by_light[-1])


def _font(font_path: Path | None, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return load_font(str(font_path) if font_path else None, max(10, px))


def draw_still(
    cue: str,
    size: tuple[int, int],
    palette: Sequence[str],
    seed: int,
    font_path: Path | None = None,
    heading: str = "",
    fact: str = "",
    icon: Path | None = None,
    caption_band: tuple[float, float] | None = None,
) -> Image.Image:
    """One still: a palette background, and with a cue a title card (kicker, title, fact, icon disc).

    Text stays inside the title-safe area (Ken Burns zooms into the edges) and out of
    ``caption_band`` (fractions of the height where the burned captions sit).
    """
    rng = random.Random(seed)
    ink = _Inks.pick(palette, rng)
    img = gradient(size, ink.dark, ink.dark2, rng.choice((20.0, 60.0, 120.0, 160.0)))
    img = _soft_shapes(img, ink.colours, rng, rng.randint(2, 4))

    title = cue.strip() or heading.strip()
    if not title:
        return img.convert("RGB")
    title = title[0].upper() + title[1:]
    d = _draw_emblem(img, ImageDraw.Draw(img), ink, title[0], icon, font_path)
    _draw_text_column(d, size, ink, title, heading, fact, caption_band, font_path)
    _stripe(d, size, ink, bottom=True)
    return img.convert("RGB")


def _stripe(d: ImageDraw.ImageDraw, size: tuple[int, int], ink: _Inks, bottom: bool) -> None:
    """The palette as a stripe along an edge, the channel's signature on every card."""
    w, h = size
    stripe = max(3, h // 90) if w > h else max(3, w // 90)
    seg = w / len(ink.colours)
    y0 = h - stripe if bottom else 0
    for k, c in enumerate(ink.colours):
        d.rectangle((int(k * seg), y0, int((k + 1) * seg), y0 + stripe), fill=(*c, 255))


Box = list[float]  # [x, y, w, h] as fractions of the picture


def _ink_box(layer: Image.Image) -> Box | None:
    """The bounding box of everything drawn on a transparent layer, as fractions."""
    bbox = layer.getchannel("A").getbbox()
    if bbox is None:
        return None
    w, h = layer.size
    x0, y0, x1, y1 = bbox
    return [round(x0 / w, 4), round(y0 / h, 4), round((x1 - x0) / w, 4), round((y1 - y0) / h, 4)]


def text_boxes(
    cue: str,
    size: tuple[int, int],
    palette: Sequence[str],
    seed: int,
    font_path: Path | None = None,
    heading: str = "",
    fact: str = "",
    caption_band: tuple[float, float] | None = None,
) -> list[Box]:
    """Where :func:`draw_still` writes its words (the renderer keeps captions off them)."""
    title = cue.strip() or heading.strip()
    if not title:
        return []
    rng = random.Random(seed)
    ink = _Inks.pick(palette, rng)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    _draw_text_column(ImageDraw.Draw(layer), size, ink, title[0].upper() + title[1:], heading, fact, caption_band,
                      font_path)  # fmt: skip
    box = _ink_box(layer)
    return [box] if box else []


# ---------------------------------------------------------------- the portrait twin (native Shorts)

# Fractions of a 9:16 card.  The Shorts UI covers the top 10 %, the bottom 20 % and the right 15 %;
# the hook title takes the top of what is left for the first two seconds and the captions its
# bottom, so the card's words live in the band between (icon above, heading and body stacked).
P_COL = (0.08, 0.82)  # text column, inside the action rail
P_ICON_Y, P_ICON_R = 0.32, 0.07  # icon disc centre and radius (of the height)
P_TEXT_TOP, P_TEXT_BOTTOM = 0.41, 0.685


def cased_like(title: str, source: str) -> str:
    """``title`` with the capitals ``source`` gives its words mid-sentence.

    Card titles are the b-roll cues, which are lowercased for searching; a viewer must still read
    "British physicist John", not "john".  Only words written capitalised inside a sentence of
    ``source`` (names, not sentence openers) are changed."""
    proper: dict[str, str] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", source):
        for word in re.findall(r"[^\W\d_][\w'-]*", sentence)[1:]:
            if word[0].isupper() and not word.isupper():
                proper.setdefault(word.lower(), word)
    return re.sub(r"[^\W\d_][\w'-]*", lambda m: proper.get(m.group(0), m.group(0)), title)


def draw_portrait_card(
    cue: str,
    size: tuple[int, int],
    palette: Sequence[str],
    seed: int,
    font_path: Path | None = None,
    heading: str = "",
    fact: str = "",
    icon: Path | None = None,
) -> tuple[Image.Image, list[Box]]:
    """The same card drawn for 9:16 (same seed, palette and icon): returns it and its two text
    boxes (heading, body) as fractions."""
    rng = random.Random(seed)
    ink = _Inks.pick(palette, rng)
    img = gradient(size, ink.dark, ink.dark2, rng.choice((20.0, 60.0, 120.0, 160.0)))
    img = _soft_shapes(img, ink.colours, rng, rng.randint(3, 5))
    w, h = size
    d = ImageDraw.Draw(img)
    _stripe(d, size, ink, bottom=False)
    _stripe(d, size, ink, bottom=True)
    title = cue.strip() or heading.strip()
    if not title:
        return img.convert("RGB"), []
    title = title[0].upper() + title[1:]
    # Icon disc, centred over the text column.
    cx, cy, r = int(w * (P_COL[0] + P_COL[1]) / 2), int(h * P_ICON_Y), int(h * P_ICON_R)
    on_disc = ink.dark if luminance(ink.accent) > 0.5 else (255, 255, 255)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*ink.accent, 235))
    d.ellipse((cx - r - h // 120, cy - r - h // 120, cx + r + h // 120, cy + r + h // 120), outline=(*ink.light, 90),
              width=max(1, h // 480))  # fmt: skip
    if icon is not None and icon.is_file():
        glyph = Image.open(icon)
        px = int(r * 1.25)
        img.alpha_composite(_tinted(glyph, on_disc, px), (cx - px // 2, cy - px // 2))
        d = ImageDraw.Draw(img)
    else:
        d.text((cx, cy), title[0], font=_font(font_path, int(r * 1.2)), fill=(*on_disc, 255), anchor="mm")
    x0, x1 = int(w * P_COL[0]), int(w * P_COL[1])
    col_w, mid = x1 - x0, (x0 + x1) // 2
    y, bottom = int(h * P_TEXT_TOP), int(h * P_TEXT_BOTTOM)
    head = Image.new("RGBA", size, (0, 0, 0, 0))
    hd = ImageDraw.Draw(head)
    if heading.strip() and heading.strip().lower() != title.lower():
        readable = ink.accent if abs(luminance(ink.accent) - luminance(ink.dark)) > 0.3 else ink.light
        kicker = _font(font_path, w // 28)
        for line in wrap_to_width(hd, heading.strip().upper()[:48], kicker, col_w)[:2]:
            hd.text((mid, y), line, font=kicker, fill=(*readable, 255), anchor="mt")
            y += int(w / 28 * 1.35)
        y += int(w * 0.015)
    big = _font(font_path, w // 12)
    for line in wrap_to_width(hd, title[:80], big, col_w)[:3]:
        hd.text((mid, y), line, font=big, fill=(255, 255, 255, 255), anchor="mt")
        y += int(w / 12 * 1.18)
    boxes = [b for b in [_ink_box(head)] if b]
    y += int(w * 0.02)
    d.rectangle((mid - int(w * 0.06), y, mid + int(w * 0.06), y + max(2, h // 300)), fill=(*ink.accent, 255))
    y += int(w * 0.045)
    body = Image.new("RGBA", size, (0, 0, 0, 0))
    if fact.strip():
        bd = ImageDraw.Draw(body)
        small = _font(font_path, w // 24)
        step = int(w / 24 * 1.35)
        room = max(0, (bottom - y) // max(1, step))
        lines = wrap_to_width(bd, fact.strip(), small, col_w)
        for n, line in enumerate(lines[:room]):
            last = n == room - 1 and len(lines) > room
            bd.text((mid, y), line.rstrip(".,;") + "…" if last else line, font=small, fill=(*ink.light, 235),
                    anchor="mt")  # fmt: skip
            y += step
        box = _ink_box(body)
        if box:
            boxes.append(box)
    img.alpha_composite(head)
    img.alpha_composite(body)
    return img.convert("RGB"), boxes


def _draw_emblem(
    img: Image.Image, d: ImageDraw.ImageDraw, ink: _Inks, letter: str, icon: Path | None, font_path: Path | None
) -> ImageDraw.ImageDraw:
    """Right: the icon (or the title's first letter) on an accent disc, and a faint large copy of
    the icon bleeding off the edge.  Returns the drawing context to go on with."""
    w, h = img.size
    dark, accent, light = ink.dark, ink.accent, ink.light
    cx, cy, r = int(w * 0.72), int(h * 0.47), int(h * 0.23)
    if icon is not None and icon.is_file():
        glyph = Image.open(icon)
        ghost = _tinted(glyph, light, int(h * 0.9), 0.06)
        img.alpha_composite(ghost, (int(w * 0.62), int(h * 0.25)))
        d = ImageDraw.Draw(img)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*accent, 235))
        on_disc = dark if luminance(accent) > 0.5 else (255, 255, 255)
        size_px = int(r * 1.25)
        img.alpha_composite(_tinted(glyph, on_disc, size_px), (cx - size_px // 2, cy - size_px // 2))
    else:
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*accent, 235))
        on_disc = dark if luminance(accent) > 0.5 else (255, 255, 255)
        d.text((cx, cy), letter, font=_font(font_path, int(r * 1.2)), fill=(*on_disc, 255), anchor="mm")
    d.ellipse((cx - r - h // 60, cy - r - h // 60, cx + r + h // 60, cy + r + h // 60), outline=(*light, 90),
              width=max(1, h // 240))  # fmt: skip
    return d


def _draw_text_column(
    d: ImageDraw.ImageDraw,
    size: tuple[int, int],
    ink: _Inks,
    title: str,
    heading: str,
    fact: str,
    caption_band: tuple[float, float] | None,
    font_path: Path | None,
) -> None:
    """Left: kicker, accent rule, title, fact (below the captions' band when they would meet)."""
    w, h = size
    dark, accent, light = ink.dark, ink.accent, ink.light
    x0, col_w = int(w * 0.1), int(w * 0.47)
    band = caption_band or (1.0, 1.0)
    y = int(h * (0.12 if band[0] < 0.6 else 0.18))
    if heading.strip() and heading.strip().lower() != title.lower():
        readable = accent if abs(luminance(accent) - luminance(dark)) > 0.3 else light
        d.text((x0, y), heading.strip().upper()[:48], font=_font(font_path, h // 28), fill=(*readable, 255))
        y += int(h / 28 * 1.7)
    d.rectangle((x0, y, x0 + int(w * 0.07), y + max(2, h // 120)), fill=(*accent, 255))
    y += int(h * 0.045)
    big = _font(font_path, h // 11)
    for line in wrap_to_width(d, title[:80], big, col_w)[:3]:
        d.text((x0, y), line, font=big, fill=(255, 255, 255, 255))
        y += int(h / 11 * 1.15)
    if not fact.strip():
        return
    y += int(h * 0.03)
    if band[0] * h <= y + h / 27 * 1.45 * 2 and y < band[1] * h:
        y = int(band[1] * h + h * 0.02)  # jump below the captions' band
    small = _font(font_path, h // 27)
    lines = wrap_to_width(d, fact.strip(), small, col_w)
    room = max(1, int((min(h * 0.92, band[0] * h if y < band[0] * h else h * 0.92) - y) // (h / 27 * 1.45)))
    lines = lines[: min(4, room) + (len(lines) > min(4, room))]
    for n, line in enumerate(lines[: min(4, room)]):
        last = n == min(4, room) - 1 and len(lines) > min(4, room)
        shown = line.rstrip(".,;") + "…" if last else line
        d.text((x0, y), shown, font=small, fill=(*light, 235))
        y += int(h / 27 * 1.45)


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
    portrait: bool = False,
) -> Path:
    """Draw and save a still as JPEG (a 1080p PNG gradient is several MB; JPEG q90 is ~150 KB).

    With ``portrait`` the card's 9:16 twin is saved beside it (:func:`portrait_name`) and a
    :func:`card_name` sidecar says where both wrote their words (``MediaItem.card``)."""
    cue = cased_like(cue, fact)
    icon = pick_icon(niche, f"{cue}. {fact}")
    band = None
    if niche is not None:  # keep the card's text out of where this niche burns its captions
        band = {"middle": (0.4, 0.6), "center": (0.4, 0.6), "top": (0.0, 0.2)}.get(niche.caption_style.position,
                                                                                   (0.8, 1.0))  # fmt: skip
    font = find_font(settings, niche)
    img = draw_still(cue, size, palette, seed, font, heading, fact, icon, band)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, "JPEG", quality=90, optimize=True)
    if portrait:
        twin, boxes = draw_portrait_card(cue, portrait_size(*size), palette, seed, font, heading, fact, icon)
        twin.save(out.with_name(portrait_name(out.name)), "JPEG", quality=90, optimize=True)
        card = {"text": text_boxes(cue, size, palette, seed, font, heading, fact, band),
                "portrait": portrait_name(out.name), "portrait_text": boxes}  # fmt: skip
        out.with_name(card_name(out.name)).write_text(json.dumps(card), encoding="utf-8")
    return out


def portrait_name(name: str) -> str:
    """The file name of a card's 9:16 twin (a local file name; its storage key comes from tubeflow.keys)."""
    return f"{Path(name).stem}-9x16.jpg"


def card_name(name: str) -> str:
    return f"{Path(name).stem}.card.json"


def short_label(text: str, width: int = 40) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…")
