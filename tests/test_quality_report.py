"""The quality report flags what a reviewer would see: each defect planted in tiny generated
media (320x180, 15 fps, a few seconds) is found at its moment, and a clean clip passes.

The caption checks run on hand-built text boxes: the renderer does not report its boxes yet,
so these tests pin the data shape it must emit and the checks over it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gpu_activities.quality import (
    VideoMeasurements,
    caption_bands,
    measure_video,
    minus,
    report_from,
    scene_changes,
    shots,
)
from tests.mediagen import Shot, slideshow_clip
from tubeflow.media.ffmpeg import video_checks_command
from tubeflow.quality_report import (
    BLACK,
    BROLL_RELEVANCE,
    CAPTION,
    CAPTION_OUTSIDE_SAFE,
    CAPTION_OVERLAP,
    FROZEN,
    LONG_FORM_SAFE,
    LOUDNESS,
    SHORTS_SAFE,
    STATIC_SHOT,
    TEXT,
    TRUE_PEAK,
    QualityReport,
    QualityThresholds,
    Rect,
    TextBox,
    TextLayout,
)
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan

FOUR_SHOTS: list[Shot] = [("pan", 1.5, 1), ("pan", 1.5, 2), ("pan", 1.5, 3), ("pan", 1.5, 4)]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("quality")
    return {
        "clean": slideshow_clip(d / "clean.mp4", FOUR_SHOTS),
        "static": slideshow_clip(d / "static.mp4", [("pan", 6.0, 1), ("pan", 1.0, 2)]),
        "clipped": slideshow_clip(d / "clipped.mp4", FOUR_SHOTS, clip_at=3.0),
        "black": slideshow_clip(d / "black.mp4", [("pan", 1.5, 1), ("black", 1.0, 0), *FOUR_SHOTS[1:3]]),
        "frozen": slideshow_clip(d / "frozen.mp4", [("pan", 1.5, 1), ("still", 2.0, 2), ("pan", 1.5, 3)]),
    }


def _failed(report: QualityReport) -> set[str]:
    return {f.name for f in report.failures()}


def test_clean_clip_passes_every_measured_figure(media: dict[str, Path]) -> None:
    r = measure_video(media["clean"])
    assert r.passed, [f.message for f in r.failures()]
    assert r.figure(LOUDNESS).value == pytest.approx(-14.0, abs=0.5)
    peak = r.figure(TRUE_PEAK).value
    assert peak is not None and peak < -6
    # the three hard cuts are found where they are, and nothing else (the pans are not cuts)
    assert [round(m.start, 2) for m in r.figure("cuts_per_minute").moments] == [1.5, 3.0, 4.5]
    assert r.figure(STATIC_SHOT).value == pytest.approx(1.5, abs=0.3)
    assert r.figure(BLACK).value == 0 and r.figure(FROZEN).value == 0
    # what cannot be measured is said, not passed off as a pass
    assert r.figure(CAPTION_OVERLAP).passed is None and "does not report" in r.figure(CAPTION_OVERLAP).message


def test_six_second_static_shot_is_flagged_with_its_start(media: dict[str, Path]) -> None:
    r = measure_video(media["static"])
    assert _failed(r) == {STATIC_SHOT}
    f = r.figure(STATIC_SHOT)
    assert f.value == pytest.approx(6.0, abs=0.3)
    assert f.at_s == pytest.approx(0.0, abs=0.3)
    assert "6 s" in f.message and "0:00.0" in f.message


def test_static_limit_is_tighter_for_shorts(media: dict[str, Path]) -> None:
    """A 2.5 s shot is fine in long-form (3.5 s) and too long in a Short (2.0 s)."""
    m = VideoMeasurements(5.0, 180, 320, -14.0, -3.0, [], [], [], [(2.5, 30.0)])
    assert report_from(m, video="long", thresholds=QualityThresholds()).figure(STATIC_SHOT).passed
    short = report_from(m, video="short-0", thresholds=QualityThresholds.for_shorts())
    assert short.figure(STATIC_SHOT).passed is False and short.figure(STATIC_SHOT).at_s == 0.0


def test_clipped_peak_is_flagged_at_the_burst(media: dict[str, Path]) -> None:
    r = measure_video(media["clipped"])
    assert _failed(r) == {TRUE_PEAK}
    f = r.figure(TRUE_PEAK)
    assert f.value is not None and f.value > -1.0
    assert f.at_s is not None and 2.8 <= f.at_s <= 3.1
    assert "0:02.9" in f.message or "0:03.0" in f.message or "0:02.8" in f.message


def test_black_second_is_flagged_once_as_black_not_also_as_frozen(media: dict[str, Path]) -> None:
    r = measure_video(media["black"])
    assert _failed(r) == {BLACK}
    f = r.figure(BLACK)
    assert f.value == pytest.approx(1.0, abs=0.1)
    assert f.at_s == pytest.approx(1.5, abs=0.1)


def test_frozen_stretch_is_flagged(media: dict[str, Path]) -> None:
    r = measure_video(media["frozen"])
    assert _failed(r) == {FROZEN}
    f = r.figure(FROZEN)
    # the still holds 1.5-3.5 s; x264 refines the first few frames after the cut, so it reads
    # as frozen a little after the cut
    assert f.at_s is not None and 1.5 <= f.at_s <= 2.0
    assert f.value is not None and 1.3 <= f.value <= 2.0


def test_scene_changes_merge_a_cross_fade_and_ignore_motion() -> None:
    scores = [(0.25, 1.2), (1.0, 2.4), (1.25, 13.0), (1.5, 2.1), (3.0, 1.9), (4.0, 8.0)]
    assert scene_changes(scores) == [1.0, 4.0]
    # A cut, the sample after it (the new shot's motion), two quiet samples, the next cut: two
    # changes (the demo's second Short hid a cut to another picture, its highest score, this way).
    two_cuts = [(3.5, 3.1), (3.75, 2.2), (4.0, 0.4), (4.25, 0.6), (4.5, 8.8), (4.75, 2.7)]
    assert scene_changes(two_cuts) == [3.5, 4.5]
    # The second sample scores the first shot's whole motion (scdet has no earlier difference).
    assert scene_changes([(0.0, 0.0), (0.25, 2.7), (0.5, 0.3), (1.25, 4.2)]) == [1.25]
    assert [(s.start, s.end) for s in shots([1.0, 4.0], 5.0)] == [(0.0, 1.0), (1.0, 4.0), (4.0, 5.0)]
    assert minus([(0.0, 3.0)], [(1.0, 2.0)]) == [(0.0, 1.0), (2.0, 3.0)]


def test_checks_command_masks_captions_after_blackdetect() -> None:
    graph = video_checks_command(Path("v.mp4"), with_audio=True, masks=[(0.8, 0.95)]).filter_complex
    assert graph.index("blackdetect") < graph.index("drawbox") < graph.index("freezedetect") < graph.index("scdet")
    two = video_checks_command(Path("v.mp4"), with_audio=True, masks=[(0.05, 0.15), (0.8, 0.95)]).filter_complex
    assert two.count("drawbox") == 2 and "y=ih*0.05:w=iw:h=ih*0.1:" in two
    assert "ebur128=peak=true" in graph
    assert "ebur128" not in video_checks_command(Path("v.mp4"), with_audio=False).filter_complex


# --- caption boxes (what the renderer must emit) ----------------------------------------------


def _card_layout() -> TextLayout:
    """A 1080x1920 Short: a card's heading and body drawn from 0 to 4 s, and captions."""
    heading = TextBox(TEXT, Rect(90, 500, 900, 220), 0.0, 4.0, "card 1 heading 'Rayleigh scattering grows'")
    body = TextBox(TEXT, Rect(90, 760, 900, 300), 0.0, 4.0, "card 1 body")
    return TextLayout(1080, 1920, [heading, body], SHORTS_SAFE)


