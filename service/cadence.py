"""Each channel's cadence as a Temporal Schedule: created, updated, paused and resumed from its settings.

The schedule fires ``lead_time_hours`` before each publishing slot, in the channel's time zone,
and starts a ``ChannelCadenceWorkflow`` run (which starts the production unless back-pressure
says no).  It is an ordinary Temporal Schedule, so it is visible and pausable in the Web UI too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from tubeflow.channel_settings import ChannelSettings
from tubeflow.contracts import CADENCE_WORKFLOW, CadenceInput, cadence_schedule_id
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings

WEEK_MIN = 7 * 24 * 60


def start_times(cs: ChannelSettings) -> list[ScheduleCalendarSpec]:
    """One calendar entry per slot day, ``lead_time_hours`` earlier (wall clock, channel time zone)."""
    lead = round(cs.lead_time_hours * 60)
    out: dict[tuple[int, int, int], ScheduleCalendarSpec] = {}
    for slot in cs.slots:
        for day in slot.days:  # 0 = Monday
            m = (day * 1440 + slot.hour * 60 + slot.minute - lead) % WEEK_MIN
            d, h, mi = m // 1440, m % 1440 // 60, m % 60
            out[(d, h, mi)] = ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(mi)],
                hour=[ScheduleRange(h)],
                day_of_week=[ScheduleRange((d + 1) % 7)],  # Temporal: 0 = Sunday
                comment=f"{lead / 60:g} h before {slot}",
            )
    return [out[k] for k in sorted(out)]


def build_schedule(settings: Settings, channel: str, cs: ChannelSettings, paused: bool) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            CADENCE_WORKFLOW,
            CadenceInput(channel, settings.main_queue),
            id=f"cadence-{channel}",
            task_queue=settings.main_queue,
        ),
        spec=ScheduleSpec(calendars=start_times(cs), time_zone_name=cs.timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)),
        state=ScheduleState(paused=paused, note="tubeflow channel cadence"),
    )


async def sync_schedule(client: Client, settings: Settings, channel: str, cs: ChannelSettings) -> str:
    """Make the channel's schedule match its settings; returns what happened, in words."""
    sid = cadence_schedule_id(channel)
    handle = client.get_schedule_handle(sid)
    if not cs.cadence or not cs.publish_slots:
        try:
            await handle.delete()
            return "cadence schedule removed"
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return "no cadence schedule"
            raise
    try:
        await client.create_schedule(sid, build_schedule(settings, channel, cs, paused=False))
        return "cadence schedule created"
    except ScheduleAlreadyRunningError:
        pass

    def update(inp: ScheduleUpdateInput) -> ScheduleUpdate:
        paused = inp.description.schedule.state.paused
        return ScheduleUpdate(schedule=build_schedule(settings, channel, cs, paused=paused))

    await handle.update(update)
    return "cadence schedule updated"


async def set_paused(client: Client, channel: str, paused: bool, note: str = "") -> None:
    handle = client.get_schedule_handle(cadence_schedule_id(channel))
    try:
        if paused:
            await handle.pause(note=note or "paused with `tubeflow channel pause`")
        else:
            await handle.unpause(note=note or "resumed with `tubeflow channel resume`")
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise PermanentError(
                f"channel {channel!r} has no cadence schedule; set publish_slots and cadence=true first"
            ) from None
        raise


async def describe(client: Client, channel: str) -> dict[str, Any] | None:
    try:
        d = await client.get_schedule_handle(cadence_schedule_id(channel)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return {
        "id": d.id,
        "paused": d.schedule.state.paused,
        "note": d.schedule.state.note or "",
        "next": [t.isoformat() for t in d.info.next_action_times[:5]],
        "runs": d.info.num_actions,
    }


async def sync_all(client: Client, settings: Settings, db: Database) -> None:
    """Every channel with a cadence gets its schedule (settings changed while Temporal was down)."""
    from tubeflow.channel_settings import parse_settings
    from tubeflow.db import repo

    for ch in await repo.list_channels(db):
        try:
            cs = parse_settings(ch.settings)
        except PermanentError:
            continue
        if cs.cadence:
            await sync_schedule(client, settings, ch.name, cs)
