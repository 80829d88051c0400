"""Live progress of a main-queue stage activity (voice, b-roll) to its production workflow.

The work runs in a thread (``asyncio.to_thread``); it calls :meth:`StageProgress.count` as items
finish, and this sends the workflow's ``report_progress`` signal from the event loop, at most once
a second (and always for the last item), with the count and the time-left estimate of
:mod:`tubeflow.progress`.  The GPU rooms do the same through their heartbeat loop
(``gpu_activities/adapter_base.send_progress``).  Progress is advisory: outside a workflow (plain
tests), or when the signal cannot be sent, the work goes on unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from temporalio import activity

from tubeflow.contracts import SIGNAL_PROGRESS, ProgressReport
from tubeflow.progress import StageStep, eta_s, step_detail

log = logging.getLogger("tubeflow.activities")
EVERY_S = 1.0


class StageProgress:
    """``done`` of ``total`` ``unit`` for ``stage``, counted from any thread."""

    def __init__(self, stage: str, unit: str, every_s: float = EVERY_S) -> None:
        self.stage, self.unit, self.every_s = stage, unit, every_s
        self.loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._done = self._total = 0
        self._t0 = time.monotonic()
        self._last_sent = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent: list[ProgressReport] = []  # what was reported, oldest first (tests read it)

    def start(self, total: int) -> None:
        """The count is known: the clock of the estimate starts now."""
        with self._lock:
            self._done, self._total, self._t0 = 0, max(0, total), time.monotonic()
        self._post(force=True)

    def count(self, n: int = 1) -> None:
        with self._lock:
            self._done = min(self._total, self._done + n)
        self._post(force=False)

    def report(self) -> ProgressReport:
        with self._lock:
            done, total, elapsed = self._done, self._total, time.monotonic() - self._t0
        step = StageStep(done, total, self.unit, eta_s(elapsed, done, total))
        return ProgressReport(
            stage=self.stage, fraction=done / total if total else 0.0, detail=step_detail(step),
            done=done, total=total, unit=self.unit, eta_s=step.eta_s,
        )  # fmt: skip

    def _post(self, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._done >= self._total
            if not (force or last or now - self._last_sent >= self.every_s):
                return
            self._last_sent = now
        report = self.report()
        self.loop.call_soon_threadsafe(self._send, report)

    def _send(self, report: ProgressReport) -> None:
        self.sent.append(report)
        task = self.loop.create_task(_signal(report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait for the signals in flight (before the activity returns, so the last one is not lost)."""
        await asyncio.sleep(0)  # reports posted from the thread just before it returned
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def _signal(report: ProgressReport) -> None:
    try:
        info = activity.info()
        if not info.workflow_id:
            return
        await activity.client().get_workflow_handle(info.workflow_id).signal(SIGNAL_PROGRESS, report)
    except Exception as e:  # noqa: BLE001 - progress is advisory (no activity context, a blip)
        log.debug("progress signal not sent: %s", e)