def test_caption_forced_onto_card_text_is_flagged_at_its_moment() -> None:
    layout = _card_layout()
    layout.boxes.append(TextBox(CAPTION, Rect(140, 600, 760, 120), 1.2, 2.0, "Now the surprising part."))
    r = report_from(_quiet(4.0), video="short-0", thresholds=QualityThresholds.for_shorts(), layout=layout)
    f = r.figure(CAPTION_OVERLAP)
    assert f.passed is False and f.value == 1 and f.at_s == 1.2
    assert "Now the surprising part." in f.message and "heading" in f.message
    assert r.figure(CAPTION_OUTSIDE_SAFE).passed is True


def test_caption_clear_of_text_in_place_or_time_is_not_an_overlap() -> None:
    layout = _card_layout()
    layout.boxes += [
        TextBox(CAPTION, Rect(140, 1080, 800, 120), 0.5, 1.5, "touching the body's bottom edge"),  # y 1060 = body end
        TextBox(CAPTION, Rect(140, 600, 800, 120), 4.0, 5.0, "after the card"),  # same place, later
    ]
    r = report_from(_quiet(5.0), video="short-0", thresholds=QualityThresholds.for_shorts(), layout=layout)
    assert r.figure(CAPTION_OVERLAP).passed is True and r.figure(CAPTION_OVERLAP).value == 0


