"""ASS caption building: line grouping, karaoke highlight events, style scaling, Shorts layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpu_activities.captions import ass_colour, ass_time, build_ass, group_lines, normalise_words, shift_words
from niches.config import CaptionStyle
from tubeflow.errors import PermanentError
from tubeflow.media.fonts import FontInfo

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
    assert line[18] == "2"  # bottom centre
    assert "HELLO" in small and "hello" not in small.split("[Events]")[1]
    centred = build_ass(words("hi there"), CaptionStyle(position="center"), 1920, 1080, FONT)
    assert next(ln for ln in centred.splitlines() if ln.startswith("Style:")).split(",")[18] == "5"


def test_shorts_captions_are_large_centred_and_short_lines() -> None:
    style = CaptionStyle(font_size=64, words_per_line=8)
    ass = build_ass(words("one two three four five six seven eight"), style, 1080, 1920, FONT)
    st = next(ln for ln in ass.splitlines() if ln.startswith("Style:")).split(",")
    assert st[18] == "5" and float(st[2]) > 64
    assert all(len(ev[9].split(" ")) <= 4 for ev in dialogues(ass))


def test_text_cannot_inject_override_tags() -> None:
    ass = build_ass([{"word": "{\\pos(0,0)}x", "start": 0, "end": 1}], CaptionStyle(), 640, 360, FONT)
    assert "\\pos" not in ass


def test_shift_words_for_a_clip() -> None:
    ws = words("a b c d e f")
    shifted = shift_words(ws, 0.7, 1.5)
    assert [w["word"] for w in shifted] == ["c", "d", "e"]
    assert shifted[0]["start"] == 0.0 and all(w["end"] <= 0.8 + 1e-9 for w in shifted)
