"""A channel with a cadence starts its own productions and stops at the back-pressure limit.

Real dev server: the channel's Temporal Schedule is created from its settings (its next start
times are the slots minus the lead time), and triggering it runs exactly what the timer would.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from service.cadence import describe, set_paused, sync_schedule
from service.client import cancel
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint
from tubeflow.contracts import cadence_schedule_id
from tubeflow.db import channel_repo, repo


async def _trigger_and_wait(client: Client, channel: str) -> str:
    """Fire the schedule once, as its timer would, and return that run's result."""
    handle = client.get_schedule_handle(cadence_schedule_id(channel))
    before = (await handle.describe()).info.num_actions
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        info = (await handle.describe()).info
        if info.num_actions > before and info.recent_actions:
            started = info.recent_actions[-1].action
            assert isinstance(started, ScheduleActionExecutionStartWorkflow)
            run = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id)
            return str(await run.result())
        assert asyncio.get_running_loop().time() < deadline, "the schedule did not start its run"
        await asyncio.sleep(0.2)


async def test_cadence_starts_productions_and_stops_at_back_pressure(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    channel = f"cad{uuid.uuid4().hex[:6]}"
    async with running_stack(client, settings, gpu=False) as stack:
        await repo.create_channel(stack.db, channel, "science")
        await channel_repo.update_settings(
            stack.db,
            channel,
            {
                "publish_slots": "mon,thu 17:00",
                "privacy": "public",
                "timezone": "Europe/Lisbon",
                "lead_time_hours": "48",
                "cadence": "true",
                "max_waiting_reviews": "1",
            },
        )
        await channel_repo.add_topic(stack.db, channel, "How do rainbows form?")
        cs = await channel_repo.channel_settings(stack.db, channel)
        assert await sync_schedule(client, settings, channel, cs) == "cadence schedule created"
        try:
            info = await describe(client, channel)
            for _ in range(50):  # the server computes the next times just after creating the schedule
                if info and info["next"]:
                    break
                await asyncio.sleep(0.2)
                info = await describe(client, channel)
            assert info is not None and not info["paused"]
            tz = ZoneInfo("Europe/Lisbon")
            starts = [datetime.fromisoformat(t).astimezone(tz) for t in info["next"]]
            # 48 h before Monday and Thursday 17:00: Saturday and Tuesday 17:00, channel time.
            assert starts and all(
                (t.strftime("%a"), t.hour, t.minute) in {("Sat", 17, 0), ("Tue", 17, 0)} for t in starts
            )
            assert starts[0] > datetime.now(UTC) and starts[0] - datetime.now(UTC) <= timedelta(days=7)

            run = await _trigger_and_wait(client, channel)
            assert "(backlog): How do rainbows form?" in run, run
            started = await repo.list_productions(stack.db, channel=channel)
            assert [p.topic for p in started] == ["How do rainbows form?"]
            await wait_checkpoint(client, started[0].id, "script")

            # One production waits for review and the limit is 1: the next run starts nothing.
            await channel_repo.add_topic(stack.db, channel, "Why is the sea salty?")
            run = await _trigger_and_wait(client, channel)
            assert "back-pressure" in run and "max_waiting_reviews=1" in run, run
            assert len(await repo.list_productions(stack.db, channel=channel)) == 1
            assert [t.topic for t in await channel_repo.list_topics(stack.db, channel)] == ["Why is the sea salty?"]

            await set_paused(client, channel, True)
            info = await describe(client, channel)
            assert info is not None and info["paused"]
            await cancel(client, started[0].id, "test over")
        finally:
            await client.get_schedule_handle(cadence_schedule_id(channel)).delete()


@pytest.mark.slow
async def test_the_schedule_starts_a_production_by_itself_before_the_slot(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """No trigger: a slot 1 h 2 min ahead with a 1 h lead time, so the schedule's own timer fires in ~2 min."""
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    channel = f"cad{uuid.uuid4().hex[:6]}"
    tz = ZoneInfo("America/New_York")
    slot = (datetime.now(UTC) + timedelta(hours=1, minutes=2)).astimezone(tz).replace(second=0, microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[slot.weekday()]
    async with running_stack(client, settings, gpu=False) as stack:
        await repo.create_channel(stack.db, channel, "science")
        await channel_repo.update_settings(
            stack.db,
            channel,
            {
                "publish_slots": f"{day} {slot.hour:02d}:{slot.minute:02d}",
                "privacy": "public",
                "timezone": tz.key,
                "lead_time_hours": "1",
                "cadence": "true",
            },
        )
        await channel_repo.add_topic(stack.db, channel, "Why do we have seasons?")
        await sync_schedule(client, settings, channel, await channel_repo.channel_settings(stack.db, channel))
        try:
            deadline = asyncio.get_running_loop().time() + 200
            while not (started := await repo.list_productions(stack.db, channel=channel)):
                assert asyncio.get_running_loop().time() < deadline, "the schedule never started a production"
                await asyncio.sleep(1)
            assert [p.topic for p in started] == ["Why do we have seasons?"]
            fired = datetime.now(UTC)
            assert timedelta(minutes=58) <= slot - fired <= timedelta(hours=1)  # the lead time before its slot
            await wait_checkpoint(client, started[0].id, "script")
            await cancel(client, started[0].id, "test over")
        finally:
            await client.get_schedule_handle(cadence_schedule_id(channel)).delete()