@pytest.mark.parametrize(
    ("rect", "why"),
    [
        (Rect(140, 1600, 800, 120), "under the Shorts title and channel lines (bottom 20%)"),
        (Rect(300, 1100, 760, 120), "under the action rail (right 15%)"),
        (Rect(20, 1100, 600, 120), "past the left margin"),
    ],
)
def test_caption_outside_the_safe_zone_is_flagged(rect: Rect, why: str) -> None:
    layout = TextLayout(1080, 1920, [TextBox(CAPTION, rect, 2.5, 3.0, why)], SHORTS_SAFE)
    f = report_from(_quiet(4.0), video="short-0", thresholds=QualityThresholds.for_shorts(), layout=layout).figure(
        CAPTION_OUTSIDE_SAFE
    )
    assert f.passed is False and f.at_s == 2.5 and why in f.message


def test_captions_in_two_places_are_masked_as_two_bands() -> None:
    """The long-form moves a caption line to the top where it would cover a card's words: one band
    from the top line to the bottom one blanked 85% of the demo's picture (44 s 'without a cut',
    37 s 'frozen').  Each place is its own band; lines in overlapping places share one."""
    layout = TextLayout(1920, 1080, [], LONG_FORM_SAFE)
    layout.boxes += [
        TextBox(CAPTION, Rect(600, 892, 700, 80), 0.0, 2.0, "bottom"),
        TextBox(CAPTION, Rect(500, 74, 900, 80), 2.0, 3.0, "top"),
        TextBox(CAPTION, Rect(500, 100, 900, 80), 3.0, 4.0, "a little lower"),
        TextBox(TEXT, Rect(100, 300, 900, 300), 0.0, 4.0, "card heading"),
    ]
    bands = caption_bands(layout, "bottom")
    top, bottom = (74 / 1080 - 0.01, 180 / 1080 + 0.01), (892 / 1080 - 0.01, 972 / 1080 + 0.01)
    assert bands == [pytest.approx(top), pytest.approx(bottom)]
    assert caption_bands(None, "bottom") == [(0.82, 0.97)] and caption_bands(None, "nowhere") == []


def test_layout_and_report_survive_json() -> None:
    layout = _card_layout()
    layout.boxes.append(TextBox(CAPTION, Rect(140, 600, 800, 120), 1.2, 2.0, "x"))
    assert TextLayout.from_json(layout.to_json()) == layout
    assert caption_bands(layout, "bottom") == [pytest.approx((600 / 1920 - 0.01, 720 / 1920 + 0.01))]
    r = report_from(_quiet(4.0), video="short-0", thresholds=QualityThresholds.for_shorts(), layout=layout)
    d = json.loads(r.to_json())
    assert d["passed"] is False
    assert QualityReport.from_dict(d) == r


def test_broll_scores_come_from_the_plan() -> None:
    items = [
        MediaItem("a.jpg", "image", "library", "sky", 0.0, 2.0, score=0.12, description="blue sky"),
        MediaItem("b.jpg", "image", "stock", "prism", 2.0, 4.0, score=-0.88, description="a prism"),
    ]
    plan = RenderPlan(320, 180, 15, 4.0, [PlanPart(0, "hook", 0.0, 4.0, items)])
    f = report_from(_quiet(4.0), video="long", thresholds=QualityThresholds(), plan=plan).figure(BROLL_RELEVANCE)
    assert f.passed is False and f.value == -0.88 and f.at_s == 2.0 and "a prism" in f.message
    items[1].score = 0.05
    assert (
        report_from(_quiet(4.0), video="long", thresholds=QualityThresholds(), plan=plan).figure(BROLL_RELEVANCE).passed
    )


def _quiet(duration: float) -> VideoMeasurements:
    """Measurements of a clip with a cut every second, -14 LUFS, nothing wrong."""
    cuts = [(float(t), 20.0) for t in range(1, int(duration))]
    return VideoMeasurements(duration, 1080, 1920, -14.0, -3.0, [], [], [], cuts)


