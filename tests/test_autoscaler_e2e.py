"""The autoscaler against a real Temporal dev server with real worker processes (local provider).

* the backlog reader: DescribeTaskQueue stats, pollers and busy workers as Temporal reports them;
* scale from zero: three GPU jobs queued with no worker -> workers start -> jobs finish -> workers
  stop after the (shortened) idle timeout;
* spot safety: SIGKILL the worker mid-render -> the heartbeat timeout hands the activity back ->
  the autoscaler starts a replacement -> it resumes from the heartbeat checkpoint; the output is
  complete and valid and at most one segment was encoded twice.

Until ``gpu_activities.activities`` (the real render adapter) lands, the GPU worker here is a small
stand-in process with one segmented FFmpeg activity that checkpoints the way the render does (the
list of finished segments in heartbeat details).  Everything else is production code: controller,
policy, local provider, backlog reader, cost ledger.
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

from autoscaler.backlog import describe_backlog, observe_queue
from autoscaler.controller import ControllerConfig, run_autoscaler
from autoscaler.metrics import TubeflowMetrics
from autoscaler.policy import PolicyConfig
from autoscaler.providers.local import LocalProvider
from tests.conftest import tiny_settings
from tubeflow.media.probe import probe
from tubeflow.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.slow

# The stand-in GPU worker: a real process polling the GPU queue with one activity that encodes N
# segments with FFmpeg, heartbeating the finished list after each, resuming from heartbeat details.
STANDIN_WORKER = r"""
import asyncio, os, subprocess, time
from concurrent.futures import ThreadPoolExecutor
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker
import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

