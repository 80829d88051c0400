"""Ken Burns motion is smooth: measured on decoded frames, not on our own expressions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpu_activities.kenburns import MOTIONS, zoompan_filter
from gpu_activities.video_ops import img2vid
from tests.conftest import tiny_settings
from tests.mediagen import line_pair_image


def _line_centres(row: np.ndarray) -> tuple[float, float]:
    """Sub-pixel centroids of the two bright lines in one row of luma."""
    x = np.arange(row.size, dtype=float)
    w = np.clip(row.astype(float) - 40, 0, None)
    mid = row.size // 2
    left, right = w[:mid], w[mid:]
    return float((x[:mid] * left).sum() / left.sum()), float((x[mid:] * right).sum() / right.sum())


def test_zoom_is_monotonic_and_centre_does_not_jitter(tmp_path: Path) -> None:
    import av

    img = line_pair_image(tmp_path / "lines.png", 640, 360, gap=160)
    out = img2vid(img, 3.0, 1.25, tmp_path / "kb.mp4", 320, 180, 15, tiny_settings(tmp_path, force_cpu=True))
    gaps, centres = [], []
    with av.open(str(out.path)) as c:
        for f in c.decode(video=0):
            y = f.to_ndarray(format="gray")
            a, b = _line_centres(y[90])
            gaps.append(b - a)
            centres.append((a + b) / 2)
    gaps_a = np.array(gaps)
    steps = np.diff(gaps_a)
    assert len(gaps) == 45
    assert gaps_a[-1] / gaps_a[0] > 1.2  # it really zoomed (about 1.25x)
    assert steps.min() > -0.15, steps  # never shrinks back: no zoom judder
    assert steps.max() < 3 * np.median(steps) + 0.3, steps  # no frame jumps ahead
    assert np.ptp(centres) < 1.0, centres  # the zoom centre wobbles less than one output pixel


def test_motion_is_continuous_across_segment_cuts() -> None:
    whole = zoompan_filter(MOTIONS[0], 320, 180, 15, 30, 0, 30)
    second = zoompan_filter(MOTIONS[0], 320, 180, 15, 20, 10, 30)
    assert "((0+on)/29)" in whole and "((10+on)/29)" in second and ":d=20:" in second
