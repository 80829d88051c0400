"""The autoscaler against a real Temporal dev server with real GPU worker processes (local provider).

* the backlog reader: DescribeTaskQueue stats, pollers and busy workers as Temporal reports them;
* scale from zero: three VideoJobWorkflow jobs queued with no worker -> the autoscaler starts
  `tubeflow worker --queue gpu` processes -> the jobs finish -> the workers stop after the
  (shortened) idle timeout;
* spot safety: SIGKILL the worker in the middle of `render_video` -> the heartbeat timeout hands
  the activity back -> the autoscaler starts a replacement -> it resumes from the segment
  checkpoint; the output is complete and valid and at most one segment is encoded twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from autoscaler.controller import ControllerConfig, run_autoscaler
from autoscaler.policy import PolicyConfig
from autoscaler.providers.local import LocalProvider
from service.backlog import describe_backlog, observe_queue
from service.metrics import TubeflowMetrics
from tests.conftest import tiny_settings
from tests.mediagen import still_image, tone_wav
from tests.test_render import WORDS
from tests.workflow_helpers import wait_until
from tubeflow.contracts import RenderRequest, RenderResult
from tubeflow.job_contracts import Img2VidJob, VideoJobInput
from tubeflow.media.probe import probe
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan
from tubeflow.settings import REPO_ROOT, Settings
from tubeflow.storage import open_storage
from workflows.video_job import VideoJobWorkflow

pytestmark = pytest.mark.slow
HEARTBEAT_S = 3.0  # the SDK sends heartbeats at most every 0.8 x this: the checkpoint's possible lag
KILL_AFTER = 3  # segments uploaded before the SIGKILL


@workflow.defn(name="AutoscaleRenderHarness")
class RenderHarness:
    """Calls the real ``render_video`` the way ProductionWorkflow does, with a test-sized heartbeat timeout."""

    @workflow.run
    async def run(self, req: RenderRequest, gpu_queue: str, heartbeat_s: float) -> RenderResult:
        result: RenderResult = await workflow.execute_activity(
            "render_video",
            req,
            task_queue=gpu_queue,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=heartbeat_s),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3),
            result_type=RenderResult,
        )
        return result


@workflow.defn(name="AutoscaleProbeJob")
class ProbeJob:
    """Parks one activity on the GPU queue (the backlog reader test serves it with an in-process worker)."""

    @workflow.run
    async def run(self, queue: str) -> str:
        held: str = await workflow.execute_activity(
            "probe_hold", task_queue=queue, start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=10),
        )  # fmt: skip
        return held


def e2e_settings(tmp_path: Path, env: WorkflowEnvironment, **overrides: Any) -> Settings:
    address = env.client.service_client.config.target_host
    return tiny_settings(tmp_path, temporal_address=address, force_cpu=True, **overrides)


def main_worker(client: Client, settings: Settings) -> Worker:
    """The control plane's workflow worker (in-process); GPU work only ever runs in the launched processes."""
    return Worker(
        client,
        task_queue=settings.main_queue,
        workflows=[VideoJobWorkflow, RenderHarness, ProbeJob],
        workflow_runner=UnsandboxedWorkflowRunner(),  # the harness workflows live in this test module
    )


def autoscaler(settings: Settings, client: Client, provider: LocalProvider, stop: asyncio.Event,
               policy: PolicyConfig, metrics: TubeflowMetrics | None = None) -> asyncio.Task[Any]:  # fmt: skip
    config = ControllerConfig(interval_s=0.5, ready_timeout_s=45, unknown_grace_s=60)
    return asyncio.create_task(
        run_autoscaler(settings, "local", stop=stop, client=client, policy=policy, config=config,
                       metrics=metrics or TubeflowMetrics(), metrics_port=0, provider=provider)
    )  # fmt: skip


