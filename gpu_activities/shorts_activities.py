"""Rendering one Short (a range of the plan, reframed to portrait)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from gpu_activities.adapter_base import Beat, GpuAdapter, run_with_heartbeat
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import RenderResult
from tubeflow.job_contracts import ShortRequest
from tubeflow.render_plan import RenderPlan


class ShortsActivities(GpuAdapter):
    @implements(act.RENDER_SHORT)
    @permanent_errors
    async def render_short(self, req: ShortRequest) -> RenderResult:
        from gpu_activities.shorts import portrait_size, render_short
        from tubeflow.render_plan import ShortRange

        t0 = time.monotonic()
        name = Path(req.output_key).stem
        work = self.workdir(f"{req.production_id}/shorts/{name}")
        out = work / f"{name}.mp4"

        def work_fn(cancel: threading.Event, beat: Beat) -> Any:
            niche = self._niche(req.niche)
            plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
            words = json.loads(self.storage.get_text(req.words_key)) if req.words_key else []
            voice = self.storage.fetch(req.audio_key)
            music = self._music(req.music_key or plan.music_key, niche)
            reframe = req.reframe or (niche.shorts_reframe if niche else "native")
            stats = render_short(
                plan, voice, words, ShortRange(req.start_s, req.end_s), out, work, self.settings,
                reframe=reframe, caption_style=self._caption_style(plan, niche), music=music,
                music_volume_db=niche.music_volume_db if niche else -18.0, resolve=self.storage.fetch,
            )  # fmt: skip
            self.storage.put_file(req.output_key, out, "video/mp4")
            self._store_text_layout(req.output_key, stats)
            return plan, stats

        plan, stats = await run_with_heartbeat(work_fn)
        return self._rendered(req.output_key, portrait_size(plan.width, plan.height), stats, t0)
