"""Worker processes: `tubeflow worker --queue main|gpu`.

The main worker runs every workflow and the CPU/IO activities; the GPU worker runs only the
FFmpeg/Whisper activities and can live on another machine (it needs Temporal and the storage,
not the database).  On SIGTERM, the spot-instance notice, a worker stops polling and gives
running activities a grace period to heartbeat their last checkpoint before it exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from tubeflow.db.engine import Database
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage

log = logging.getLogger("tubeflow.worker")
GRACEFUL_SHUTDOWN = timedelta(seconds=20)
HEARTBEAT_THROTTLE = timedelta(seconds=1)


def workflow_classes() -> list[type]:
    from workflows.analytics import ChannelAnalyticsWorkflow
    from workflows.cadence import ChannelCadenceWorkflow
    from workflows.digest import NotificationDigestWorkflow
    from workflows.maintenance import KnowledgeMaintenanceWorkflow
    from workflows.production import ProductionWorkflow
    from workflows.shorts import ShortsWorkflow
    from workflows.video_job import VideoJobWorkflow

    return [
        ProductionWorkflow,
        ShortsWorkflow,
        VideoJobWorkflow,
        KnowledgeMaintenanceWorkflow,
        ChannelCadenceWorkflow,
        ChannelAnalyticsWorkflow,
        NotificationDigestWorkflow,
    ]


def main_activities(settings: Settings, storage: Storage, db: Database) -> Sequence[Any]:
    """Every main-queue activity, room by room (each room is one concern; names never change)."""
    from activities.adapter_base import MainAdapter
    from activities.analytics_activities import AnalyticsActivities
    from activities.cadence_activities import CadenceActivities
    from activities.callbacks import CallbackActivities
    from activities.cross_post_activities import CrossPostActivities
    from activities.notify_activities import NotifyActivities
    from activities.publish_activities import PublishActivities
    from activities.record_activities import RecordActivities
    from activities.stage_activities import StageActivities

    rooms: list[type[MainAdapter]] = [
        StageActivities,
        PublishActivities,
        CrossPostActivities,
        RecordActivities,
        NotifyActivities,
        AnalyticsActivities,
        CadenceActivities,
    ]
    adapters = [fn for room in rooms for fn in room(settings, storage, db).all()]
    return [*adapters, *CallbackActivities(settings).all()]


def gpu_activities(settings: Settings, storage: Storage) -> Sequence[Any]:
    from gpu_activities.activities import GpuActivities

    return GpuActivities(settings, storage).all()


def build_main_worker(
    client: Client, settings: Settings, storage: Storage, db: Database, interceptors: Sequence[Interceptor] = ()
) -> Worker:
    return Worker(
        client,
        interceptors=interceptors,
        task_queue=settings.main_queue,
        workflows=workflow_classes(),
        activities=main_activities(settings, storage, db),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        # CPU activities (Piper, Pillow) beyond one per core only queue on the CPU and starve the
        # workflow tasks that answer reviewers: measured approve p95 379 ms unlimited, 34 ms here.
        max_concurrent_activities=settings.main_activity_slots or (os.cpu_count() or 2),
    )


def build_gpu_worker(
    client: Client,
    settings: Settings,
    storage: Storage,
    concurrency: int = 1,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    # One render at a time per GPU: two FFmpeg encodes on one card only slow each other down.
    # Heartbeats go out within a second: by default Temporal holds them for 0.8 x the heartbeat
    # timeout, and a worker killed in that window would lose every segment finished since.
    extra: dict[str, Any] = {"identity": settings.worker_identity} if settings.worker_identity else {}
    return Worker(
        client,
        task_queue=settings.gpu_queue,
        interceptors=interceptors,
        # The activities cut fan-out segments by the slots (tubeflow.media.encoders.gpu_slots).
        activities=gpu_activities(settings.with_overrides(gpu_slots=concurrency), storage),
        max_concurrent_activities=concurrency,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        **extra,
    )


async def run_worker(queue: str, settings: Settings, concurrency: int = 0) -> None:
    """``concurrency`` (GPU queue): activities at once; 0 = :func:`gpu_slots`."""
    from service.client import connect
    from service.observability import ActivityMetrics, metrics_runtime, set_price

    # Temporal SDK metrics and ours on one Prometheus port, when asked for.
    runtime = None
    if settings.worker_metrics_port:
        try:
            runtime = metrics_runtime(settings.worker_metrics_port)
        except Exception as e:  # noqa: BLE001 - a busy port (two workers on one host) must not stop the worker
            log.warning("worker metrics off: cannot serve port %s (%s)", settings.worker_metrics_port, e)
    client = await connect(settings, runtime=runtime)
    storage = open_storage(settings)
    probe = ActivityMetrics()
    db = None
    if queue == "main":
        from tubeflow.db.engine import open_database
        from tubeflow.schedules import ensure_schedules

        db = await open_database(settings)
        worker = build_main_worker(client, settings, storage, db, [probe])
        await ensure_schedules(client, settings)
        from service.cadence import sync_all

        await sync_all(client, settings, db)
        from tubeflow.schedules import ensure_analytics_schedules

        await ensure_analytics_schedules(client, settings, db)
    elif queue == "gpu":
        from tubeflow.media.encoders import gpu_slots

        if concurrency > 0:
            settings = settings.with_overrides(gpu_slots=concurrency)
        slots, why = await asyncio.to_thread(gpu_slots, settings)
        log.info("GPU worker runs %d activities at once: %s", slots, why)
        worker = build_gpu_worker(client, settings, storage, slots, [probe])
    else:
        raise ValueError(f"queue must be 'main' or 'gpu', not {queue!r}")

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def _stop(signame: str) -> None:
        if not stopping.is_set():
            log.warning("%s received: stop polling, let running activities checkpoint, then exit", signame)
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, sig.name)

    exporter = None
    if runtime is not None:
        set_price(runtime.metric_meter, settings.worker_price_per_hour, worker.task_queue)
        exporter = asyncio.create_task(probe.export(runtime.metric_meter, worker.task_queue))
    async with worker:
        log.info(
            "worker for %s queue %s running",
            queue,
            worker.task_queue,
            extra={"fields": {"metrics_port": settings.worker_metrics_port, "identity": settings.worker_identity}},
        )
        await stopping.wait()
    if exporter is not None:
        exporter.cancel()
    if db is not None:
        await db.close()
