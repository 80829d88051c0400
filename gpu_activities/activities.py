"""The GPU queue's activities, room by room (one concern each, over the plain render modules);
the worker registers :meth:`GpuActivities.all`.  Names never change (tubeflow/activity_defs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpu_activities.preview_activities import PreviewActivities
from gpu_activities.quality_activities import QualityActivities
from gpu_activities.render_activities import RenderActivities
from gpu_activities.shorts_activities import ShortsActivities
from gpu_activities.transcribe_activities import TranscribeActivities
from gpu_activities.video_op_activities import VideoOpActivities


class GpuActivities(
    TranscribeActivities, RenderActivities, PreviewActivities, ShortsActivities, VideoOpActivities, QualityActivities
):
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.transcribe,
            self.render_video,
            self.render_preview,
            self.render_short,
            self.video_caption,
            self.video_img2vid,
            self.video_addaudio,
            self.render_layout,
            self.render_segment,
            self.render_soundtrack,
            self.join_render,
            self.measure_quality,
        ]


GPU_ACTIVITY_NAMES = (
    "transcribe",
    "render_video",
    "render_preview",
    "render_short",
    "video_caption",
    "video_img2vid",
    "video_addaudio",
    "render_layout",
    "render_segment",
    "render_soundtrack",
    "join_render",
    "measure_quality",
)
