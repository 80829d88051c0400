"""The render timeline in whole frames: which picture is on screen when, and where segments cut.

Everything is computed in frame numbers, not seconds, so that segments rendered by different
attempts (or different workers) line up exactly and the joined video has precisely
``round((narration + tail) * fps)`` frames.  Segment cuts never fall inside a cross-fade: a
segment's filter graph then always sees whole transitions and the join is invisible.

Pacing: a plan item on screen longer than the plan's ``max_shot_s`` allows is split into shots,
each another framing of the same picture (or another crop of the same clip, its time running
on), joined by hard cuts; viewers read a punch-in as a new shot.  The b-roll stage plans enough
pictures that this only happens when the sources ran out (or for plans made before pacing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tubeflow.render_plan import MediaItem, RenderPlan, shot_count

TAIL_S = 0.5  # silence after the last word so the video does not end mid-breath


@dataclass(frozen=True)
class Visual:
    """One picture on the output timeline, frames [start, end)."""

    index: int
    key: str
    kind: str  # image | video | color
    start: int
    end: int
    fade_in: int  # frames shared with the previous visual (cross-fade); 0 = hard cut
    part: int
    media_duration: float = 0.0
    lead: int = 0  # frames of the item that lie before the timeline start (a Short cut mid-clip)
    hold_of: int | None = None  # a looping Short's last visual: visual ``hold_of``'s first frame, held
    hold_length: int = 0  # that held visual's own length (frames + lead): its move, and so its first frame
    item: int = 0  # which plan item (in timeline order): the motion varies from picture to picture
    shot: int = 0  # which shot of that item: each one frames the picture differently
    offset: int = 0  # frames of the item shown before this shot (a clip's time runs on across shots)
    focus: tuple[float, float] = (0.5, 0.5)  # the picture's subject, from the plan
    # A generated title card: framed on the plan's focus (never re-estimated from the file), so the
    # text layout follows its move from the plan alone (gpu_activities/text_boxes.py).
    card: bool = False

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Segment:
    index: int
    start: int  # first frame
    end: int  # one past the last frame

    @property
    def frames(self) -> int:
        return self.end - self.start


def total_frames(duration_s: float, fps: int, tail_s: float = TAIL_S) -> int:
    return max(1, round((duration_s + tail_s) * fps))


def _timed_items(plan: RenderPlan) -> list[tuple[int, MediaItem, float]]:
    """(part index, item, start seconds); items without times share their part's span evenly."""
    out: list[tuple[int, MediaItem, float]] = []
    for part in plan.parts:
        n = len(part.items)
        for j, item in enumerate(part.items):
            if item.end > item.start:
                start = item.start
            else:
                start = part.start + (part.end - part.start) * j / max(n, 1)
            out.append((part.index, item, start))
    out.sort(key=lambda t: t[2])
    return out


def build_visuals(plan: RenderPlan, frames: int) -> list[Visual]:
    """Lay the plan's items end to end over ``frames`` frames, cross-fading between parts."""
    items = _timed_items(plan)
    starts: list[tuple[int, MediaItem, int]] = []
    for part, item, start_s in items:
        f = 0 if not starts else min(max(round(start_s * plan.fps), 0), frames)
        if starts and f <= starts[-1][2]:
            continue  # shorter than a frame after rounding: never visible
        starts.append((part, item, f))
    if not starts:
        return [Visual(0, "", "color", 0, frames, 0, 0)]
    lead = max(0, -round(items[0][2] * plan.fps)) if items and items[0][1] is starts[0][1] else 0
    bounds = [s[2] for s in starts] + [frames]
    lo = [bounds[i] for i in range(len(starts))]
    hi = [bounds[i + 1] for i in range(len(starts))]
    fades = [0] * len(starts)
    want = round(plan.transition_s * plan.fps) if plan.transition not in ("", "none") else 0
    for i in range(1, len(starts)):
        if starts[i][0] == starts[i - 1][0] or want < 2:
            continue
        # Both sides must keep at least half of their own length outside the fade.
        t = min(want, (bounds[i] - bounds[i - 1]) // 2, (bounds[i + 1] - bounds[i]) // 2)
        if t < 2:
            continue
        hi[i - 1] = bounds[i] + (t - t // 2)
        lo[i] = bounds[i] - t // 2
        fades[i] = t
    out: list[Visual] = []
    for i, (part, item, _) in enumerate(starts):
        # Shots are cut on the item's own span (cross-fades excluded), in equal whole frames.
        n = shot_count((bounds[i + 1] - bounds[i]) / plan.fps, plan.max_shot_s)
        cuts = [bounds[i] + (bounds[i + 1] - bounds[i]) * j // n for j in range(1, n)]
        edges = [lo[i], *cuts, hi[i]]
        first_lead = lead if i == 0 else 0
        for j in range(n):
            out.append(
                Visual(
                    index=len(out),
                    key=item.key,
                    kind=item.kind if item.kind in ("image", "video") else "image",
                    start=edges[j],
                    end=edges[j + 1],
                    fade_in=fades[i] if j == 0 else 0,
                    part=part,
                    media_duration=item.media_duration,
                    lead=first_lead if j == 0 else 0,
                    item=i,
                    shot=j,
                    offset=first_lead + edges[j] - edges[0],
                    focus=(item.focus_x, item.focus_y),
                    card=bool(item.card.get("text")),
                )
            )
    return _with_loop(out, frames, round(plan.loop_s * plan.fps))


def _with_loop(visuals: list[Visual], frames: int, n: int) -> list[Visual]:
    """A looping Short: its first picture, from its first frame, cross-fades in over the last ``n``
    frames, so the last frame is the first one and the replay has no visible jump.  It fades in over
    the visual playing then; shorter shots after that one (a fast pace) would only be seen under
    the fade, so they are left out."""
    hold = 2  # the fade ends two frames early: the last frames are the first one
    start = frames - n - hold
    under = [i for i, v in enumerate(visuals) if i > 0 and v.start + 2 * n <= start]
    if n < 2 or not under:
        return visuals
    at = under[-1]
    last, first = visuals[at], visuals[0]
    copy = Visual(at + 1, first.key, first.kind, start, frames, n, last.part, first.media_duration,
                  first.lead, hold_of=first.index, hold_length=first.frames + first.lead, item=first.item,
                  shot=first.shot, offset=first.offset, focus=first.focus, card=first.card)  # fmt: skip
    return [*visuals[:at], replace(last, end=start + n), copy]


def plan_segments(visuals: list[Visual], frames: int, fps: int, segment_seconds: float) -> list[Segment]:
    """Cut near every ``segment_seconds``, preferring picture changes, never inside a cross-fade."""
    target = max(1, round(segment_seconds * fps))
    unsafe = [(v.start, v.start + v.fade_in) for v in visuals if v.fade_in > 0]
    preferred = sorted({v.start + v.fade_in for v in visuals if v.start > 0})
    cuts: list[int] = []
    pos = 0
    while frames - pos > target * 1.5:
        ideal = pos + target
        near = [
            c for c in preferred if abs(c - ideal) <= target // 4 and pos + target // 2 <= c <= frames - target // 2
        ]
        cut = min(near, key=lambda c: abs(c - ideal)) if near else ideal
        for lo, hi in unsafe:
            if lo < cut < hi:
                cut = hi
        if cut <= pos or cut >= frames:
            break
        cuts.append(cut)
        pos = cut
    edges = [0, *cuts, frames]
    return [Segment(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def visuals_in(segment: Segment, visuals: list[Visual]) -> list[Visual]:
    return [v for v in visuals if v.start < segment.end and v.end > segment.start]
