"""Where the render draws text into the picture: title cards' words, followed through the motion.

A generated title card records where it wrote its heading and body (``MediaItem.card["text"]``,
fractions of the card).  The render moves that card (Ken Burns zoom and pan) and may reframe it
(a Short's crop or blurred fill), so the words land elsewhere on the output frame and move while
the card is on screen.  This module maps each box through the same transforms the filter graph
applies and returns the envelope of the box over the card's whole run, in output pixels with
the card's time on screen: the captions are then placed off it, and the quality report counts
any caption that still covers it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpu_activities.kenburns import Motion, motion_for
from gpu_activities.timeline import Visual
from tubeflow.quality_report import TEXT, Rect, TextBox
from tubeflow.render_plan import RenderPlan

SAMPLES = 9  # points along the motion; the envelope of the box over all of them


def _kenburns_frac(box: Sequence[float], m: Motion) -> tuple[float, float, float, float]:
    """The union of a box (fractions of the still) over the motion, in fractions of the frame."""
    x, y, w, h = box
    x0s, y0s, x1s, y1s = [], [], [], []
    for k in range(SAMPLES):
        p = k / (SAMPLES - 1)
        z = m.z0 + (m.z1 - m.z0) * p
        cx, cy = m.cx0 + (m.cx1 - m.cx0) * p, m.cy0 + (m.cy1 - m.cy0) * p
        win = 1.0 / z
        ox = min(max(cx - win / 2, 0.0), 1.0 - win)
        oy = min(max(cy - win / 2, 0.0), 1.0 - win)
        x0s.append((x - ox) * z)
        y0s.append((y - oy) * z)
        x1s.append((x + w - ox) * z)
        y1s.append((y + h - oy) * z)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def _reframed(frac: tuple[float, float, float, float], comp: tuple[int, int], out: tuple[int, int],
              reframe: str) -> Rect | None:  # fmt: skip
    """Fractions of the composed frame -> output pixels after the Short's reframe; None when cropped away."""
    (cw, ch), (ow, oh) = comp, out
    x0, y0, x1, y1 = frac
    if reframe == "crop":
        s = max(ow / cw, oh / ch)
        dx, dy = (cw * s - ow) / 2, (ch * s - oh) / 2
        px0, py0, px1, py1 = x0 * cw * s - dx, y0 * ch * s - dy, x1 * cw * s - dx, y1 * ch * s - dy
    elif reframe == "blur":
        s = ow / cw
        dy = (oh - ch * s) / 2
        px0, py0, px1, py1 = x0 * ow, y0 * ch * s + dy, x1 * ow, y1 * ch * s + dy
    else:
        px0, py0, px1, py1 = x0 * ow, y0 * oh, x1 * ow, y1 * oh
    px0, py0, px1, py1 = max(0.0, px0), max(0.0, py0), min(float(ow), px1), min(float(oh), py1)
    if px1 - px0 < 1 or py1 - py0 < 1:
        return None
    return Rect(round(px0, 1), round(py0, 1), round(px1 - px0, 1), round(py1 - py0, 1))


def card_text_boxes(
    plan: RenderPlan,
    visuals: Sequence[Visual],
    comp_size: tuple[int, int],
    out_size: tuple[int, int],
    reframe: str = "",
) -> list[TextBox]:
    """Every title card's words on the output frame, with the time the card is on screen."""
    cards = {m.key: m.card for m in plan.all_items() if m.card.get("text")}
    out: list[TextBox] = []
    for v in visuals:
        card = cards.get(v.key)
        if not card:
            continue
        for n, box in enumerate(card["text"]):
            if len(box) != 4:
                continue
            frac = _kenburns_frac(box, motion_for(v.index)) if plan.ken_burns else (
                box[0], box[1], box[0] + box[2], box[1] + box[3])  # fmt: skip
            rect = _reframed(frac, comp_size, out_size, reframe)
            if rect is not None:
                label = f"title card {v.index} {'heading' if n == 0 else 'body'}"
                out.append(TextBox(TEXT, rect, round(v.start / plan.fps, 3), round(v.end / plan.fps, 3), label))
    return out