def decisions(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    out = []
    for rec in caplog.records:
        if rec.name == "tubeflow.autoscaler":
            out.append(json.loads(rec.getMessage()))
    return out


# ------------------------------------------------------------------------------ backlog reader


async def test_backlog_pollers_and_busy_worker_read_from_temporal(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env)
    ns, queue = settings.temporal_namespace, settings.gpu_queue
    gate = asyncio.Event()

    @activity.defn(name="probe_hold")
    async def held() -> str:
        while not gate.is_set():
            activity.heartbeat()
            await asyncio.sleep(0.2)
        return "ok"

    async with main_worker(client, settings):
        handles = [
            await client.start_workflow(
                ProbeJob.run, queue, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=settings.main_queue
            )  # fmt: skip
            for _ in range(3)
        ]

        async def three_waiting() -> bool:
            return (await describe_backlog(client, ns, queue)).backlog_count == 3

        # Stats populate on the dev server as is, behind a ~5 s matching cache (TaskQueueInfoByBuildIdTTL).
        await wait_until(three_waiting, 15, "backlog 3 on the GPU queue")
        obs = await observe_queue(client, ns, queue)
        assert obs.backlog_age_s > 0 and obs.pollers == {} and obs.busy == {}
        assert obs.waiting == 3 and obs.pending == 3, "the fresh count from the workflows agrees"
        async with Worker(client, task_queue=queue, activities=[held], identity="gpu-probe-1",
                          max_concurrent_activities=1):  # fmt: skip
            seen: list[Any] = []

            async def one_busy() -> bool:
                o = await observe_queue(client, ns, queue)
                seen.append((sorted(o.pollers), o.busy, o.waiting, o.backlog_count))
                return "gpu-probe-1" in o.pollers and len(o.busy.get("gpu-probe-1", [])) == 1

            try:
                await wait_until(one_busy, 20, "the probe worker polling and busy")
            except AssertionError as e:
                raise AssertionError(f"{e}; last observations: {seen[-3:]}") from None
            obs = await observe_queue(client, ns, queue)
            assert obs.busy["gpu-probe-1"][0] in {h.id for h in handles}
            assert obs.running == 1 and obs.waiting == 2
            gate.set()
            for h in handles:
                assert await h.result() == "ok"
        obs = await observe_queue(client, ns, queue)
        assert obs.busy == {}


# ------------------------------------------------------------------------------ scale from zero and back


async def test_three_jobs_scale_from_zero_finish_and_scale_back_to_zero(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tubeflow.autoscaler")
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env)
    store = open_storage(settings)
    image = store.put_file("uploads/pic.png", still_image(tmp_path / "pic.png", seed=3))
    provider = LocalProvider.from_settings(settings, cwd=REPO_ROOT, stop_deadline_s=25.0)
    assert provider.command[1:] == ["-m", "cli", "worker", "--queue", "gpu"], "the real GPU worker"
    metrics = TubeflowMetrics()
    stop = asyncio.Event()
    policy = PolicyConfig(max_workers=3, idle_timeout_s=4, scale_up_cooldown_s=5, scale_down_cooldown_s=2)
    async with main_worker(client, settings):
        assert await asyncio.to_thread(provider.list) == [], "starts from zero workers"
        handles = []
        for i in range(3):
            job = VideoJobInput(f"job-{uuid.uuid4().hex[:8]}", "img2vid",
                                img2vid=Img2VidJob(image, f"jobs/out{i}.mp4", duration_s=2.0),
                                gpu_queue=settings.gpu_queue)  # fmt: skip
            handles.append(
                await client.start_workflow(VideoJobWorkflow.run, job, id=job.job_id, task_queue=settings.main_queue)
            )

        async def three_waiting() -> bool:
            return (await describe_backlog(client, settings.temporal_namespace, settings.gpu_queue)).backlog_count == 3

        await wait_until(three_waiting, 15, "three jobs waiting with no worker")
        t0 = time.monotonic()
        scaler_task = autoscaler(settings, client, provider, stop, policy, metrics)
        try:
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 90)
            t_done = time.monotonic() - t0
            for i, r in enumerate(results):
                assert r.output_key == f"jobs/out{i}.mp4"
                info = probe(store.fetch(r.output_key))
                assert info.has_video and (info.width, info.height) == (320, 180)
                assert info.video_frames == 2 * settings.fps

            async def all_stopped() -> bool:
                return await asyncio.to_thread(provider.list) == []

            await wait_until(all_stopped, 40, "the workers to stop after the idle timeout")
            t_zero = time.monotonic() - t0
        finally:
            stop.set()
            scaler = await asyncio.wait_for(scaler_task, 30)
            provider.close()
    events = decisions(caplog)
    launched = [e for e in events if e["event"] == "launched"]
    assert len(launched) == 3, "three jobs waiting, max 3: three workers at once"
    ready = [e for e in events if e["event"] == "instance_ready"]
    assert len(ready) == 3
    ups = [e for e in events if e["event"] == "decision" and e["action"] == "scale_up"]
    assert len(ups) == 1 and ups[0]["cause"] == "backlog" and "no idle worker" in ups[0]["reason"]
    downs = [e for e in events if e["event"] == "decision" and e["action"] == "scale_down"]
    assert sum(len(e["terminate"]) for e in downs) == 3
    assert all(e["cause"] == "idle_timeout" for e in downs)
    assert all(e["desired"] <= 3 for e in events if e["event"] == "decision")
    assert scaler.tracked == {}
    body, _ = metrics.exposition()
    assert b'tubeflow_autoscaler_decisions_total{action="scale_up",cause="backlog"} 1.0' in body
    assert b'tubeflow_gpu_workers{state="busy"} 0.0' in body
    boot = max(e["boot_s"] for e in ready)
    print(f"\nscale-from-zero: worker boot <= {boot:.1f}s, jobs done {t_done:.1f}s, zero workers at {t_zero:.1f}s")


