"""A Short's pace on the rendered file: every planned change of shot is seen by scene detection and
no stretch without one lasts longer than the Short's limit (2 s).

The demo's Shorts are title cards only, each cut into a wide and a tight shot of about 1.2 s, with
captions moved above or below the card's words.  There the quality report measured 2.05-2.7 s
"without a cut" where the plan never held a shot longer than 1.4 s: the mask for the captions ran
from the highest line to the lowest one (most of the card), and a cut 0.75 s after the sample that
follows another cut was merged into it.  This renders that shape at 180x320 and measures it the way
the production's report does (the render's own text layout gives the caption bands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.stills import make_still
from gpu_activities.quality import caption_bands, measure_file, measure_pacing, scene_changes
from gpu_activities.shorts import render_short, short_view
from gpu_activities.timeline import build_visuals, total_frames
from tests.conftest import tiny_settings
from tests.mediagen import tone_wav
from tests.test_shorts_native import PALETTE, card_item
from tubeflow.quality_report import TextLayout
from tubeflow.render_plan import PlanPart, RenderPlan, ShortRange

FPS = 15
CARD_S = 2.4  # two shots of 1.2 s each under the Short's 2 s limit (planned at most 1.4 s)
CARDS = [
    ("Sunlight", "Sunlight looks white, but it is a mix of every colour."),
    ("Rayleigh scattering", "Small molecules scatter short wavelengths the most."),
    ("Blue light", "Blue light is scattered several times more than red."),
    ("Red sunsets", "At dusk the light crosses more air and the blue is gone."),
]
TEXT = (
    "here is the key on its way through the atmosphere sunlight is scattered by nitrogen and oxygen "
    "molecules that are far smaller than the wavelength of light and this is called rayleigh scattering"
)


def _words(duration: float) -> list[dict[str, Any]]:
    words = TEXT.split()
    step = (duration - 0.3) / len(words)
    return [{"word": w, "start": round(0.1 + i * step, 3), "end": round(0.1 + (i + 0.8) * step, 3)}
            for i, w in enumerate(words)]  # fmt: skip


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TextLayout, list[float], float]:
    """The rendered Short, its text layout, the planned shot changes (s) and its length."""
    d = tmp_path_factory.mktemp("shorts-pacing")
    s = tiny_settings(d, force_cpu=True)
    duration = CARD_S * len(CARDS)
    items = []
    for i, (heading, fact) in enumerate(CARDS):
        card = make_still(d / f"card{i}.jpg", heading, (320, 180), PALETTE, i + 3, s, "What happens", fact=fact,
                          portrait=True)  # fmt: skip
        items.append(card_item(card, i * CARD_S, (i + 1) * CARD_S))
    plan = RenderPlan(320, 180, FPS, duration, [PlanPart(0, "What happens", 0.0, duration, items)],
                      transition="fade", transition_s=0.5, title="Why is the sky blue?")  # fmt: skip
    voice = tone_wav(d / "voice.wav", duration)
    words = _words(duration)
    rng = ShortRange(0.0, duration)
    out = d / "short.mp4"
    stats = render_short(plan, voice, words, rng, out, d / "work", s, reframe="native")
    assert stats.text_layout is not None
    view = short_view(plan, words, rng, duration)
    visuals = build_visuals(view.plan, total_frames(view.plan.duration_s, FPS))
    planned = [v.start / FPS for v in visuals[1:]]
    return out, TextLayout.from_json(stats.text_layout.read_text()), planned, duration


def test_the_plan_changes_shot_within_the_shorts_limit(short: tuple[Path, TextLayout, list[float], float]) -> None:
    _, _, planned, duration = short
    edges = [0.0, *planned, duration + 0.5]
    assert len(planned) >= 2 * len(CARDS) - 1  # a wide and a tight shot of every card (three of the last)
    assert max(b - a for a, b in zip(edges, edges[1:], strict=False)) <= 1.4 + 1e-6


def test_every_planned_cut_is_seen_and_no_stretch_is_over_the_limit(
    short: tuple[Path, TextLayout, list[float], float],
) -> None:
    video, layout, planned, _ = short
    bands = caption_bands(layout, "center")
    assert len(bands) >= 2, bands  # captions in more than one place, as on the demo's Shorts
    assert sum(b - a for a, b in bands) < 0.4  # the masks leave the card's words in view
    changes = scene_changes(measure_file(video, masks=bands).scene_scores)
    missed = [c for c in planned if not any(abs(c - t) <= 0.3 for t in changes)]
    assert not missed, (missed, changes)
    static, cuts = measure_pacing(video, max_shot_s=2.0, caption_position="center", layout=layout)
    assert static.passed is True and static.value is not None and static.value <= 2.0, static.message
    assert cuts.value is not None and cuts.value >= 60 / 1.4 - 1, cuts.message
