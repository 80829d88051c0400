"""ASS caption building: line grouping, the four styles, scaling, placement in the safe zone off drawn text."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpu_activities.captions import (
    HookTitle,
    ass_colour,
    ass_time,
    build_ass,
    caption_doc,
    group_lines,
    normalise_words,
    shift_words,
)
from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.fonts import FontInfo
from tubeflow.quality_report import (
    LONG_FORM_SAFE,
    SHORTS_SAFE,
    TEXT,
    Rect,
    TextBox,
    TextLayout,
    caption_overlaps,
    captions_outside,
)

FONT = FontInfo(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"), "DejaVu Sans", True)


def words(text: str, gap: float = 0.0, start: float = 0.0) -> list[dict[str, float | str]]:
    out: list[dict[str, float | str]] = []
    t = start
    for w in text.split():
        out.append({"word": w, "start": round(t, 3), "end": round(t + 0.3, 3)})
        t += 0.35 + gap
    return out


def dialogues(ass: str) -> list[list[str]]:
    return [ln.split(",", 9) for ln in ass.splitlines() if ln.startswith("Dialogue:")]


def test_colour_and_time_formats() -> None:
    assert ass_colour("#FFD400") == "&H0000D4FF"
    assert ass_colour("#102030", alpha=0x80) == "&H80302010"
    assert ass_time(3725.456) == "1:02:05.46"
    with pytest.raises(PermanentError, match="#RRGGBB"):
        ass_colour("yellow")


def test_lines_break_on_count_sentence_and_pause() -> None:
    ws = normalise_words(words("one two three four five six seven. eight nine"))
    lines = group_lines(ws, 3)
    assert [[w["word"] for w in ln] for ln in lines] == [
        ["one", "two", "three"],
        ["four", "five", "six"],
        ["seven."],
        ["eight", "nine"],
    ]
    paused = normalise_words(words("a b", gap=1.0))
    assert len(group_lines(paused, 6)) == 2


def test_one_event_per_word_with_exactly_that_word_highlighted() -> None:
    style = CaptionStyle(words_per_line=4, highlight_colour="#FF0000")
    ass = build_ass(words("alpha beta gamma delta"), style, 1920, 1080, FONT)
    events = dialogues(ass)
    assert len(events) == 4
    hi = ass_colour("#FF0000")
    for i, ev in enumerate(events):
        text = ev[9]
        assert text.count(hi) == 1
        highlighted = text.split(hi + "}")[1].split("{")[0]
        assert highlighted == ["alpha", "beta", "gamma", "delta"][i]
    # Events tile the line without gaps: each ends where the next begins.
    assert all(events[i][2] == events[i + 1][1] for i in range(3))


def test_style_scales_with_height_and_position() -> None:
    style = CaptionStyle(font_size=64, outline=4.0, position="bottom", uppercase=True)
    small = build_ass(words("hello world"), style, 320, 180, FONT)
    line = next(ln for ln in small.splitlines() if ln.startswith("Style:")).split(",")
    assert abs(float(line[2]) - 64 * 180 / 1080) < 0.1
    assert line[18] == "8"  # every line is placed by the renderer: top centre at its own MarginV
    assert "HELLO" in small and "hello" not in small.split("[Events]")[1]
    zone = LONG_FORM_SAFE.zone(1920, 1080)
    tops = {}
    for pos in ("top", "middle", "center", "bottom"):
        (box,) = caption_doc(words("hi there"), CaptionStyle(position=pos), 1920, 1080, FONT).boxes
        assert zone.contains(box.rect), (pos, box.rect)
        tops[pos] = box.rect.y
    assert tops["top"] == zone.y and tops["middle"] == tops["center"]
    assert tops["top"] < tops["middle"] < tops["bottom"]
    assert abs(tops["bottom"] + box.rect.h - zone.bottom) < 1  # just above the player's controls


def test_shorts_captions_are_large_short_lines_inside_the_shorts_safe_zone() -> None:
    style = CaptionStyle(font_size=64, words_per_line=8)
    doc = caption_doc(words("one two three four five six seven eight"), style, 1080, 1920, FONT)
    st = next(ln for ln in doc.ass.splitlines() if ln.startswith("Style:")).split(",")
    assert float(st[2]) > 64
    assert all(len(ev[9].split(" ")) <= 4 for ev in dialogues(doc.ass))
    zone = SHORTS_SAFE.zone(1080, 1920)
    assert doc.boxes and all(zone.contains(b.rect) for b in doc.boxes)
    assert all(b.rect.right <= 1080 * 0.85 and b.rect.bottom <= 1920 * 0.8 for b in doc.boxes)


def test_captions_move_off_drawn_text_while_it_is_on_screen() -> None:
    zone = SHORTS_SAFE.zone(1080, 1920)
    # A card's body fills the lower part of the safe zone from 0 to 2 s.
    body = TextBox(TEXT, Rect(zone.x, 1200, zone.w, zone.bottom - 1200), 0.0, 2.0, "card body")
    ws = words("first line here. later line now", start=0.2) + words("after the card", start=2.5)
    doc = caption_doc(ws, CaptionStyle(position="bottom"), 1080, 1920, FONT, avoid=[body])
    layout = TextLayout(1080, 1920, [body, *doc.boxes], SHORTS_SAFE)
    assert caption_overlaps(layout) == [] and captions_outside(layout) == []
    during = [b for b in doc.boxes if b.start < 2.0]
    after = [b for b in doc.boxes if b.start >= 2.5]
    assert during and all(b.rect.bottom <= 1200 for b in during)
    assert after and all(abs(b.rect.bottom - zone.bottom) < 1 for b in after)  # back in their place


def test_hook_title_is_drawn_text_the_captions_keep_off() -> None:
    hook = HookTitle("Why the sky is blue", 0.0, 2.0)
    doc = caption_doc(words("one two three", start=0.1), CaptionStyle(position="top"), 1080, 1920, FONT, hook=hook)
    (title,) = [b for b in doc.boxes if b.kind == TEXT]
    assert title.end == 2.0 and "WHY THE SKY IS BLUE" in doc.ass.replace("\\N", " ")
    layout = TextLayout(1080, 1920, doc.boxes, SHORTS_SAFE)
    assert caption_overlaps(layout) == [] and captions_outside(layout) == []


@pytest.mark.parametrize("kind", ["karaoke", "word-pop", "boxed", "classic"])
def test_each_style_writes_its_own_events(kind: str) -> None:
    doc = caption_doc(words("alpha beta gamma delta"), CaptionStyle(kind=kind, words_per_line=4), 1920, 1080, FONT)
    events = dialogues(doc.ass)
    style = next(ln for ln in doc.ass.splitlines() if ln.startswith("Style: Default")).split(",")
    if kind == "karaoke":
        assert len(events) == 4 and len(doc.boxes) == 1
    elif kind == "word-pop":
        assert len(events) == 2 and all("\\t(" in ev[9] for ev in events) and len(doc.boxes) == 2
    else:
        assert len(events) == 1 and len(doc.boxes) == 1
    assert style[15] == ("3" if kind == "boxed" else "1")  # boxed: an opaque box behind the words


def test_text_cannot_inject_override_tags() -> None:
    ass = build_ass([{"word": "{\\pos(0,0)}x", "start": 0, "end": 1}], CaptionStyle(), 640, 360, FONT)
    assert "{\\pos" not in ass and "(\\pos" not in ass


def test_shift_words_for_a_clip() -> None:
    ws = words("a b c d e f")
    shifted = shift_words(ws, 0.7, 1.5)
    assert [w["word"] for w in shifted] == ["c", "d", "e"]
    assert shifted[0]["start"] == 0.0 and all(w["end"] <= 0.8 + 1e-9 for w in shifted)


def test_a_line_with_no_room_at_its_size_is_set_smaller_rather_than_over_drawn_words() -> None:
    """A Short's title card framed tight while the hook title holds the top leaves a gap lower than
    a caption line: the line is set smaller to fit it (85%, then 72%) before it may cover words."""
    zone = SHORTS_SAFE.zone(1080, 1920)
    ws = words("on its way through", start=0.2)
    (free,) = caption_doc(ws, CaptionStyle(), 1080, 1920, FONT).boxes
    look = free.rect.h  # the line at its own size

    def with_gap(gap: float) -> tuple[TextBox, str, list[TextBox]]:
        card = TextBox(TEXT, Rect(zone.x, zone.y, zone.w, zone.h - gap), 0.0, 2.0, "title card body")
        doc = caption_doc(ws, CaptionStyle(), 1080, 1920, FONT, avoid=[card])
        (line,) = doc.boxes
        return line, doc.ass, [card, line]

    line, ass, boxes = with_gap(look * 0.93)
    assert line.rect.h < look and "\\fscx85\\fscy85" in ass
    assert caption_overlaps(TextLayout(1080, 1920, boxes, SHORTS_SAFE)) == []
    line, ass, boxes = with_gap(look * 0.3)  # no room even at 72%: its own size, as little over the words as it can
    assert line.rect.h == look and "\\fscx" not in ass
    assert len(caption_overlaps(TextLayout(1080, 1920, boxes, SHORTS_SAFE))) == 1
