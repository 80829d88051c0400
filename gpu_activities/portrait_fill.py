"""How much of a portrait frame carries picture: the letterbox measurement for Shorts.

A landscape picture shown in a 9:16 frame leaves bands above and below it, filled with a colour
or a blurred copy of the picture.  Such a band runs from the top (or bottom) edge, and every row
of it is flat: without edges (a uniform colour) or with only soft ones (a blur).  So the content
fraction of a frame is the share of rows between the flat band at the top and the flat band at
the bottom, where a row is flat when its sharpest local detail (the 98th percentile of the
horizontal and vertical differences) stays under a small absolute threshold.  Flat rows inside
the picture (a plain sky) do not count against it: only bands touching the edges are bands, and
over a video only rows flat in nearly every sampled frame (the layout's, not one picture's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FLAT_DETAIL = 6.0  # grey levels: a blurred fill stays under ~3, picture rows with any edge go over 10


def row_detail(frame: np.ndarray) -> np.ndarray:
    """Per row: the 98th percentile of |dx| + |dy| of the grey image (0-255)."""
    grey = frame.astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    dx = np.abs(np.diff(grey, axis=1))[:-1, :]
    dy = np.abs(np.diff(grey, axis=0))[:, :-1]
    detail = np.percentile(dx + dy, 98, axis=1)
    return np.append(detail, detail[-1:])  # one value per row


def _edge_bands(flat: np.ndarray) -> float:
    """Share of rows between the run of flat rows touching the top and the one touching the bottom."""
    h = len(flat)
    sharp = np.nonzero(~flat)[0]
    if len(sharp) == 0:
        return 0.0
    return float(sharp[-1] - sharp[0] + 1) / h


def content_fraction(frame: np.ndarray, flat: float = FLAT_DETAIL) -> float:
    """Share of one frame's rows that are not part of a flat band touching the top or bottom edge.

    One frame cannot tell a band from a picture whose bottom is plain (a dark floor, a clear sky);
    :func:`video_content_fraction` can."""
    return _edge_bands(row_detail(frame) <= flat)


def video_content_fraction(path: Path, samples: int = 9, flat: float = FLAT_DETAIL) -> float:
    """The content fraction of a video: a band is a property of the layout, so it is flat in every
    frame at the same rows, while a plain part of one picture is gone at the next picture.  Rows flat
    in (nearly) all of ``samples`` frames spread over the video, touching an edge, are the bands."""
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    if not frames:
        return 0.0
    picks = [frames[round(i * (len(frames) - 1) / max(1, samples - 1))] for i in range(samples)]
    flat_share = np.mean([row_detail(f) <= flat for f in picks], axis=0)
    return _edge_bands(flat_share >= 0.85)
