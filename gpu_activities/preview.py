"""The b-roll checkpoint's preview: the whole cut, cheap, before the expensive render.

Same plan, narration, music and burned captions as the real render, through the same engine
(``render_production``), at 480 lines, half the frame rate above 24 fps, and the fast encoder
preset.  A reviewer sees pacing, pictures and captions in place for a fraction of the cost
(``bench/preview.py`` measures it against the full render on the same machine).
"""

from __future__ import annotations

import dataclasses

from tubeflow.render_plan import RenderPlan
from tubeflow.settings import Settings

PREVIEW_HEIGHT = 480


def preview_plan(plan: RenderPlan, height: int = PREVIEW_HEIGHT) -> RenderPlan:
    """The plan composed at ``height`` lines (never upscaled), even dimensions, fewer frames."""
    h = min(height, plan.height)
    w = round(plan.width * h / plan.height)
    w, h = w - w % 2, h - h % 2
    fps = plan.fps // 2 if plan.fps > 24 else plan.fps
    return dataclasses.replace(plan, width=w, height=h, fps=fps)


def preview_settings(settings: Settings, plan: RenderPlan) -> Settings:
    return settings.with_overrides(width=plan.width, height=plan.height, fps=plan.fps, video_quality="fast")
