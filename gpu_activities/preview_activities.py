"""The 480-line preview of the whole cut the b-roll reviewer watches."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from gpu_activities.adapter_base import Beat, GpuAdapter, run_with_heartbeat
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    RenderRequest,
    RenderResult,
)
from tubeflow.render_plan import RenderPlan


class PreviewActivities(GpuAdapter):
    @implements(act.RENDER_PREVIEW)
    @permanent_errors
    async def render_preview(self, req: RenderRequest) -> RenderResult:
        """The low-resolution whole cut shown at the b-roll checkpoint (see gpu_activities/preview.py)."""
        from gpu_activities.preview import preview_plan, preview_settings
        from gpu_activities.render import render_production

        work = self.workdir(f"{req.production_id}/preview/{Path(req.output_key).stem}")
        out = work / "preview.mp4"

        def work_fn(cancel: threading.Event, beat: Beat) -> Any:
            niche = self._niche(req.niche)
            full = RenderPlan.from_json(self.storage.get_text(req.plan_key))
            plan = preview_plan(full)
            words = json.loads(self.storage.get_text(req.words_key)) if req.words_key else []
            voice = self.storage.fetch(req.audio_key)
            music = self._music(req.music_key or plan.music_key, niche)
            stats = render_production(
                plan, voice, words, out, work / "segments", preview_settings(self.settings, plan),
                music=music, caption_style=self._caption_style(plan, niche), resolve=self.storage.fetch,
                music_volume_db=niche.music_volume_db if niche else -18.0, cancel=cancel,
            )  # fmt: skip
            self.storage.put_file(req.output_key, out, "video/mp4")
            self._store_text_layout(req.output_key, stats)
            return plan, stats

        t0 = time.monotonic()
        plan, stats = await run_with_heartbeat(work_fn)
        result = self._rendered(req.output_key, (plan.width, plan.height), stats, t0)
        shutil.rmtree(work, ignore_errors=True)
        return result
