"""The fan-out render through a real Temporal dev server and real GPU worker processes.

One production's segments are separate activities on the GPU queue: the autoscaler (local
provider, the stock ``tubeflow worker --queue gpu`` processes) sees them as backlog and starts
two workers for that one production; one worker is SIGKILLed mid-segment (a reclaimed spot VM);
the other worker and the retry finish the video.  What a kill may cost: the segments it was
encoding (one per slot: the CPU workers here take RENDER_PARALLEL segments at once, each cut at
SEGMENT_SECONDS / RENDER_PARALLEL, so at most SEGMENT_SECONDS of video), nothing already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from autoscaler.policy import PolicyConfig
from autoscaler.providers.local import LocalProvider
from tests.test_autoscaler_e2e import autoscaler, decisions, e2e_settings, render_inputs
from tests.workflow_helpers import wait_until
from tubeflow.contracts import RenderResult
from tubeflow.media.probe import probe
from tubeflow.render_contracts import RenderJob
from tubeflow.settings import REPO_ROOT
from tubeflow.storage import open_storage
from workflows.render_fanout import render_fanout

pytestmark = pytest.mark.slow
HEARTBEAT_S = 3.0


@workflow.defn(name="FanoutRenderHarness")
class FanoutHarness:
    """Runs the same ``render_fanout`` ProductionWorkflow runs, with a test-sized heartbeat timeout."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    @workflow.query(name="progress")
    def progress(self) -> list[list[int]]:
        return self.seen

    @workflow.run
    async def run(self, job: RenderJob, gpu_queue: str, concurrency: int) -> RenderResult:
        async def report(done: int, total: int) -> None:
            self.seen.append([done, total])

        retry = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
        return await render_fanout(
            job, gpu_queue, retry, concurrency=concurrency, heartbeat=timedelta(seconds=HEARTBEAT_S), on_segment=report
        )


async def test_one_production_fans_out_over_two_workers_and_a_sigkill_costs_one_segment(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tubeflow.autoscaler")
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env, segment_seconds=1.0)
    req, narration_s = render_inputs(settings, tmp_path)
    job = RenderJob(req.production_id, req.plan_key, req.audio_key, req.words_key, "", req.output_key)
    store = open_storage(settings)
    seg_dir = settings.resolved_storage_dir() / "productions" / "k1" / "render"
    provider = LocalProvider.from_settings(settings, cwd=REPO_ROOT, stop_deadline_s=25.0)
    stop = asyncio.Event()
    policy = PolicyConfig(max_workers=2, idle_timeout_s=3, scale_up_cooldown_s=1, scale_down_cooldown_s=1)
    async with Worker(client, task_queue=settings.main_queue, workflows=[FanoutHarness],
                      workflow_runner=UnsandboxedWorkflowRunner()):  # fmt: skip
        scaler_task = autoscaler(settings, client, provider, stop, policy)
        try:
            handle = await client.start_workflow(
                FanoutHarness.run, args=[job, settings.gpu_queue, 0], id=f"fanout-{uuid.uuid4().hex[:8]}",
                task_queue=settings.main_queue,
            )  # fmt: skip

            async def two_working() -> bool:
                return len(await asyncio.to_thread(provider.list)) == 2 and len(list(seg_dir.rglob("seg-*.mp4"))) >= 3

            await wait_until(two_working, 90, "two workers up and three segments stored", step=0.05)
            launched_before_kill = len([e for e in decisions(caplog) if e["event"] == "launched"])
            victim = (await asyncio.to_thread(provider.list))[0]
            os.kill(int(victim.labels["pid"]), signal.SIGKILL)  # no SIGTERM, no grace
            stored_at_kill = len(list(seg_dir.rglob("seg-*.mp4")))
            result = await asyncio.wait_for(handle.result(), 120)
            progress = await handle.query(FanoutHarness.progress)
        finally:
            stop.set()
            await asyncio.wait_for(scaler_task, 30)
            provider.close()
    total = result.segments_total
    info = probe(store.fetch(result.video_key))
    assert info.video_frames == round((narration_s + 0.5) * settings.fps) and info.has_audio
    assert total >= 15 and stored_at_kill < total, "the kill happened mid-render"
    assert launched_before_kill == 2, "one production's segments were backlog enough for two workers"
    # Progress counts finished segments, up to all of them.
    assert [p[1] for p in progress] == [total] * len(progress) and progress[-1][0] == total
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    # What the kill cost: retried segment activities (those in flight) and finished segments encoded twice.
    retried = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retried += event.activity_task_started_event_attributes.attempt - 1
    encodes: dict[str, int] = {}
    for log in (settings.home / "autoscaler" / "logs").glob("*.log"):
        for m in re.finditer(r"segment (\d+) of (\d+): \d+ frames", log.read_text(errors="replace")):
            encodes[m.group(1)] = encodes.get(m.group(1), 0) + 1
    slots = settings.render_parallel  # force_cpu: gpu_slots() gives each launched worker this many
    assert retried <= slots, f"{retried} activity retries after one SIGKILL of a {slots}-slot worker"
    assert len(encodes) == total and max(encodes.values()) == 1, f"a finished segment was encoded twice: {encodes}"
    # A segment the victim stored but could not report (killed between the upload and the
    # activity's completion) is found in storage by its retry: encoded once, counted as reused.
    lost_reports = total - result.segments_rendered
    assert 0 <= lost_reports <= slots, f"{lost_reports} segments neither rendered by a reported activity nor reused"
    assert result.frames_encoded <= info.video_frames
    assert (result.frames_encoded == info.video_frames) == (lost_reports == 0)
    print(f"\nfan-out SIGKILL after {stored_at_kill}/{total} segments: {retried} segment retried, none encoded twice")
