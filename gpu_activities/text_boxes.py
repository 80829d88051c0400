"""Where the render draws text into the picture: title cards' words, followed through the motion.

A generated title card records where it wrote its heading and body (``MediaItem.card["text"]``,
fractions of the card).  The render moves that card (each shot's move, gpu_activities/kenburns.py)
and may reframe it (a Short's crop or blurred fill), so the words land elsewhere on the output
frame and move while the card is on screen.  This module maps each box through the same move the
filter graph makes (:func:`move_for` on the card's canvas, from the plan alone: a card is drawn
shaped like the frame and framed on the plan's focus) and returns the envelope of the box over each
shot, in output pixels with the shot's time on screen: the captions are then placed off it, and
the quality report counts any caption that still covers it.  (It followed the old zoom of
img2vid before, not the shot's move: on the demo's Shorts two captions covered card words that
the report counted as clear.)
"""

from __future__ import annotations

from collections.abc import Sequence

from gpu_activities.kenburns import Canvas, Move, canvas_for, move_for
from gpu_activities.segments import shot_focus
from gpu_activities.timeline import Visual
from tubeflow.quality_report import TEXT, Rect, TextBox
from tubeflow.render_plan import RenderPlan

SAMPLES = 9  # points along the motion; the envelope of the box over all of them


def _move_frac(box: Sequence[float], c: Canvas, m: Move) -> tuple[float, float, float, float]:
    """The union of a box (fractions of a frame-shaped card) over the shot's move, in fractions of the frame."""
    x, y, w, h = box
    bx0, by0, bx1, by1 = x * c.cw, y * c.ch, (x + w) * c.cw, (y + h) * c.ch
    x0s, y0s, x1s, y1s = [], [], [], []
    for k in range(SAMPLES):
        p = k / (SAMPLES - 1)
        s = m.a.s + (m.b.s - m.a.s) * p
        ww, wh = c.ow * s, c.oh * s
        left = m.a.cx + (m.b.cx - m.a.cx) * p - ww / 2
        top = m.a.cy + (m.b.cy - m.a.cy) * p - wh / 2
        x0s.append((bx0 - left) / ww)
        y0s.append((by0 - top) / wh)
        x1s.append((bx1 - left) / ww)
        y1s.append((by1 - top) / wh)
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
        c = canvas_for(comp_size[0], comp_size[1], focus=shot_focus(v, None))
        m = move_for(c, v.item, v.shot, (v.hold_length or v.frames + v.lead) / plan.fps)
        if v.hold_of is not None or not plan.ken_burns:  # the move's first framing, held
            m = Move(m.kind, m.a, m.a)
        for n, box in enumerate(card["text"]):
            if len(box) != 4:
                continue
            frac = _move_frac(box, c, m)
            rect = _reframed(frac, comp_size, out_size, reframe)
            if rect is not None:
                label = f"title card {v.index} {'heading' if n == 0 else 'body'}"
                out.append(TextBox(TEXT, rect, round(v.start / plan.fps, 3), round(v.end / plan.fps, 3), label))
    return out
