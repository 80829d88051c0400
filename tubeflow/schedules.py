"""Temporal Schedules tubeflow relies on, created idempotently when a main worker starts."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from tubeflow.db.engine import Database
from tubeflow.settings import Settings

KNOWLEDGE_SCHEDULE_ID = "tubeflow-knowledge-maintenance"
DIGEST_SCHEDULE_ID = "tubeflow-daily-digest"


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

    digest = Schedule(
        action=ScheduleActionStartWorkflow(
            "NotificationDigestWorkflow", id=f"{DIGEST_SCHEDULE_ID}-run", task_queue=settings.main_queue
        ),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(settings.digest_hour_utc)])]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(digest_schedule_id(settings), digest)
    except ScheduleAlreadyRunningError:
        pass


def digest_schedule_id(settings: Settings) -> str:
    return f"{DIGEST_SCHEDULE_ID}-{settings.main_queue}"


ANALYTICS_EVERY = timedelta(days=1)


async def ensure_analytics_schedule(client: Client, settings: Settings, channel: str) -> bool:
    """The channel's daily analytics Schedule; True when it was created now (it triggers at once then,
    so a newly connected channel gets its 28-day backfill without waiting a day)."""
    from tubeflow.contracts import ANALYTICS_WORKFLOW, AnalyticsInput, analytics_schedule_id

    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ANALYTICS_WORKFLOW,
            AnalyticsInput(channel),
            id=f"analytics-{channel}",
            task_queue=settings.main_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=ANALYTICS_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(analytics_schedule_id(channel), schedule, trigger_immediately=True)
    except ScheduleAlreadyRunningError:
        return False
    return True


async def remove_analytics_schedule(client: Client, channel: str) -> bool:
    """Delete the channel's analytics Schedule (its account is gone); False when there was none."""
    from temporalio.service import RPCError, RPCStatusCode

    from tubeflow.contracts import analytics_schedule_id

    try:
        await client.get_schedule_handle(analytics_schedule_id(channel)).delete()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def analytics_channels(db: Database) -> set[str]:
    """The channels with something to collect: a YouTube account, or a TikTok or Instagram one."""
    from tubeflow.db import channel_repo, platform_repo

    youtube = await channel_repo.list_accounts(db)
    return set(youtube) | {a.channel for a in await platform_repo.list_accounts(db)}


async def ensure_analytics_schedules(client: Client, settings: Settings, db: Database) -> list[str]:
    """One Schedule per channel with a connected YouTube, TikTok or Instagram account, none for the
    others (an account disconnected while Temporal was down); the channels it created one for."""
    from tubeflow.db import repo

    made = []
    wanted = await analytics_channels(db)
    for channel in sorted(wanted):
        if await ensure_analytics_schedule(client, settings, channel):
            made.append(channel)
    for ch in await repo.list_channels(db):
        if ch.name not in wanted:
            await remove_analytics_schedule(client, ch.name)
    return made


async def stop_analytics_if_unwanted(client: Client, db: Database, channel: str) -> bool:
    """After an account was disconnected: remove the channel's Schedule when no account is left
    (YouTube, TikTok or Instagram); True when it was removed."""
    if channel in await analytics_channels(db):
        return False
    return await remove_analytics_schedule(client, channel)