def test_music_under_speech_from_the_soundtrack_stems(tmp_path: Path) -> None:
    """Bed 6 dB under the voice masks words (limit 12 dB under); 20 dB under is fine; no stems, no figure."""
    from tests.mediagen import tone_wav

    voice = tone_wav(tmp_path / "voice.wav", 2.0, 440.0, volume=0.4)
    loud_bed = tone_wav(tmp_path / "loud.wav", 2.0, 220.0, volume=0.2)
    soft_bed = tone_wav(tmp_path / "soft.wav", 2.0, 220.0, volume=0.04)
    plan = RenderPlan(320, 180, 15, 2.0, [], music_key="niches/science/music/bed.mp3")
    th = QualityThresholds()
    loud = report_from(_quiet(2.0), video="long", thresholds=th, plan=plan, music_stems=(voice, loud_bed))
    f = loud.figure("music_under_speech_db")
    assert f.passed is False and f.value is not None and -8.0 < f.value < -4.0
    soft = report_from(_quiet(2.0), video="long", thresholds=th, plan=plan, music_stems=(voice, soft_bed))
    assert soft.figure("music_under_speech_db").passed is True
    unmeasured = report_from(_quiet(2.0), video="long", thresholds=th, plan=plan).figure("music_under_speech_db")
    assert unmeasured.passed is None and "stems" in unmeasured.message


# --- the activity's path: storage, the plan, the renderer's boxes as it reports them ------------


def test_every_planted_defect_is_flagged_through_the_activity(tmp_path: Path) -> None:
    """One real clip with four defects, measured the way the GPU activity does (keys in storage,
    the plan, the renderer's boxes in its own ``{t0, t1, x, y, w, h, kind}`` shape): a black second
    at 1.5 s, a 6 s shot without a cut from 2.5 s, a clipped burst at 9.5 s, and a caption forced
    onto a card's text at 4 s.  Each is flagged at its moment, and nothing else is."""
    from gpu_activities.adapter_base import GpuAdapter
    from gpu_activities.quality_activities import measure_request
    from tests.conftest import tiny_settings
    from tubeflow.quality_report import QualityRequest
    from tubeflow.storage import open_storage

    settings = tiny_settings(tmp_path)
    storage = open_storage(settings)
    clip = slideshow_clip(
        tmp_path / "defects.mp4", [("pan", 1.5, 1), ("black", 1.0, 0), ("pan", 6.0, 2), ("pan", 1.5, 3)], clip_at=9.5
    )
    storage.put_file("productions/q1/video.mp4", clip, "video/mp4")
    items = [MediaItem("a.jpg", "image", "library", "sky", 0.0, 10.0, score=0.1, description="blue sky")]
    plan = RenderPlan(320, 180, 15, 10.0, [PlanPart(0, "hook", 0.0, 10.0, items)])
    storage.put_bytes("productions/q1/plan-v1.json", plan.to_json().encode(), "application/json")
    boxes = [
        {"t0": 3.0, "t1": 8.5, "x": 40, "y": 40, "w": 240, "h": 50, "kind": "card", "text": "Rayleigh scattering"},
        {"t0": 4.0, "t1": 5.0, "x": 60, "y": 50, "w": 200, "h": 30, "kind": "caption", "text": "the surprising part"},
        {"t0": 8.6, "t1": 9.0, "x": 60, "y": 130, "w": 200, "h": 25, "kind": "caption", "text": "clear of the card"},
    ]
    req = QualityRequest(
        "q1", "long", "productions/q1/video.mp4", "productions/q1/plan-v1.json", "productions/q1/quality.json",
        text_boxes=boxes,
    )  # fmt: skip
    r = measure_request(GpuAdapter(settings, storage), req)

    assert _failed(r) == {BLACK, STATIC_SHOT, TRUE_PEAK, CAPTION_OVERLAP}, [f.message for f in r.failures()]
    assert r.figure(BLACK).at_s == pytest.approx(1.5, abs=0.1)
    assert r.figure(STATIC_SHOT).at_s == pytest.approx(2.5, abs=0.3)
    assert r.figure(STATIC_SHOT).value == pytest.approx(6.0, abs=0.3)
    peak_at = r.figure(TRUE_PEAK).at_s
    assert peak_at is not None and 9.3 <= peak_at <= 9.6
    overlap = r.figure(CAPTION_OVERLAP)
    assert overlap.value == 1 and overlap.at_s == 4.0 and "the surprising part" in overlap.message
    assert "Rayleigh scattering" in overlap.message
    assert r.figure(CAPTION_OUTSIDE_SAFE).passed is True and r.figure(BROLL_RELEVANCE).passed is True
    # stored where the workflow said, the same report it returned
    stored = QualityReport.from_dict(json.loads(storage.get_text("productions/q1/quality.json")))
    assert stored == r and r.key == "productions/q1/quality.json" and not r.passed
    assert "Black frames" in r.reason() and "at 0:04.0" in r.reason()
    # Without boxes in the request, the layout the renderer stored beside the video is read.
    from tubeflow.keys import text_layout_key
    from tubeflow.quality_report import LONG_FORM_SAFE, layout_from_render_boxes

    layout = layout_from_render_boxes(boxes, 320, 180, LONG_FORM_SAFE)
    assert layout is not None
    storage.put_bytes(text_layout_key("productions/q1/video.mp4"), layout.to_json().encode(), "application/json")
    again = measure_request(GpuAdapter(settings, storage), dataclasses.replace(req, text_boxes=None))
    assert again.figure(CAPTION_OVERLAP).value == 1 and again.figure(CAPTION_OVERLAP).at_s == 4.0
    assert again.figure(CAPTION_OUTSIDE_SAFE).passed is True