# ------------------------------------------------------------------------------ SIGKILL mid-render


def render_inputs(settings: Settings, tmp_path: Path) -> tuple[RenderRequest, float]:
    """An 18 s, three-picture production at 320x180: 1 s segments give the kill something to interrupt."""
    store = open_storage(settings)
    src = tmp_path / "src"
    parts = []
    for i in range(3):
        key = store.put_file(f"media/p{i}.png", still_image(src / f"p{i}.png", seed=10 + i))
        start, end = i * 6.0, (i + 1) * 6.0
        parts.append(PlanPart(i, f"part {i}", start, end, [MediaItem(key, "image", "library", start=start, end=end)]))
    plan = RenderPlan(width=320, height=180, fps=settings.fps, duration_s=18.0, transition="fade",
                      transition_s=0.5, parts=parts)  # fmt: skip
    store.put_text("productions/k1/plan-v1.json", plan.to_json())
    store.put_file("productions/k1/voice-v1.wav", tone_wav(src / "voice.wav", 18.0))
    store.put_text("productions/k1/words.json", json.dumps(WORDS))
    req = RenderRequest("k1", "productions/k1/plan-v1.json", "productions/k1/voice-v1.wav",
                        "productions/k1/words.json", "", "productions/k1/video.mp4")  # fmt: skip
    return req, 18.0


# The GPU worker with Temporal's heartbeat throttle shortened to 100 ms (the change proposed for
# tubeflow/worker.py build_gpu_worker); otherwise exactly what `tubeflow worker --queue gpu` runs.
FAST_HEARTBEAT_WORKER = r"""
import asyncio, signal
from datetime import timedelta
from temporalio.worker import Worker
from service.client import connect
from tubeflow.settings import Settings
from tubeflow.storage import open_storage
from service.worker import GRACEFUL_SHUTDOWN, gpu_activities

async def main():
    s = Settings.from_env()
    client = await connect(s)
    worker = Worker(client, task_queue=s.gpu_queue, activities=gpu_activities(s, open_storage(s)),
                    max_concurrent_activities=1, graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
                    max_heartbeat_throttle_interval=timedelta(milliseconds=100),
                    default_heartbeat_throttle_interval=timedelta(milliseconds=100))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        await stop.wait()

asyncio.run(main())
"""


