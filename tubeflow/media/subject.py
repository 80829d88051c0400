"""Where a picture's subject is: the point a slow push heads for and a pan is centred on.

No model: the subject of a b-roll still is almost always where the detail is (a face, a planet,
a title card's words against a smooth background), so the centroid of edge energy on a small
grey copy, weighted towards the middle (photographers rarely put the subject on the border),
finds it well enough to frame a push.  Computed once by the b-roll stage and stored in the plan
(``MediaItem.focus_x/y``), so every GPU worker frames the picture the same way, and rounded so
the plan reads the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

SIZE = 64  # the grey copy's long side, in pixels
PULL = 0.8  # how far from the middle the answer may go (1: all the way to the found centroid)


def subject_centre(path: Path) -> tuple[float, float]:
    """(x, y) of the subject as fractions of the picture's width and height; the middle when the
    picture is flat or cannot be read (a clip, a broken file: the render then frames the centre)."""
    from PIL import Image, ImageFilter, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            grey = im.convert("L")
            grey.thumbnail((SIZE, SIZE))
    except (OSError, UnidentifiedImageError, ValueError):
        return 0.5, 0.5
    edges = grey.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.GaussianBlur(1.5))
    w, h = edges.size
    if w < 4 or h < 4:
        return 0.5, 0.5
    px = edges.load()
    assert px is not None
    total = sx = sy = 0.0
    for y in range(2, h - 2):  # the filter's own border artefacts stay out
        for x in range(2, w - 2):
            e = float(px[x, y])  # type: ignore[arg-type]
            dx, dy = (x + 0.5) / w - 0.5, (y + 0.5) / h - 0.5
            weight = e * e * (1.0 - 1.2 * (dx * dx + dy * dy))
            total += weight
            sx += weight * (x + 0.5) / w
            sy += weight * (y + 0.5) / h
    if total <= 1e-6:
        return 0.5, 0.5
    fx = 0.5 + (sx / total - 0.5) * PULL
    fy = 0.5 + (sy / total - 0.5) * PULL
    return round(min(max(fx, 0.1), 0.9), 3), round(min(max(fy, 0.1), 0.9), 3)
