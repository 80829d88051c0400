"""Fan-out render scaling: prints ONE JSON object.

The same 1080p30 project (stills with Ken Burns, clips, cross-fades, captions, music; default
180 s) is rendered through a real Temporal dev server by 1, 2 and 3 real GPU worker processes
(``python -m cli worker --queue gpu``), each held to the same fixed CPU share: pinned to one core
(round-robin over the machine's cores) with ``TUBEFLOW_FFMPEG_THREADS`` = cores / 2.  The workflow
side is the production code (workflows.render_fanout) run by a harness workflow in this process.
Also rendered once as today's single ``render_video`` activity on one worker with the same share:
``fanout_cost_one_worker`` = fan-out with one worker / single activity - 1 (target <= 5%).
Every run renders under its own production id, so nothing is reused between runs.

Usage: python bench/render_fanout.py [--seconds 180] [--workers 1,2,3] [--skip-single]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.common import RetryPolicy  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

from bench.render import make_project  # noqa: E402
from tubeflow.contracts import RenderRequest, RenderResult  # noqa: E402
from tubeflow.media.probe import probe  # noqa: E402
from tubeflow.render_contracts import RenderJob  # noqa: E402
from tubeflow.settings import PREFIX, Settings  # noqa: E402
from tubeflow.storage import LocalStorage  # noqa: E402
from tubeflow.temporal_dev import DevServerConfig, start_server  # noqa: E402
from workflows.render_fanout import render_fanout  # noqa: E402

W, H, FPS = 1920, 1080, 30
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@workflow.defn(name="BenchFanoutRender")
class FanoutBench:
    @workflow.run
    async def run(self, job: RenderJob, gpu_queue: str) -> RenderResult:
        return await render_fanout(job, gpu_queue, RETRY)


@workflow.defn(name="BenchSingleRender")
class SingleBench:
    @workflow.run
    async def run(self, req: RenderRequest, gpu_queue: str) -> RenderResult:
        result: RenderResult = await workflow.execute_activity(
            "render_video", req, task_queue=gpu_queue, start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(seconds=60), retry_policy=RETRY, result_type=RenderResult,
        )  # fmt: skip
        return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload_project(store: LocalStorage, d: Path, seconds: float, pid: str) -> tuple[RenderRequest, float]:
    plan, voice, music, words = make_project(d / "media", seconds)
    for part in plan.parts:
        for item in part.items:
            item.key = store.put_file(f"media/{Path(item.key).name}", Path(item.key))
    plan.music_key = store.put_file("media/music.wav", music)
    store.put_text(f"productions/{pid}/plan-v1.json", plan.to_json())
    store.put_file(f"productions/{pid}/voice-v1.wav", voice)
    store.put_text(f"productions/{pid}/words.json", json.dumps(words))
    req = RenderRequest(pid, f"productions/{pid}/plan-v1.json", f"productions/{pid}/voice-v1.wav",
                        f"productions/{pid}/words.json", "", f"productions/{pid}/video.mp4")  # fmt: skip
    return req, probe(voice).duration_s


def for_run(req: RenderRequest, store: LocalStorage, tag: str) -> RenderRequest:
    """The same inputs under a fresh production id: no segment of an earlier run can be reused."""
    pid = f"{req.production_id}-{tag}"
    for name in ("plan-v1.json", "voice-v1.wav", "words.json"):
        store.put_file(f"productions/{pid}/{name}", store.fetch(f"productions/{req.production_id}/{name}"))
    return RenderRequest(pid, f"productions/{pid}/plan-v1.json", f"productions/{pid}/voice-v1.wav",
                         f"productions/{pid}/words.json", "", f"productions/{pid}/video.mp4")  # fmt: skip


def spawn_workers(settings: Settings, n: int, threads: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    from dataclasses import fields

    env = {**os.environ, **{PREFIX + f.name.upper(): str(getattr(settings, f.name)) for f in fields(settings)}}
    env[PREFIX + "FFMPEG_THREADS"] = str(threads)
    cores = sorted(os.sched_getaffinity(0))
    procs = []
    for k in range(n):
        cpu = cores[k % len(cores)]
        out = open(logs / f"gpu-{n}-{k}.log", "ab")  # noqa: SIM115 - handed to the child
        procs.append(
            subprocess.Popen(
                # One activity at a time per worker: the share is the pinned core, not extra slots.
                [sys.executable, "-m", "cli", "worker", "--queue", "gpu", "--concurrency", "1"],
                env={**env, PREFIX + "WORKER_IDENTITY": f"bench-gpu-{n}-{k}"},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}),  # type: ignore[misc]
            )  # fmt: skip
        )
        out.close()
    return procs


async def wait_pollers(client: Client, settings: Settings, n: int) -> None:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=settings.gpu_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )  # fmt: skip
        )
        if len({p.identity for p in resp.pollers if p.identity.startswith(f"bench-gpu-{n}-")}) >= n:
            return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{n} GPU workers did not start polling")


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


async def one_run(client: Client, settings: Settings, store: LocalStorage, base: RenderRequest, mode: str, n: int,
                  threads: int, logs: Path) -> dict[str, Any]:  # fmt: skip
    req = for_run(base, store, f"{mode}{n}-{uuid.uuid4().hex[:4]}")
    procs = spawn_workers(settings, n, threads, logs)
    try:
        await wait_pollers(client, settings, n)
        t0 = time.monotonic()
        wid = f"bench-{mode}-{n}-{uuid.uuid4().hex[:6]}"
        if mode == "single":
            result = await client.execute_workflow(SingleBench.run, args=[req, settings.gpu_queue], id=wid,
                                                   task_queue=settings.main_queue)  # fmt: skip
        else:
            job = RenderJob(req.production_id, req.plan_key, req.audio_key, req.words_key, "", req.output_key)
            result = await client.execute_workflow(FanoutBench.run, args=[job, settings.gpu_queue], id=wid,
                                                   task_queue=settings.main_queue)  # fmt: skip
        wall = time.monotonic() - t0
    finally:
        await asyncio.to_thread(stop_workers, procs)
    info = probe(store.fetch(result.video_key))
    return {
        "wall_s": round(wall, 2),
        "segments": result.segments_total,
        "segments_rendered": result.segments_rendered,
        "worker_seconds": result.gpu_seconds,
        "frames": info.video_frames,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0))
    threads = max(1, cores // 2)
    counts = [int(x) for x in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="tubeflow-fanout-") as tmp:
        d = Path(tmp)
        tag = uuid.uuid4().hex[:6]
        port = free_port()
        settings = Settings(home=d, width=W, height=H, fps=FPS, segment_seconds=10.0, video_quality="balanced",
                            temporal_address=f"127.0.0.1:{port}", main_queue=f"bench-main-{tag}",
                            gpu_queue=f"bench-gpu-{tag}")  # fmt: skip
        cfg = DevServerConfig.load()
        cfg.port, cfg.ui_port = port, free_port()
        cfg.db_filename = str(d / "temporal.sqlite")
        server = start_server(settings, cfg, log=d / "server.log")
        logs = d / "logs"
        logs.mkdir()
        try:
            store = LocalStorage(settings.resolved_storage_dir())
            base, narration_s = upload_project(store, d, args.seconds, "fan")
            client = None
            for _ in range(120):
                try:
                    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    await asyncio.sleep(0.5)
            assert client is not None, "dev server did not start"
            out: dict[str, Any] = {"video_s": round(narration_s + 0.5, 2), "size": f"{W}x{H}@{FPS}",
                                   "ffmpeg_threads_per_worker": threads, "cpu_share": "one pinned core per worker",
                                   "loadavg_before": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
            async with Worker(client, task_queue=settings.main_queue, workflows=[FanoutBench, SingleBench],
                              workflow_runner=UnsandboxedWorkflowRunner()):  # fmt: skip
                if not args.skip_single:
                    out["single_activity_1_worker"] = await one_run(client, settings, store, base, "single", 1,
                                                                    threads, logs)  # fmt: skip
                runs = {}
                for n in counts:
                    runs[str(n)] = await one_run(client, settings, store, base, "fanout", n, threads, logs)
                out["fanout"] = runs
            one = runs.get("1")
            if one:
                for r in runs.values():
                    r["speedup_vs_1"] = round(one["wall_s"] / r["wall_s"], 3)
                if "single_activity_1_worker" in out:
                    single = out["single_activity_1_worker"]["wall_s"]
                    out["fanout_cost_one_worker"] = round(one["wall_s"] / single - 1, 4)
            out["machine"] = {"cpus": cores, "platform": platform.platform(), "note": args.note}
            return out
        finally:
            server.terminate()
            server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--skip-single", action="store_true")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
