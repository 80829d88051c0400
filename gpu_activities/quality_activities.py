"""Measuring a rendered video (long-form or Short) for its quality report, right after its render.

On the GPU queue because it decodes the whole file (like the render, it belongs where the video
is and scales with the fleet); the report is stored as JSON under the production's keys and
returned, so the workflow can hold an auto-approved final checkpoint on a failure.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gpu_activities.adapter_base import Beat, GpuAdapter, run_with_heartbeat
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.keys import text_layout_key
from tubeflow.quality_report import (
    LONG_FORM_SAFE,
    SHORTS_SAFE,
    QualityReport,
    QualityRequest,
    QualityResult,
    TextLayout,
    layout_from_render_boxes,
)
from tubeflow.render_plan import RenderPlan, ShortRange


class QualityActivities(GpuAdapter):
    @implements(act.MEASURE_QUALITY)
    @permanent_errors
    async def measure_quality(self, req: QualityRequest) -> QualityResult:
        """The report of ``req.video_key`` against the channel's thresholds, stored at ``req.output_key``."""
        t0 = time.monotonic()

        def work_fn(cancel: threading.Event, beat: Beat) -> QualityReport:
            return measure_request(self, req, cancel)

        report = await run_with_heartbeat(work_fn)
        seconds, cost = self._spent(t0)
        return QualityResult(report, seconds, cost)


def measure_request(adapter: GpuAdapter, req: QualityRequest, cancel: threading.Event | None = None) -> QualityReport:
    """What the activity does, without Temporal (tests call it with a plain adapter)."""
    from gpu_activities.quality import measure_video
    from gpu_activities.shorts import sub_plan
    from tubeflow.media.probe import probe

    short = req.video.startswith("short")
    niche = adapter._niche(req.niche)
    video: Path = adapter.storage.fetch(req.video_key)
    plan: RenderPlan | None = RenderPlan.from_json(adapter.storage.get_text(req.plan_key)) if req.plan_key else None
    if plan is not None and short and req.end_s > req.start_s:
        plan = sub_plan(plan, ShortRange(req.start_s, req.end_s))
    layout = None
    stored_layout = text_layout_key(req.video_key)
    if req.text_boxes is not None:
        info = probe(video)
        layout = layout_from_render_boxes(
            req.text_boxes, info.width, info.height, SHORTS_SAFE if short else LONG_FORM_SAFE
        )
    elif adapter.storage.exists(stored_layout):  # what the renderer wrote beside the video
        layout = TextLayout.from_json(adapter.storage.get_text(stored_layout))
    position = "center" if short else (niche.caption_style.position if niche else "bottom")
    report = measure_video(
        video, video=req.video, thresholds=req.thresholds, plan=plan, layout=layout,
        caption_position=position, cancel=cancel,
    )  # fmt: skip
    report.key = req.output_key
    adapter.storage.put_bytes(req.output_key, report.to_json().encode(), "application/json")
    return report
