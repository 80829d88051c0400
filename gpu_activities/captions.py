"""Word-level captions as an ASS file for libass, placed by the renderer, in one of four styles.

Styles (``CaptionStyle.kind``, a per-channel setting):

- ``karaoke``: lines of ``words_per_line`` words, the word being spoken in the highlight colour
  (one Dialogue event per word interval, so the highlight moves exactly with the narration);
- ``word-pop``: one or two words at a time, larger, scaled in as they are spoken;
- ``boxed``: whole lines on a translucent box (readable over busy pictures);
- ``classic``: plain subtitle lines, mixed case, thin outline.

Why the renderer places every line itself (alignment 8, per-event margins, no libass wrapping)
instead of leaving it to one style alignment: it must know where each caption lands, to keep it
inside the platform's safe area (the player's controls on long-form; the Shorts title/channel
lines at the bottom and the action rail on the right) and off any text it drew into the picture
(title cards, the Shorts hook title).  Each line's box is measured with the same font file libass
uses (sized the way libass sizes fonts: ascender + descender = the ASS font size) and emitted as
data (:class:`CaptionDoc`, ``tubeflow.quality_report.TextBox``), which the quality report counts.
Sizes are given at 1080p in the niche file and scaled to the output; Shorts get larger captions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.fonts import FontInfo
from tubeflow.quality_report import CAPTION, LONG_FORM_SAFE, SHORTS_SAFE, TEXT, Rect, SafeMargins, TextBox

PAUSE_BREAK_S = 0.7  # a silence this long starts a new caption line
HOLD_S = 0.4  # how long a line stays after its last word when nothing follows
SHORTS_SCALE = 1.5
POP_SCALE = 1.25  # word-pop words are larger: there are only one or two of them
POP_IN_MS = 120
HOOK_S = 2.0  # a Short's hook title is on screen for its first two seconds
KINDS = ("karaoke", "word-pop", "boxed", "classic")


@dataclass(frozen=True)
class HookTitle:
    """Text the renderer burns over the start of a Short (a TEXT box: captions keep off it)."""

    text: str
    start: float = 0.0
    end: float = HOOK_S


@dataclass
class CaptionDoc:
    """The ASS document and every box it draws (captions and the hook title), in output pixels."""

    ass: str
    boxes: list[TextBox] = field(default_factory=list)


def style_from(data: dict[str, Any]) -> CaptionStyle:
    """A caption style stored in a plan (fields this version does not know are ignored)."""
    known = set(CaptionStyle.__dataclass_fields__)
    return CaptionStyle(**{k: v for k, v in data.items() if k in known})


def ass_colour(hex_colour: str, alpha: int = 0) -> str:
    """'#RRGGBB' -> '&HAABBGGRR' (ASS stores blue first; alpha 0 is opaque)."""
    h = hex_colour.strip().lstrip("#")
    if len(h) != 6 or any(c not in "0123456789abcdefABCDEF" for c in h):
        raise PermanentError(f"caption colour {hex_colour!r} is not #RRGGBB")
    r, g, b = h[0:2], h[2:4], h[4:6]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def ass_time(t: float) -> str:
    cs = max(0, round(t * 100))
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, c = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


def _clean(text: str) -> str:
    return text.replace("\\", "").replace("{", "(").replace("}", ")").replace("\n", " ").strip()


def normalise_words(words: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop empty words, sort by start, make end >= start."""
    out: list[dict[str, Any]] = []
    for w in words:
        text = _clean(str(w.get("word", "")))
        if not text:
            continue
        start = float(w["start"])
        out.append({"word": text, "start": start, "end": max(start, float(w["end"]))})
    out.sort(key=lambda w: w["start"])
    return out


def group_lines(words: Sequence[dict[str, Any]], per_line: int) -> list[list[dict[str, Any]]]:
    lines: list[list[dict[str, Any]]] = []
    cur: list[dict[str, Any]] = []
    for w in words:
        if cur and (len(cur) >= per_line or w["start"] - cur[-1]["end"] > PAUSE_BREAK_S):
            lines.append(cur)
            cur = []
        cur.append(w)
        if w["word"][-1] in ".!?":
            lines.append(cur)
            cur = []
    if cur:
        lines.append(cur)
    return lines


# ---------------------------------------------------------------- measuring like libass


