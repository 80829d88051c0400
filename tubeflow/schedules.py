"""Temporal Schedules tubeflow relies on, created idempotently when a main worker starts."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from tubeflow.settings import Settings

KNOWLEDGE_SCHEDULE_ID = "tubeflow-knowledge-maintenance"


async def ensure_schedules(client: Client, settings: Settings, every: timedelta = timedelta(days=1)) -> None:
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            "KnowledgeMaintenanceWorkflow",
            id=f"{KNOWLEDGE_SCHEDULE_ID}-run",
            task_queue=settings.main_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(f"{KNOWLEDGE_SCHEDULE_ID}-{settings.main_queue}", schedule)
    except ScheduleAlreadyRunningError:
        pass
