"""Temporal activity adapters for the GPU queue: thin wrappers over the plain render modules.

What they add: storage keys in and out (a GPU worker may be on another machine), FFmpeg work in
a thread with heartbeats from the event loop (a SIGKILLed worker is noticed within the heartbeat
timeout), the render's resume state in the heartbeat details (``{"segments": {i: key},
"total": n}``: a retry fetches those segments and encodes only the rest), live progress to the
parent workflow, and the mapping of permanent errors to non-retryable ApplicationErrors.
Storage transfers (S3 downloads of b-roll and segments, uploads of segments and the video) are
blocking calls: they run in the same worker thread as FFmpeg, never on the event loop, and the
loop keeps heartbeating while they run.

This module holds what every GPU room shares (the heartbeat loop, the helpers on
:class:`GpuAdapter`); the rooms are one concern each: ``transcribe_activities``,
``render_activities`` (the single-activity render and the fan-out), ``preview_activities``,
``shorts_activities``, ``video_op_activities``; ``gpu_activities.activities`` puts them together."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import activity

from niches.config import CaptionStyle, NicheConfig, load_niche
from tubeflow.contracts import (
    SIGNAL_PROGRESS,
    ProgressReport,
    RenderResult,
)
from tubeflow.errors import PermanentError
from tubeflow.keys import segment_index, segments_listing, text_layout_key
from tubeflow.settings import Settings
from tubeflow.storage import Storage

if TYPE_CHECKING:  # the render modules load FFmpeg helpers; activities import them when they run
    from gpu_activities.render import RenderStats
    from tubeflow.render_plan import RenderPlan

log = logging.getLogger("tubeflow.gpu")
R = TypeVar("R")
HEARTBEAT_EVERY_S = 1.0  # the worker's throttle decides what reaches the server


class Beat:
    """Heartbeat state shared between the FFmpeg thread (writer) and the event loop (sender)."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details
        self.lock = threading.Lock()
        self.dirty = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.progress: ProgressReport | None = None

    def update(self, details: dict[str, Any], progress: ProgressReport | None = None) -> None:
        """Called from the worker thread."""
        with self.lock:
            self.details = details
            if progress is not None:
                self.progress = progress
        self.loop.call_soon_threadsafe(self.dirty.set)

    def snapshot(self) -> tuple[dict[str, Any], ProgressReport | None]:
        with self.lock:
            p, self.progress = self.progress, None
            return json.loads(json.dumps(self.details)), p


async def send_progress(report: ProgressReport) -> None:
    """Best effort: a missing parent, a test environment or a network blip must not fail the render."""
    try:
        info = activity.info()
        assert info.workflow_id is not None  # caught below: an activity outside a workflow sends no progress
        handle = activity.client().get_workflow_handle(info.workflow_id)
        await handle.signal(SIGNAL_PROGRESS, report)
    except Exception as e:  # noqa: BLE001 - progress is advisory
        log.debug("progress signal not sent: %s", e)


async def run_with_heartbeat(fn: Callable[[threading.Event, Beat], R], details: dict[str, Any] | None = None) -> R:
    """Run ``fn(cancel, beat)`` in a thread, heartbeating its latest details until it returns.

    If the activity is cancelled (or the worker shuts down), ``cancel`` is set so FFmpeg is
    killed instead of running on as an orphan.
    """
    beat = Beat(details or {})
    cancel = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(fn, cancel, beat))
    try:
        while True:
            waiter = asyncio.ensure_future(beat.dirty.wait())
            await asyncio.wait({task, waiter}, timeout=HEARTBEAT_EVERY_S, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            beat.dirty.clear()
            snap, progress = beat.snapshot()
            activity.heartbeat(snap)
            if progress is not None:
                await send_progress(progress)
            if task.done():
                return task.result()
    except asyncio.CancelledError:
        cancel.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
        except BaseException:  # noqa: BLE001 - already unwinding; FFmpeg was told to stop
            pass
        raise


class GpuAdapter:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def workdir(self, name: str) -> Path:
        d = self.settings.home / "work" / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _niche(self, name: str) -> NicheConfig | None:
        try:
            return load_niche(name, self.settings) if name else None
        except PermanentError:
            raise

    def _music(self, key: str, niche: NicheConfig | None) -> Path | None:
        if key:
            return self.storage.fetch(key)
        if niche is not None and niche.music_path is not None and niche.music_path.is_file():
            return niche.music_path
        return None

    def _cost(self, seconds: float) -> float:
        return round(seconds * self.settings.worker_price_per_hour / 3600.0, 6)

    def _stored_segments(self, prefix: str) -> dict[int, str]:
        found: dict[int, str] = {}
        for key in self.storage.list(segments_listing(prefix)):
            index = segment_index(key)
            if index is not None:
                found[index] = key
        return found

    def _spent(self, t0: float) -> tuple[float, float]:
        used = time.monotonic() - t0
        return round(used, 2), self._cost(used)

    @staticmethod
    def _caption_style(plan: RenderPlan, niche: NicheConfig | None) -> CaptionStyle | None:
        """The style the b-roll stage wrote into the plan (the channel's choice), else the niche's."""
        from gpu_activities.captions import style_from

        if plan.caption_style:
            return style_from(plan.caption_style)
        return niche.caption_style if niche else None

    def _store_text_layout(self, video_key: str, stats: RenderStats) -> str:
        """Blocking: the render's text boxes beside the video, for the quality report."""
        if stats.text_layout is None or not stats.text_layout.is_file():
            return ""
        return self.storage.put_file(text_layout_key(video_key), stats.text_layout, "application/json")

    def _rendered(self, key: str, size: tuple[int, int], stats: RenderStats, t0: float) -> RenderResult:
        """What a whole-video render (long-form, preview, Short) reports: its stats, time and cost since t0."""
        seconds, cost = self._spent(t0)
        return RenderResult(
            video_key=key,
            duration_s=stats.duration_s,
            width=size[0],
            height=size[1],
            segments_total=stats.segments_total,
            segments_rendered=stats.segments_rendered,
            encoder=stats.encoder,
            frames_encoded=stats.frames_encoded,
            gpu_seconds=seconds,
            cost_usd=cost,
            text_layout_key=text_layout_key(key) if stats.text_layout is not None else "",
        )
