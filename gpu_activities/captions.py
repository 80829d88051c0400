"""Word-level captions as an ASS file for libass.

Lines of ``words_per_line`` words (broken early at sentence ends and long pauses), each shown
from its first word to its last, with the word being spoken in the niche's highlight colour:
one Dialogue event per word interval, so the highlight moves exactly with the narration and
the line never flickers between words.  Sizes are given at 1080p in the niche file and scaled
to the output; Shorts (portrait) get large centred captions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.fonts import FontInfo

PAUSE_BREAK_S = 0.7  # a silence this long starts a new caption line
HOLD_S = 0.4  # how long a line stays after its last word when nothing follows
SHORTS_SCALE = 1.5


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


def _style_line(style: CaptionStyle, font: FontInfo, width: int, height: int, portrait: bool) -> str:
    scale = min(width, height) / 1080 if portrait else height / 1080
    size = style.font_size * scale * (SHORTS_SCALE if portrait else 1.0)
    outline = style.outline * scale * (SHORTS_SCALE if portrait else 1.0)
    centred = portrait or style.position == "center"
    alignment = 5 if centred else 2
    margin_v = 0 if centred else round(height * 0.07)
    margin_h = round(width * 0.06)
    bold = -1 if font.bold else 0
    return (
        f"Style: Default,{font.family},{size:.1f},{ass_colour(style.primary_colour)},"
        f"{ass_colour(style.highlight_colour)},{ass_colour(style.outline_colour)},&H80000000,"
        f"{bold},0,0,0,100,100,0,0,1,{outline:.1f},{outline * 0.4:.1f},{alignment},"
        f"{margin_h},{margin_h},{margin_v},1"
    )


def build_ass(
    words: Sequence[dict[str, Any]],
    style: CaptionStyle,
    width: int,
    height: int,
    font: FontInfo,
    *,
    portrait: bool | None = None,
    end_s: float | None = None,
) -> str:
    """The whole ASS document (one karaoke line at a time)."""
    portrait = height > width if portrait is None else portrait
    per_line = max(1, min(style.words_per_line, 4) if portrait else style.words_per_line)
    hi = ass_colour(style.highlight_colour)
    base = ass_colour(style.primary_colour)
    events: list[str] = []
    lines = group_lines(normalise_words(words), per_line)
    for li, line in enumerate(lines):
        next_start = lines[li + 1][0]["start"] if li + 1 < len(lines) else None
        line_end = line[-1]["end"] + HOLD_S
        if next_start is not None:
            line_end = min(line_end, next_start)
        if end_s is not None:
            line_end = min(line_end, end_s)
        texts = [w["word"].upper() if style.uppercase else w["word"] for w in line]
        for i, w in enumerate(line):
            start = w["start"]
            stop = line[i + 1]["start"] if i + 1 < len(line) else line_end
            if i == 0 and li > 0:
                start = max(start, lines[li - 1][-1]["end"])
            if stop - start < 0.01:
                continue
            shown = " ".join(f"{{\\c{hi}}}{t}{{\\c{base}}}" if j == i else t for j, t in enumerate(texts))
            events.append(f"Dialogue: 0,{ass_time(start)},{ass_time(stop)},Default,,0,0,0,,{shown}")
    header = [
        "[Script Info]",
        "; written by tubeflow gpu_activities.captions",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
        "MarginL, MarginR, MarginV, Encoding",
        _style_line(style, font, width, height, portrait),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    return "\n".join(header + events) + "\n"


def write_ass(path: Path, *args: Any, **kwargs: Any) -> Path:
    path.write_text(build_ass(*args, **kwargs), encoding="utf-8")
    return path


def shift_words(words: Sequence[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Words inside [start, end), re-timed so ``start`` is 0 (captions for a clip cut from the video)."""
    out = []
    for w in normalise_words(words):
        if w["end"] <= start or w["start"] >= end:
            continue
        out.append({"word": w["word"], "start": max(0.0, w["start"] - start), "end": min(end, w["end"]) - start})
    return out