async def kill_mid_render(
    env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture, command: list[str] | None,
    kill_when: Any,
) -> dict[str, Any]:  # fmt: skip
    """Render with the autoscaler running; SIGKILL the worker when ``kill_when(uploaded, checkpointed)``."""
    caplog.set_level(logging.INFO, logger="tubeflow.autoscaler")
    client = env.client
    settings = e2e_settings(tmp_path, env, segment_seconds=1.0)
    req, narration_s = render_inputs(settings, tmp_path)
    seg_dir = settings.resolved_storage_dir() / "productions" / "k1" / "render"
    options: dict[str, Any] = {"command": command} if command else {}
    provider = LocalProvider.from_settings(settings, cwd=REPO_ROOT, stop_deadline_s=25.0, **options)
    stop = asyncio.Event()
    policy = PolicyConfig(max_workers=1, idle_timeout_s=3, scale_up_cooldown_s=1, scale_down_cooldown_s=1)
    async with main_worker(client, settings):
        scaler_task = autoscaler(settings, client, provider, stop, policy)
        try:
            handle = await client.start_workflow(
                RenderHarness.run, args=[req, settings.gpu_queue, HEARTBEAT_S], id=f"render-{uuid.uuid4().hex[:8]}",
                task_queue=settings.main_queue,
            )  # fmt: skip

            async def checkpointed() -> int:
                desc = await handle.describe()
                for a in desc.raw_description.pending_activities:
                    if a.heartbeat_details.payloads:
                        return len(json.loads(a.heartbeat_details.payloads[0].data).get("segments", {}))
                return 0

            async def moment() -> bool:
                uploaded = len(list(seg_dir.rglob("seg-*.mp4")))
                return uploaded >= 14 or kill_when(uploaded, await checkpointed())

            await wait_until(moment, 60, "the moment to kill the worker", step=0.02)
            (victim,) = await asyncio.to_thread(provider.list)
            killed_pid = int(victim.labels["pid"])
            os.kill(killed_pid, signal.SIGKILL)  # no SIGTERM, no grace: a reclaimed spot VM
            uploaded_before_kill = len(list(seg_dir.rglob("seg-*.mp4")))
            t_kill = time.monotonic()
            result = await asyncio.wait_for(handle.result(), 90)
            t_recover = time.monotonic() - t_kill
        finally:
            stop.set()
            await asyncio.wait_for(scaler_task, 30)
            provider.close()
    resumed = result.segments_total - result.segments_rendered
    info = probe(open_storage(settings).fetch(result.video_key))
    return {
        "result": result,
        "uploaded": uploaded_before_kill,
        "resumed": resumed,
        # Finished segments attempt 1 had uploaded that attempt 2 encoded again (not in the checkpoint).
        "rework": uploaded_before_kill - resumed,
        "info": info,
        "frames_expected": round((narration_s + 0.5) * settings.fps),
        "launched": [e for e in decisions(caplog) if e["event"] == "launched"],
        "recover_s": t_recover,
    }


async def test_sigkilled_worker_is_replaced_and_the_render_resumes_from_its_checkpoint(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Killed at a moment of the worker's own progress (three segments uploaded), not aimed at a heartbeat.
    m = await kill_mid_render(
        temporal_env, tmp_path, caplog, [sys.executable, "-c", FAST_HEARTBEAT_WORKER], lambda up, cp: up >= 3
    )
    r = m["result"]
    assert m["resumed"] >= 2, "the replacement resumed from the checkpoint instead of starting over"
    assert m["rework"] <= 1, f"{m['rework']} finished segments encoded twice ({m})"
    assert m["info"].has_video and m["info"].has_audio
    assert m["info"].video_frames == m["frames_expected"], "complete: every frame present"
    assert r.segments_total >= 15
    assert len(m["launched"]) == 2, "the autoscaler started a replacement for the killed worker"
    print(f"\nSIGKILL (100 ms heartbeat throttle) after {m['uploaded']}/{r.segments_total} segments: "
          f"resumed {m['resumed']}, rework {m['rework']}, done {m['recover_s']:.1f}s after the kill")  # fmt: skip


async def test_stock_gpu_worker_rework_after_sigkill_is_at_most_one_segment(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Kill when two uploaded segments are not yet in the checkpoint Temporal holds: the throttle window.
    m = await kill_mid_render(temporal_env, tmp_path, caplog, None, lambda up, cp: cp >= 1 and up >= cp + 2)
    assert m["info"].video_frames == m["frames_expected"] and m["resumed"] >= 1 and len(m["launched"]) == 2
    print(f"\nSIGKILL (stock worker) after {m['uploaded']} segments: resumed {m['resumed']}, rework {m['rework']}")
    assert m["rework"] <= 1, f"{m['rework']} finished segments encoded twice"
