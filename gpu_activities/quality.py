"""Measure a rendered video: the figures of its quality report (tubeflow/quality_report.py).

Everything is measured, not assumed from what the renderer was asked to do: one FFmpeg decode of
the output gives loudness and true peak (ebur128), black and frozen stretches (blackdetect,
freezedetect) and scene changes (scdet); the plan gives the b-roll relevance scores; the
renderer's own text boxes give caption overlaps and captions outside the safe zone.

Scene changes, calibrated on the demo's render (1920x1080, 30 fps, cards, stills, a clip,
0.5 s cross-fades, Ken Burns on every still; see /work/notes/quality.md for the figures):
frames are sampled at 4 fps and 320 px wide with the caption bands blanked (karaoke captions
change every word and score like cuts; each place the renderer put caption lines is its own
band).  The weakest real change there (one title card cross-fading into a similar one) scored
2.5; Ken Burns motion and caption-free frames stayed at or below 1.25.  The threshold sits
between, at 2.0.  A cross-fade lights up two or three samples in a row, and a hard cut the
sample after it too (scdet then scores the new shot's own motion: up to 3.4 on a Short's tight
pan), so detections less than :data:`MERGE_S` apart are one change.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tubeflow.media.ffmpeg import (
    SCENE_FPS,
    measure_loudness,
    parse_blackdetect,
    parse_ebur128,
    parse_ebur128_peaks,
    parse_freezedetect,
    parse_scdet,
    run_ffmpeg,
    video_checks_command,
)
from tubeflow.media.probe import probe
from tubeflow.quality_report import (
    BLACK,
    BROLL_RELEVANCE,
    CAPTION,
    CAPTION_OUTSIDE_SAFE,
    CAPTION_OVERLAP,
    CUTS_PER_MINUTE,
    FROZEN,
    LOUDNESS,
    MAX_MOMENTS,
    MUSIC_UNDER_SPEECH,
    STATIC_SHOT,
    TRUE_PEAK,
    Moment,
    QualityFigure,
    QualityReport,
    QualityThresholds,
    TextLayout,
    caption_overlaps,
    captions_outside,
)
from tubeflow.render_plan import RenderPlan

SCENE_THRESHOLD = 2.0  # scdet score (0-100) that counts as a change of picture; see the docstring
MERGE_S = 0.75  # detections closer than this are one change (a 0.5 s cross-fade spans at most three samples)
# Where captions sit when the renderer has not said (fractions of the height), by caption position.
CAPTION_BANDS = {"bottom": (0.82, 0.97), "center": (0.43, 0.57), "top": (0.03, 0.18)}


def clock(t: float) -> str:
    """Seconds as a reviewer scrubs to them: 75.25 -> '1:15.2'."""
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m)}:{s:04.1f}"


@dataclass(frozen=True)
class VideoMeasurements:
    """What one decode of the file found (raw, before any threshold)."""

    duration_s: float
    width: int
    height: int
    loudness_lufs: float | None  # None: the file has no audio
    true_peak_dbtp: float | None
    peaks: list[tuple[float, float]]  # (end of each 100 ms window, its true peak dBFS)
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    scene_scores: list[tuple[float, float]]  # (time, scdet score) of every sampled frame


def caption_bands(layout: TextLayout | None, caption_position: str) -> list[tuple[float, float]]:
    """The bands of the frame captions occupy: one per place the renderer put caption lines (when
    it gave its boxes), else the caption position's band.  Lines in overlapping places share a
    band.  One band from the highest caption to the lowest would blank most of the picture when
    some lines move up off a card's words: the demo's long-form, captions at the bottom and
    sometimes the top, measured 44 s without a cut and 37 s frozen with the middle 85% masked."""
    if layout is not None and layout.height > 0:
        spans = sorted(
            (max(0.0, b.rect.y / layout.height - 0.01), min(1.0, b.rect.bottom / layout.height + 0.01))
            for b in layout.boxes
            if b.kind == CAPTION
        )
        bands: list[tuple[float, float]] = []
        for top, bottom in spans:
            if bands and top <= bands[-1][1]:
                bands[-1] = (bands[-1][0], max(bands[-1][1], bottom))
            else:
                bands.append((top, bottom))
        if bands:
            return bands
    band = CAPTION_BANDS.get(caption_position)
    return [band] if band else []


def measure_file(
    video: Path, *, masks: Sequence[tuple[float, float]] = (), cancel: threading.Event | None = None
) -> VideoMeasurements:
    info = probe(video)
    cmd = video_checks_command(video, with_audio=info.has_audio, masks=masks)
    stderr = run_ffmpeg(cmd.argv(), what=f"quality checks of {video.name}", cancel=cancel)
    lufs: float | None = None
    peak: float | None = None
    peaks: list[tuple[float, float]] = []
    if info.has_audio:
        lufs, peak = parse_ebur128(stderr)
        peaks = parse_ebur128_peaks(stderr)
    black = parse_blackdetect(stderr)
    return VideoMeasurements(
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        loudness_lufs=lufs,
        true_peak_dbtp=peak,
        peaks=peaks,
        black=black,
        frozen=minus(parse_freezedetect(stderr, info.duration_s), black),
        scene_scores=parse_scdet(stderr),
    )


def scene_changes(
    scores: Sequence[tuple[float, float]], threshold: float = SCENE_THRESHOLD, merge_s: float = MERGE_S
) -> list[float]:
    """Times where the picture changes: the first sample of each run of detections, a run being
    detections less than ``merge_s`` apart.  Two detections ``merge_s`` apart have two quiet
    samples between them, so they are two changes: merging them too hid a hard cut to another
    picture (the demo's second Short, 4.5 s, its highest score) behind the one 1.2 s before it.
    The sample after the first is left out: scdet scores the *change* in frame difference, the
    first frame has no difference, so the second one scores the camera's whole motion as a cut."""
    changes: list[float] = []
    last = -1e9
    for t, score in scores:
        if score < threshold or t < 1.5 / SCENE_FPS:
            continue
        if t - last >= merge_s - 1e-6:
            changes.append(t)
        last = t
    return changes


def minus(intervals: Sequence[tuple[float, float]], remove: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``intervals`` with the stretches in ``remove`` cut out (a black stretch is also a frozen
    one to freezedetect; it is reported once, as black)."""
    out = list(intervals)
    for ra, rb in remove:
        nxt: list[tuple[float, float]] = []
        for a, b in out:
            if rb <= a or ra >= b:
                nxt.append((a, b))
                continue
            if a < ra:
                nxt.append((a, ra))
            if rb < b:
                nxt.append((rb, b))
        out = nxt
    return [(a, b) for a, b in out if b - a > 1e-3]


def shots(changes: Sequence[float], duration_s: float) -> list[Moment]:
    bounds = [0.0, *[c for c in changes if 0.0 < c < duration_s], duration_s]
    return [Moment(round(a, 3), round(b, 3)) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


# --- the figures -------------------------------------------------------------------------------


def loudness_figure(m: VideoMeasurements, th: QualityThresholds) -> QualityFigure:
    want = f"{th.loudness_lufs:g} ± {th.loudness_tolerance_lu:g} LUFS"
    if m.loudness_lufs is None:
        return QualityFigure(LOUDNESS, None, "LUFS", want, None, "Not measured: the video has no sound track.")
    ok = abs(m.loudness_lufs - th.loudness_lufs) <= th.loudness_tolerance_lu
    if ok:
        msg = f"Integrated loudness is {m.loudness_lufs:g} LUFS, within {want}."
    else:
        how = "quieter" if m.loudness_lufs < th.loudness_lufs else "louder"
        msg = (
            f"Integrated loudness is {m.loudness_lufs:g} LUFS, outside {want}: the whole video plays "
            f"{how} than YouTube's reference, so viewers reach for the volume."
        )
    return QualityFigure(LOUDNESS, m.loudness_lufs, "LUFS", want, ok, msg, None if ok else 0.0)


def true_peak_figure(m: VideoMeasurements, th: QualityThresholds) -> QualityFigure:
    want = f"≤ {th.max_true_peak_dbtp:g} dBTP"
    if m.true_peak_dbtp is None:
        return QualityFigure(TRUE_PEAK, None, "dBTP", want, None, "Not measured: the video has no sound track.")
    if m.true_peak_dbtp <= th.max_true_peak_dbtp:
        return QualityFigure(TRUE_PEAK, m.true_peak_dbtp, "dBTP", want, True, f"True peak {m.true_peak_dbtp:g} dBTP.")
    over = [(t, p) for t, p in m.peaks if p > th.max_true_peak_dbtp]
    moments = _runs([t for t, _ in over], step=0.1)
    at = moments[0].start if moments else None
    where = f" first at {clock(at)}" if at is not None else ""
    msg = (
        f"True peak reaches {m.true_peak_dbtp:g} dBTP (limit {want}){where}: the sound will clip "
        "after YouTube's re-encode there, heard as a crackle."
    )
    return QualityFigure(TRUE_PEAK, m.true_peak_dbtp, "dBTP", want, False, msg, at, moments)


def _runs(times: Sequence[float], step: float) -> list[Moment]:
    """Consecutive 100 ms frame-log windows (ending at ``times``) joined into moments."""
    out: list[Moment] = []
    for t in times:
        start = max(0.0, round(t - step, 3))
        if out and start <= out[-1].end + 1e-6:
            out[-1] = Moment(out[-1].start, round(t, 3))
        else:
            out.append(Moment(start, round(t, 3)))
    return out


def pacing_figures(m: VideoMeasurements, th: QualityThresholds) -> list[QualityFigure]:
    changes = scene_changes(m.scene_scores)
    all_shots = shots(changes, m.duration_s)
    want = f"≤ {th.max_static_shot_s:g} s"
    per_min = round(len(changes) / m.duration_s * 60.0, 2) if m.duration_s > 0 else 0.0
    cuts = QualityFigure(
        CUTS_PER_MINUTE,
        per_min,
        "per minute",
        "for information",
        True,
        f"{len(changes)} changes of picture in {m.duration_s:.1f} s.",
        moments=[Moment(c, c) for c in changes],
    )
    if not all_shots:
        return [QualityFigure(STATIC_SHOT, None, "s", want, None, "Not measured: the video has no frames."), cuts]
    longest = max(all_shots, key=lambda s: (s.duration, -s.start))
    too_long = [s for s in all_shots if s.duration > th.max_static_shot_s + 1e-6]
    value = round(longest.duration, 2)
    if not too_long:
        msg = f"The longest shot without a change of picture is {value:g} s, from {clock(longest.start)}."
        return [QualityFigure(STATIC_SHOT, value, "s", want, True, msg, moments=[longest]), cuts]
    msg = (
        f"No cut or new picture for {value:g} s from {clock(longest.start)} (limit {want}); "
        f"{len(too_long)} shot(s) over the limit, where viewers tend to drift away."
    )
    return [QualityFigure(STATIC_SHOT, value, "s", want, False, msg, longest.start, too_long), cuts]


def _stretch_figure(
    name: str, intervals: Sequence[tuple[float, float]], limit: float, what: str, why: str
) -> QualityFigure:
    moments = [Moment(round(a, 3), round(b, 3)) for a, b in intervals]
    total = round(sum(x.duration for x in moments), 3)
    want = f"≤ {limit:g} s"
    if total <= limit + 1e-9:
        return QualityFigure(name, total, "s", want, True, f"No {what} frames.", moments=moments)
    first = moments[0]
    msg = f"{total:g} s of {what} frames (limit {want}), first from {clock(first.start)} to {clock(first.end)}: {why}"
    return QualityFigure(name, total, "s", want, False, msg, first.start, moments)


def broll_figure(plan: RenderPlan | None, th: QualityThresholds) -> QualityFigure:
    want = f"≥ {th.min_broll_relevance:g}"
    if plan is None:
        return QualityFigure(BROLL_RELEVANCE, None, "", want, None, "Not measured: no render plan was given.")
    items = plan.all_items()
    if not items:
        return QualityFigure(BROLL_RELEVANCE, None, "", want, None, "Not measured: the plan has no pictures.")
    worst = min(items, key=lambda m: m.score)
    weak = sorted((m for m in items if m.score < th.min_broll_relevance), key=lambda m: m.start)
    mean = sum(m.score for m in items) / len(items)
    moments = [Moment(m.start, m.end) for m in weak]
    if not weak:
        msg = f"All {len(items)} pictures match what is said (lowest {worst.score:g}, mean {mean:.3f})."
        return QualityFigure(BROLL_RELEVANCE, worst.score, "", want, True, msg)
    first = weak[0]
    about = first.description or first.cue or first.key
    msg = (
        f"{len(weak)} of {len(items)} pictures score below {th.min_broll_relevance:g}; the first, at "
        f"{clock(first.start)} ({about!r}, score {first.score:g}), may not match what is said there "
        "or was used in a recent video."
    )
    return QualityFigure(BROLL_RELEVANCE, worst.score, "", want, False, msg, first.start, moments)


def music_figure(stems: tuple[Path, Path] | None, plan: RenderPlan | None, th: QualityThresholds) -> QualityFigure:
    """Music bed against the voice, both as rendered (after ducking), from the soundtrack's stems.

    The final mix cannot be split back into voice and music, so this needs the soundtrack renderer
    to keep its two stems (the ducked bed and the voice, before the sum).  It does not yet: until
    then the figure is reported as not measured, with the reason.
    """
    want = f"≤ {th.max_music_under_speech_db:g} dB"
    if plan is not None and not plan.music_key:
        return QualityFigure(MUSIC_UNDER_SPEECH, None, "dB", want, None, "Not measured: the video has no music.")
    if stems is None:
        msg = "Not measured: the soundtrack renderer does not keep the voice and music stems yet."
        return QualityFigure(MUSIC_UNDER_SPEECH, None, "dB", want, None, msg)
    voice, bed = stems
    voice_lufs, _ = measure_loudness(voice)
    bed_lufs, _ = measure_loudness(bed)
    value = round(bed_lufs - voice_lufs, 1)
    ok = value <= th.max_music_under_speech_db
    msg = (
        f"Music sits {-value:g} dB under the voice."
        if ok
        else f"Music is only {-value:g} dB under the voice (want at least {-th.max_music_under_speech_db:g} dB): "
        "words get hard to follow."
    )
    return QualityFigure(MUSIC_UNDER_SPEECH, value, "dB", want, ok, msg, None if ok else 0.0)


def caption_figures(layout: TextLayout | None, th: QualityThresholds) -> list[QualityFigure]:
    overlap_want = f"≤ {th.max_caption_overlaps}"
    outside_want = f"≤ {th.max_captions_outside_safe}"
    if layout is None:
        # Counted 0 (nothing was found) but not passed: nobody looked.
        why = "Not measured: the renderer does not report where it drew text yet."
        return [
            QualityFigure(CAPTION_OVERLAP, 0, "", overlap_want, None, why),
            QualityFigure(CAPTION_OUTSIDE_SAFE, 0, "", outside_want, None, why),
        ]
    overlaps = caption_overlaps(layout)
    outside = captions_outside(layout)
    overlap_msg = ""
    if overlaps:
        o = overlaps[0]
        overlap_msg = (
            f"{len(overlaps)} caption(s) cover drawn text; the first, at {clock(o.start)}, puts "
            f"{o.caption.label!r} over {o.text.label!r}, so neither can be read."
        )
    outside_msg = ""
    if outside:
        b = outside[0]
        outside_msg = (
            f"{len(outside)} caption(s) reach outside the safe zone; the first, at {clock(b.start)} "
            f"({b.label!r}), sits where the player or the Shorts buttons draw over it."
        )
    return [
        _counted(CAPTION_OVERLAP, [Moment(x.start, x.end) for x in overlaps], th.max_caption_overlaps,
                 "No caption covers drawn text.", overlap_msg),
        _counted(CAPTION_OUTSIDE_SAFE, [Moment(x.start, x.end) for x in outside], th.max_captions_outside_safe,
                 "Every caption is in the safe zone.", outside_msg),
    ]  # fmt: skip


def _counted(name: str, found: list[Moment], limit: int, ok: str, failed: str) -> QualityFigure:
    """A figure that counts defects: passed up to ``limit``, else failed at the first one's moment."""
    want = f"≤ {limit}"
    if len(found) <= limit:
        return QualityFigure(name, len(found), "", want, True, ok)
    return QualityFigure(name, len(found), "", want, False, failed, found[0].start, found)


def report_from(
    m: VideoMeasurements,
    *,
    video: str,
    thresholds: QualityThresholds,
    plan: RenderPlan | None = None,
    layout: TextLayout | None = None,
    music_stems: tuple[Path, Path] | None = None,
) -> QualityReport:
    """Judge measurements against a channel's thresholds (pure, apart from the music stems)."""
    figures = [
        loudness_figure(m, thresholds),
        true_peak_figure(m, thresholds),
        *pacing_figures(m, thresholds),
        _stretch_figure(
            BLACK, m.black, thresholds.max_black_s, "black", "the screen goes dark as if the video had ended."
        ),
        _stretch_figure(
            FROZEN,
            m.frozen,
            thresholds.max_frozen_s,
            "frozen",
            "the picture stops moving as if playback had stalled.",
        ),
        music_figure(music_stems, plan, thresholds),
        broll_figure(plan, thresholds),
        *caption_figures(layout, thresholds),
    ]
    for f in figures:
        f.moments = f.moments[:MAX_MOMENTS]
    notes = [f"{f.name}: {f.message}" for f in figures if f.passed is None]
    return QualityReport(video, round(m.duration_s, 3), m.width, m.height, figures, notes)


def measure_video(
    path: Path,
    *,
    video: str = "long",
    thresholds: QualityThresholds | None = None,
    plan: RenderPlan | None = None,
    layout: TextLayout | None = None,
    caption_position: str = "bottom",
    music_stems: tuple[Path, Path] | None = None,
    cancel: threading.Event | None = None,
) -> QualityReport:
    """The quality report of one rendered file (the long-form or a Short)."""
    th = (thresholds or QualityThresholds()).for_video(video)
    m = measure_file(path, masks=caption_bands(layout, caption_position), cancel=cancel)
    return report_from(m, video=video, thresholds=th, plan=plan, layout=layout, music_stems=music_stems)


def measure_pacing(
    path: Path,
    *,
    max_shot_s: float = QualityThresholds.max_static_shot_s,
    caption_position: str = "bottom",
    layout: TextLayout | None = None,
    cancel: threading.Event | None = None,
) -> tuple[QualityFigure, QualityFigure]:
    """The longest static shot and the cuts per minute of a rendered file, judged against a
    channel's ``max_shot_s``: the same decode, caption masks and scene detection as the full
    report, for the pacing tests and ``bench/pacing.py``."""
    m = measure_file(path, masks=caption_bands(layout, caption_position), cancel=cancel)
    static, cuts = pacing_figures(m, QualityThresholds(max_static_shot_s=max_shot_s))
    return static, cuts