@activity.defn(name="segmented_render")
def segmented_render(out_dir: str, segments: int, seg_s: float, pause_s: float) -> dict:
    details = activity.info().heartbeat_details
    done = sorted(int(i) for i in details[0]) if details else []
    rendered = []
    for i in range(segments):
        if i in done:
            continue
        path = os.path.join(out_dir, f"seg{i:03d}.mp4")
        subprocess.run([FFMPEG, "-y", "-v", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size=320x180:rate=15:duration={seg_s}", "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", path], check=True)
        time.sleep(pause_s)  # stands for GPU time; keeps the kill window wide enough to aim at
        with open(os.path.join(out_dir, "encodes.log"), "a") as f:
            f.write(f"{i} {os.getpid()}\n")
        done.append(i)
        rendered.append(i)
        activity.heartbeat(done)
    listing = os.path.join(out_dir, "list.txt")
    with open(listing, "w") as f:
        f.writelines(f"file 'seg{i:03d}.mp4'\n" for i in range(segments))
    out = os.path.join(out_dir, "final.mp4")
    subprocess.run([FFMPEG, "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", listing,
                    "-c", "copy", out], check=True)
    return {"output": out, "rendered": rendered, "pid": os.getpid(), "attempt": activity.info().attempt}

async def main():
    client = await Client.connect(os.environ["TUBEFLOW_TEMPORAL_ADDRESS"],
                                  namespace=os.environ.get("TUBEFLOW_TEMPORAL_NAMESPACE", "default"))
    worker = Worker(client, task_queue=os.environ["TUBEFLOW_GPU_QUEUE"], activities=[segmented_render],
                    activity_executor=ThreadPoolExecutor(2), max_concurrent_activities=1,
                    graceful_shutdown_timeout=__import__("datetime").timedelta(seconds=5))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        await stop.wait()

asyncio.run(main())
"""


@workflow.defn(name="AutoscaleRenderJob")
class RenderJob:
    @workflow.run
    async def run(self, args: dict[str, Any]) -> dict[str, Any]:
        return await workflow.execute_activity(
            "segmented_render",
            args=[args["out_dir"], args["segments"], args["seg_s"], args["pause_s"]],
            task_queue=args["queue"],
            start_to_close_timeout=timedelta(minutes=3),
            heartbeat_timeout=timedelta(seconds=args["heartbeat_s"]),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5),
        )


def e2e_settings(tmp_path: Path, env: WorkflowEnvironment) -> Settings:
    address = env.client.service_client.config.target_host
    return tiny_settings(tmp_path, temporal_address=address)


def standin_provider(settings: Settings) -> LocalProvider:
    return LocalProvider.from_settings(
        settings, command=[sys.executable, "-c", STANDIN_WORKER], cwd=REPO_ROOT, stop_deadline_s=8.0
    )


async def start_jobs(client: Client, settings: Settings, tmp_path: Path, n: int, **job: Any) -> list[Any]:
    handles = []
    for i in range(n):
        out = tmp_path / f"job{i}"
        out.mkdir()
        args = {
            "out_dir": str(out),
            "queue": settings.gpu_queue,
            "segments": 3,
            "seg_s": 1.0,
            "pause_s": 0.0,
            "heartbeat_s": 10,
            **job,
        }
        handles.append(
            await client.start_workflow(
                RenderJob.run, args, id=f"videojob-e2e-{uuid.uuid4().hex[:8]}", task_queue=settings.main_queue
            )
        )
    return handles


def decisions(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    out = []
    for rec in caplog.records:
        if rec.name == "tubeflow.autoscaler":
            out.append(json.loads(rec.getMessage()))
    return out


async def wait_until(predicate: Any, timeout_s: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


# ------------------------------------------------------------------------------ backlog reader


async def test_backlog_pollers_and_busy_worker_read_from_temporal(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env)
    ns, queue = settings.temporal_namespace, settings.gpu_queue
    gate = asyncio.Event()

    @activity.defn(name="segmented_render")
    async def held(out_dir: str, segments: int, seg_s: float, pause_s: float) -> dict[str, Any]:
        while not gate.is_set():
            activity.heartbeat()
            await asyncio.sleep(0.2)
        return {}

    async with Worker(
        client, task_queue=settings.main_queue, workflows=[RenderJob], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        handles = await start_jobs(client, settings, tmp_path, 3)

        async def three_waiting() -> bool:
            return (await describe_backlog(client, ns, queue)).backlog_count == 3

        # Stats populate on the dev server as is, behind a ~5 s matching cache (TaskQueueInfoByBuildIdTTL).
        await wait_until(three_waiting, 15, "backlog 3 on the GPU queue")
        obs = await observe_queue(client, ns, queue)
        assert obs.backlog_age_s > 0 and obs.pollers == {} and obs.busy == {}
        async with Worker(
            client, task_queue=queue, activities=[held], identity="gpu-probe-1", max_concurrent_activities=1
        ):

            async def one_busy() -> bool:
                o = await observe_queue(client, ns, queue)
                return "gpu-probe-1" in o.pollers and len(o.busy.get("gpu-probe-1", [])) == 1

            await wait_until(one_busy, 15, "the probe worker polling and busy")
            obs = await observe_queue(client, ns, queue)
            assert obs.busy["gpu-probe-1"][0] in {h.id for h in handles}
            gate.set()
            for h in handles:
                await h.result()
        obs = await observe_queue(client, ns, queue)
        assert obs.busy == {}


# ------------------------------------------------------------------------------ scale from zero and back


async def test_three_jobs_scale_from_zero_finish_and_scale_back_to_zero(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tubeflow.autoscaler")
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env)
    provider = standin_provider(settings)
    metrics = TubeflowMetrics()
    stop = asyncio.Event()
    policy = PolicyConfig(max_workers=3, idle_timeout_s=4, scale_up_cooldown_s=5, scale_down_cooldown_s=2)
    config = ControllerConfig(interval_s=0.5, ready_timeout_s=40, unknown_grace_s=30)
    async with Worker(
        client, task_queue=settings.main_queue, workflows=[RenderJob], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        assert await asyncio.to_thread(provider.list) == [], "starts from zero workers"
        handles = await start_jobs(client, settings, tmp_path, 3, pause_s=0.5)

        async def three_waiting() -> bool:
            return (await describe_backlog(client, settings.temporal_namespace, settings.gpu_queue)).backlog_count == 3

        await wait_until(three_waiting, 15, "three renders waiting with no worker")
        t0 = time.monotonic()
        scaler_task = asyncio.create_task(
            run_autoscaler(
                settings,
                "local",
                stop=stop,
                client=client,
                policy=policy,
                config=config,
                metrics=metrics,
                metrics_port=0,
                provider=provider,
            )
        )
        try:
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 60)
            t_done = time.monotonic() - t0
            worker_pids = {int(i.labels["pid"]) for i in await asyncio.to_thread(provider.list)}
            for r in results:
                info = probe(r["output"])
                assert info.has_video and (info.width, info.height) == (320, 180)
                assert info.duration_s == pytest.approx(3.0, abs=0.15)

            async def all_stopped() -> bool:
                return await asyncio.to_thread(provider.list) == []

            await wait_until(all_stopped, 30, "the workers to stop after the idle timeout")
            t_zero = time.monotonic() - t0
        finally:
            stop.set()
            scaler = await asyncio.wait_for(scaler_task, 15)
            provider.close()
    events = decisions(caplog)
    launched = [e for e in events if e["event"] == "launched"]
    assert len(launched) == 3, "three renders waiting, max 3: three workers at once"
    assert {r["pid"] for r in results} <= worker_pids, "every render ran on a worker the autoscaler started"
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
    print(f"\nscale-from-zero: renders done {t_done:.1f}s after the autoscaler started, zero workers at {t_zero:.1f}s")


# ------------------------------------------------------------------------------ SIGKILL mid-render


async def test_sigkilled_worker_is_replaced_and_the_render_resumes_from_its_checkpoint(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tubeflow.autoscaler")
    client = temporal_env.client
    settings = e2e_settings(tmp_path, temporal_env)
    provider = standin_provider(settings)
    stop = asyncio.Event()
    policy = PolicyConfig(max_workers=1, idle_timeout_s=3, scale_up_cooldown_s=1, scale_down_cooldown_s=1)
    config = ControllerConfig(interval_s=0.5, ready_timeout_s=40, unknown_grace_s=30)
    segments = 8
    async with Worker(
        client, task_queue=settings.main_queue, workflows=[RenderJob], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        scaler_task = asyncio.create_task(
            run_autoscaler(
                settings,
                "local",
                stop=stop,
                client=client,
                policy=policy,
                config=config,
                metrics=TubeflowMetrics(),
                metrics_port=0,
                provider=provider,
            )
        )
        try:
            (handle,) = await start_jobs(client, settings, tmp_path, 1, segments=segments, pause_s=0.8, heartbeat_s=2)
            log_path = tmp_path / "job0" / "encodes.log"

            async def checkpointed(n: int) -> bool:
                desc = await handle.describe()
                for a in desc.raw_description.pending_activities:
                    if a.heartbeat_details.payloads:
                        done = json.loads(a.heartbeat_details.payloads[0].data)
                        return len(done) >= n
                return False

            # Kill right after the server has a checkpoint with 3 segments: what a reclaimed spot VM does.
            await wait_until(lambda: checkpointed(3), 40, "three checkpointed segments", step=0.05)
            (victim,) = await asyncio.to_thread(provider.list)
            os.kill(int(victim.labels["pid"]), signal.SIGKILL)
            killed_pid = int(victim.labels["pid"])
            result = await asyncio.wait_for(handle.result(), 60)
        finally:
            stop.set()
            await asyncio.wait_for(scaler_task, 15)
            provider.close()
    encodes = [tuple(map(int, line.split())) for line in log_path.read_text().split("\n") if line]
    assert result["pid"] != killed_pid and result["attempt"] == 2
    by_seg: dict[int, int] = {}
    for seg, _pid in encodes:
        by_seg[seg] = by_seg.get(seg, 0) + 1
    assert sorted(by_seg) == list(range(segments)), "every segment encoded"
    rework = sum(n - 1 for n in by_seg.values())
    assert rework <= 1, f"re-encoded {rework} segments: {encodes}"
    assert min(result["rendered"]) >= 3, "the replacement started from the checkpoint, not from zero"
    info = probe(result["output"])
    assert info.has_video and info.duration_s == pytest.approx(segments * 1.0, abs=0.2)
    launched = [e for e in decisions(caplog) if e["event"] == "launched"]
    assert len(launched) == 2, "the replacement worker was started by the autoscaler"
    print(f"\nSIGKILL: rework {rework} segment(s); resumed attempt rendered {result['rendered']}")