def test_render_boxes_as_objects_and_dicts_give_one_layout() -> None:
    from dataclasses import dataclass

    from tubeflow.quality_report import LONG_FORM_SAFE, boxes_as_dicts, layout_from_render_boxes

    @dataclass
    class Box:  # the renderer may hand over dataclasses rather than dicts
        t0: float
        t1: float
        x: float
        y: float
        w: float
        h: float
        kind: str

    objects = [Box(0.0, 1.0, 10, 10, 50, 20, "caption"), Box(0.0, 1.0, 10, 10, 50, 20, "hook-title")]
    dicts = boxes_as_dicts(objects)
    assert dicts is not None and dicts[0] == {
        "t0": 0.0,
        "t1": 1.0,
        "x": 10,
        "y": 10,
        "w": 50,
        "h": 20,
        "kind": "caption",
    }
    a = layout_from_render_boxes(objects, 320, 180, LONG_FORM_SAFE)
    b = layout_from_render_boxes(dicts, 320, 180, LONG_FORM_SAFE)
    assert a == b and a is not None
    assert [x.kind for x in a.boxes] == [CAPTION, TEXT]
    assert layout_from_render_boxes(None, 320, 180, LONG_FORM_SAFE) is None
    assert boxes_as_dicts(None) is None
    # a box without its coordinates is skipped, not guessed
    assert layout_from_render_boxes([{"t0": 0, "t1": 1, "kind": "caption"}], 320, 180, LONG_FORM_SAFE) == TextLayout(
        320, 180, [], LONG_FORM_SAFE
    )


def test_absent_boxes_count_zero_but_are_not_passed(media: dict[str, Path]) -> None:
    r = measure_video(media["clean"])
    for name in (CAPTION_OVERLAP, CAPTION_OUTSIDE_SAFE):
        f = r.figure(name)
        assert (f.value, f.passed) == (0, None) and f.message.startswith("Not measured")
    assert r.passed  # not measured does not fail the report; it is noted
    assert any(n.startswith(CAPTION_OVERLAP) for n in r.notes)


def test_channel_thresholds_reach_the_report() -> None:
    """A channel's limits (channel settings) judge its reports; a Short takes the Shorts pace."""
    from tubeflow.channel_settings import parse_settings

    cs = parse_settings({"quality_max_static_shot_s": "8", "quality_max_static_shot_shorts_s": "1.5"})
    th = cs.quality_thresholds()
    m = VideoMeasurements(10.0, 320, 180, -14.0, -3.0, [], [], [], [(6.0, 30.0)])  # a 6 s first shot
    assert report_from(m, video="long", thresholds=th).figure(STATIC_SHOT).passed is True
    assert report_from(m, video="long", thresholds=QualityThresholds()).figure(STATIC_SHOT).passed is False
    short = report_from(m, video="short-0", thresholds=th.for_video("short-0")).figure(STATIC_SHOT)
    assert short.passed is False and short.threshold == "≤ 1.5 s"


def test_report_survives_the_database_snapshot_and_render_results_without_boxes() -> None:
    """The status's outputs go to the database as JSON and come back (the page's fallback); a
    render result that carries no boxes (today's renderer) means "not reported", not "none drawn"."""
    from dataclasses import dataclass

    from tubeflow.contracts import Outputs, RenderResult
    from tubeflow.quality_report import render_boxes

    r = report_from(_quiet(4.0), video="long", thresholds=QualityThresholds())
    back = Outputs.from_dict(json.loads(json.dumps(Outputs(quality=r, shorts_quality=[r]).to_dict())))
    assert back.quality == r and back.shorts_quality == [r] and back.quality.figures[0].label == "Loudness"
    assert render_boxes(RenderResult("v.mp4", 4.0, 320, 180, 1, 1)) is None

    @dataclass
    class WithBoxes:
        text_boxes: list[dict[str, float | str]]

    boxes = render_boxes(WithBoxes([{"t0": 0, "t1": 1, "x": 1, "y": 2, "w": 3, "h": 4, "kind": "caption"}]))
    assert boxes == [{"t0": 0, "t1": 1, "x": 1, "y": 2, "w": 3, "h": 4, "kind": "caption"}]