@lru_cache(maxsize=32)
def _pil_font(path: str, em_px: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(path, em_px)


@lru_cache(maxsize=8)
def _em_per_size(path: str) -> float:
    """libass sizes a font so ascender + descender equal the ASS size; Pillow sizes the em square."""
    ascent, descent = _pil_font(path, 1000).getmetrics()
    return 1000.0 / max(1, int(ascent) + int(descent))


def text_width(text: str, font: FontInfo, size: float) -> float:
    em = max(1, round(size * _em_per_size(str(font.path))))
    return float(_pil_font(str(font.path), em).getlength(text)) * size * _em_per_size(str(font.path)) / em


# ---------------------------------------------------------------- where a caption may go


@dataclass(frozen=True)
class Look:
    """One style at one output size: what libass is told and what the measurement needs."""

    kind: str
    size: float
    outline: float
    shadow: float
    per_line: int
    uppercase: bool

    @property
    def pad(self) -> float:
        """Ink beyond the measured glyph box on each side: the outline (or the box padding), plus a
        little for side bearings Pillow and libass round differently (measured: within 3 px at 1080p)."""
        return self.outline + self.size * 0.03 + 1.0


def look_for(style: CaptionStyle, width: int, height: int, portrait: bool) -> Look:
    kind = style.kind if style.kind in KINDS else "karaoke"
    scale = min(width, height) / 1080 * (SHORTS_SCALE if portrait else 1.0)
    size = style.font_size * scale
    outline = style.outline * scale
    per_line = max(1, min(style.words_per_line, 4) if portrait else style.words_per_line)
    if kind == "word-pop":
        size, per_line = size * POP_SCALE, 2
    elif kind == "classic":
        size, outline = size * 0.85, outline * 0.5
    elif kind == "boxed":
        outline = size * 0.22  # BorderStyle 3: the outline width is the box's padding
    return Look(kind, size, outline, 0.0 if kind == "boxed" else outline * 0.4, per_line,
                style.uppercase and kind != "classic")  # fmt: skip


def _rows(texts: list[str], look: Look, font: FontInfo, max_w: float) -> tuple[list[list[int]], float]:
    """Split a line's words into one or two rows that fit ``max_w``; returns rows (word indexes), scale."""
    space = text_width(" ", font, look.size)
    widths = [text_width(t, font, look.size) for t in texts]

    def row_w(idx: list[int]) -> float:
        return sum(widths[i] for i in idx) + space * max(0, len(idx) - 1) + 2 * look.pad

    one = list(range(len(texts)))
    if row_w(one) <= max_w or len(texts) == 1:
        return [one], min(1.0, max_w / row_w(one))
    best = min(range(1, len(texts)), key=lambda k: max(row_w(one[:k]), row_w(one[k:])))
    rows = [one[:best], one[best:]]
    return rows, min(1.0, max_w / max(row_w(r) for r in rows))


def _candidates(zone: Rect, h: float, position: str) -> list[float]:
    """Top edges a box of height ``h`` may take inside ``zone``, the preferred one first."""
    lo, hi = zone.y, max(zone.y, zone.bottom - h)
    want = {"top": lo, "middle": (lo + hi) / 2, "center": (lo + hi) / 2}.get(position, hi)
    steps = max(1, int((hi - lo) / max(1.0, h / 4)))
    ys = [lo + (hi - lo) * k / steps for k in range(steps + 1)]
    return sorted(ys, key=lambda y: (abs(y - want), y))


def place(w: float, h: float, start: float, end: float, zone: Rect, position: str, avoid: Sequence[TextBox]) -> Rect:
    """The box nearest the preferred position inside ``zone`` that covers no drawn text on screen meanwhile."""
    return _place(w, h, start, end, zone, position, avoid)[1]


def _place(
    w: float, h: float, start: float, end: float, zone: Rect, position: str, avoid: Sequence[TextBox]
) -> tuple[float, Rect]:
    """:func:`place`, and how much drawn text the box covers there (0: none; else the least it can)."""
    x = zone.x + (zone.w - min(w, zone.w)) / 2
    live = [b.rect for b in avoid if b.start < end and b.end > start]
    best: tuple[float, Rect] | None = None
    for y in _candidates(zone, h, position):
        r = Rect(round(x, 1), round(y, 1), round(min(w, zone.w), 1), round(h, 1))
        hit = sum(r.intersection_area(t) for t in live)
        if hit == 0:
            return 0.0, r
        if best is None or hit < best[0]:
            best = (hit, r)
    assert best is not None
    return best


# A line that fits nowhere at its size off the drawn text (a Short's title card framed tight while
# the hook title holds the top) is set smaller before it is let cover any words.
SHRINK = (1.0, 0.85, 0.72)


# ---------------------------------------------------------------- the document


def _style_line(name: str, look: Look, style: CaptionStyle, font: FontInfo, colours: tuple[str, str, str, str],
                border: int) -> str:  # fmt: skip
    primary, secondary, outline, back = colours
    bold = -1 if font.bold else 0
    return (
        f"Style: {name},{font.family},{look.size:.1f},{primary},{secondary},{outline},{back},"
        f"{bold},0,0,0,100,100,0,0,{border},{look.outline:.1f},{look.shadow:.1f},8,0,0,0,1"
    )


def _event(start: float, end: float, style: str, box: Rect, width: int, look: Look, text: str) -> str:
    """One line at ``box`` (alignment 8: centred between the margins, top at MarginV)."""
    ml = max(0, round(box.x))
    mr = max(0, round(width - box.right))
    mv = max(0, round(box.y + look.pad))
    return f"Dialogue: 0,{ass_time(start)},{ass_time(end)},{style},,{ml},{mr},{mv},,{text}"


def _hook_event(hook: HookTitle, style: CaptionStyle, font: FontInfo, width: int, height: int, zone: Rect,
                portrait: bool) -> tuple[str, str, TextBox]:  # fmt: skip
    size = look_for(style, width, height, portrait).size * 1.05
    look = Look("hook", size, size * 0.3, 0.0, 99, True)
    texts = _clean(hook.text).upper().split() or ["…"]
    rows, scale = _rows(texts, look, font, zone.w)
    line_h = look.size * scale
    box_w = max(sum(text_width(texts[i], font, look.size) for i in r) + text_width(" ", font, look.size) * (len(r) - 1)
                for r in rows) * scale + 2 * look.pad  # fmt: skip
    box = Rect(round(zone.x + (zone.w - box_w) / 2, 1), round(zone.y, 1), round(box_w, 1),
               round(line_h * len(rows) + 2 * look.pad, 1))  # fmt: skip
    shown = "\\N".join(" ".join(texts[i] for i in r) for r in rows)
    tag = f"{{\\fad(0,200)\\fscx{scale * 100:.0f}\\fscy{scale * 100:.0f}}}" if scale < 1 else "{\\fad(0,200)}"
    st = _style_line(
        "Hook", look, style, font,
        (ass_colour(style.highlight_colour), ass_colour("#FFFFFF"), ass_colour("#000000", 0x40), "&H80000000"), 3,
    )  # fmt: skip
    ev = _event(hook.start, hook.end, "Hook", box, width, look, tag + shown)
    return st, ev, TextBox(TEXT, box, hook.start, hook.end, f"hook title {hook.text!r}")


def caption_doc(
    words: Sequence[dict[str, Any]],
    style: CaptionStyle,
    width: int,
    height: int,
    font: FontInfo,
    *,
    portrait: bool | None = None,
    end_s: float | None = None,
    margins: SafeMargins | None = None,
    avoid: Sequence[TextBox] = (),
    hook: HookTitle | None = None,
) -> CaptionDoc:
    """Every caption line placed inside the safe zone and off ``avoid`` (text drawn in the picture)."""
    portrait = height > width if portrait is None else portrait
    margins = margins or (SHORTS_SAFE if portrait else LONG_FORM_SAFE)
    zone = margins.zone(width, height)
    look = look_for(style, width, height, portrait)
    hi, base = ass_colour(style.highlight_colour), ass_colour(style.primary_colour)
    outline_c = ass_colour(style.outline_colour)
    border = 1
    if look.kind == "boxed":
        border, outline_c = 3, ass_colour("#000000", 0x60)
    styles = [_style_line("Default", look, style, font, (base, hi, outline_c, "&H80000000"), border)]
    events: list[str] = []
    boxes: list[TextBox] = []
    drawn = list(avoid)
    if hook is not None and hook.text.strip():
        st, ev, hook_box = _hook_event(hook, style, font, width, height, zone, portrait)
        styles.append(st)
        events.append(ev)
        boxes.append(hook_box)
        drawn.append(hook_box)
    lines = group_lines(normalise_words(words), look.per_line)
    for li, line in enumerate(lines):
        next_start = lines[li + 1][0]["start"] if li + 1 < len(lines) else None
        line_end = line[-1]["end"] + HOLD_S
        if next_start is not None:
            line_end = min(line_end, next_start)
        if end_s is not None:
            line_end = min(line_end, end_s)
        line_start = max(line[0]["start"], lines[li - 1][-1]["end"]) if li > 0 else line[0]["start"]
        if line_end - line_start < 0.01:
            continue
        texts = [w["word"].upper() if look.uppercase else w["word"] for w in line]
        rows, scale = _rows(texts, look, font, zone.w)
        space = text_width(" ", font, look.size)
        row_ws = [sum(text_width(texts[i], font, look.size) for i in r) + space * (len(r) - 1) for r in rows]
        tries = []
        for shrink in SHRINK:
            box_w = max(row_ws) * scale * shrink + 2 * look.pad
            box_h = look.size * scale * shrink * len(rows) + 2 * look.pad + look.shadow
            hit, box = _place(box_w, box_h, line_start, line_end, zone, style.position, drawn)
            tries.append((hit, box, scale * shrink))
            if hit == 0:
                break
        _, box, scale = next((t for t in tries if t[0] == 0), tries[0])
        boxes.append(TextBox(CAPTION, box, round(line_start, 3), round(line_end, 3), " ".join(texts)))
        fit = f"\\fscx{scale * 100:.0f}\\fscy{scale * 100:.0f}" if scale < 1 else ""
        breaks = {r[0] for r in rows[1:]}

        def join(parts: list[str], breaks: set[int] = breaks) -> str:
            return "".join(("\\N" if j in breaks else " " if j else "") + p for j, p in enumerate(parts))

        if look.kind == "karaoke":
            for i, w in enumerate(line):
                start = line_start if i == 0 else w["start"]
                stop = line[i + 1]["start"] if i + 1 < len(line) else line_end
                if stop - start < 0.01:
                    continue
                shown = join([f"{{\\c{hi}}}{t}{{\\c{base}}}" if j == i else t for j, t in enumerate(texts)])
                events.append(_event(start, stop, "Default", box, width, look, (f"{{{fit}}}" if fit else "") + shown))
        elif look.kind == "word-pop":
            full = scale * 100
            pop = f"{{\\fscx{full * 0.6:.0f}\\fscy{full * 0.6:.0f}\\t(0,{POP_IN_MS},\\fscx{full:.0f}\\fscy{full:.0f})}}"
            events.append(_event(line_start, line_end, "Default", box, width, look, pop + join(texts)))
        else:  # boxed, classic: the whole line for as long as it is spoken
            events.append(_event(line_start, line_end, "Default", box, width, look,
                                 (f"{{{fit}}}" if fit else "") + join(texts)))  # fmt: skip
    header = [
        "[Script Info]",
        "; written by tubeflow gpu_activities.captions",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",  # no automatic wrapping: the rows are decided (and measured) here
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
        "MarginL, MarginR, MarginV, Encoding",
        *styles,
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    return CaptionDoc("\n".join(header + events) + "\n", boxes)


def build_ass(
    words: Sequence[dict[str, Any]],
    style: CaptionStyle,
    width: int,
    height: int,
    font: FontInfo,
    **kwargs: Any,
) -> str:
    """The whole ASS document (see :func:`caption_doc` for the placement)."""
    return caption_doc(words, style, width, height, font, **kwargs).ass


def write_ass(path: Path, *args: Any, **kwargs: Any) -> Path:
    path.write_text(build_ass(*args, **kwargs), encoding="utf-8")
    return path


def write_captions(path: Path, *args: Any, **kwargs: Any) -> CaptionDoc:
    doc = caption_doc(*args, **kwargs)
    path.write_text(doc.ass, encoding="utf-8")
    return doc


def shift_words(words: Sequence[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Words inside [start, end), re-timed so ``start`` is 0 (captions for a clip cut from the video)."""
    out = []
    for w in normalise_words(words):
        if w["end"] <= start or w["start"] >= end:
            continue
        out.append({"word": w["word"], "start": max(0.0, w["start"] - start), "end": min(end, w["end"]) - start})
    return out
