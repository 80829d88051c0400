"""Channel settings, the YouTube account per channel, the publishing calendar, topic backlog, quota ledger.

Same rules as :mod:`tubeflow.db.repo`: one short transaction per function, detached records out,
idempotent where an activity calls (a retried activity must not reserve a second slot or spend
quota twice for one call).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tubeflow.channel_settings import ChannelSettings, next_free_slot, parse_settings, updated
from tubeflow.db.engine import Database
from tubeflow.db.models import (
    ChannelRow,
    EventRow,
    ProductionRow,
    PublicationRow,
    QuotaUsageRow,
    TopicRow,
    YouTubeAccountRow,
)
from tubeflow.db.records import Channel, Publication, Topic, YouTubeAccount
from tubeflow.db.repo import TERMINAL_STATES, NotFoundError, _channel, _clean_name
from tubeflow.db.types import to_utc, utcnow
from tubeflow.errors import PermanentError
from tubeflow.events import EventKind


async def _channel_or_404(s: AsyncSession, name: str) -> ChannelRow:
    row = (await s.execute(select(ChannelRow).where(ChannelRow.name == name))).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"unknown channel {name!r}; create it with `tubeflow channel add {name} --niche NICHE`")
    return row


# ---------------------------------------------------------------- settings


async def channel_settings(db: Database, name: str) -> ChannelSettings:
    async with db.session() as s:
        return parse_settings((await _channel_or_404(s, name)).settings)


async def update_settings(db: Database, name: str, changes: dict[str, Any]) -> Channel:
    """Validate and store ``changes``; nothing is written when one of them is refused."""
    async with db.session() as s:
        row = await _channel_or_404(s, name)
        row.settings = updated(row.settings, changes)
        await s.flush()
        return _channel(row)


# ---------------------------------------------------------------- YouTube account


def _account(row: YouTubeAccountRow, channel: str) -> YouTubeAccount:
    return YouTubeAccount(
        channel,
        row.project,
        row.youtube_channel_id,
        row.youtube_title,
        row.status,
        row.reason,
        row.connected_at,
        row.updated_at,
    )


async def save_account(
    db: Database, channel: str, credentials_enc: str, project: str, youtube_channel_id: str, youtube_title: str
) -> YouTubeAccount:
    """Connect (or reconnect) a channel: replaces its credentials and clears "reconnect needed"."""
    now = utcnow()
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        row = (
            await s.execute(select(YouTubeAccountRow).where(YouTubeAccountRow.channel_id == ch.id))
        ).scalar_one_or_none()
        if row is None:
            row = YouTubeAccountRow(channel_id=ch.id, connected_at=now)
            s.add(row)
        row.credentials_enc = credentials_enc
        row.project = project or "default"
        row.youtube_channel_id = youtube_channel_id
        row.youtube_title = youtube_title
        row.status, row.reason, row.updated_at = "connected", "", now
        row.connected_at = now
        await s.flush()
        return _account(row, ch.name)


async def _account_row(s: AsyncSession, channel: str) -> tuple[ChannelRow, YouTubeAccountRow | None]:
    ch = await _channel_or_404(s, channel)
    row = (await s.execute(select(YouTubeAccountRow).where(YouTubeAccountRow.channel_id == ch.id))).scalar_one_or_none()
    return ch, row


async def get_account(db: Database, channel: str) -> YouTubeAccount | None:
    async with db.session() as s:
        ch, row = await _account_row(s, channel)
        return None if row is None else _account(row, ch.name)


async def account_credentials(db: Database, channel: str) -> tuple[YouTubeAccount, str] | None:
    """The account and its encrypted credentials, for the publisher only (never the API)."""
    async with db.session() as s:
        ch, row = await _account_row(s, channel)
        return None if row is None else (_account(row, ch.name), row.credentials_enc)


async def mark_reconnect_needed(db: Database, channel: str, reason: str) -> None:
    """Mark the account; the first time, an ``account_reconnect_needed`` event (live feed, notifiers)."""
    async with db.session() as s:
        ch, row = await _account_row(s, channel)
        if row is not None and row.status != "reconnect_needed":
            row.status, row.reason, row.updated_at = "reconnect_needed", reason, utcnow()
            payload = {"channel": ch.name, "reason": reason, "youtube_channel_id": row.youtube_channel_id}
            s.add(EventRow(production_id=None, kind=EventKind.ACCOUNT_RECONNECT_NEEDED, payload=payload, at=utcnow()))


async def remove_account(db: Database, channel: str) -> YouTubeAccount | None:
    """Forget the channel's YouTube account: its encrypted credentials are deleted, not kept aside.

    The channel then publishes as a never-connected one does (``TUBEFLOW_PUBLISHER``); an
    ``account_disconnected`` event goes to the live feed.  None when nothing was connected.
    """
    async with db.session() as s:
        ch, row = await _account_row(s, channel)
        if row is None:
            return None
        gone = _account(row, ch.name)
        await s.delete(row)
        payload = {"channel": ch.name, "youtube_channel_id": row.youtube_channel_id}
        s.add(EventRow(production_id=None, kind=EventKind.ACCOUNT_DISCONNECTED, payload=payload, at=utcnow()))
        return gone


async def list_accounts(db: Database) -> dict[str, YouTubeAccount]:
    async with db.session() as s:
        rows = (await s.execute(select(YouTubeAccountRow, ChannelRow.name).join(ChannelRow))).all()
        return {name: _account(row, name) for row, name in rows}


# ---------------------------------------------------------------- publishing calendar


def _publication(row: PublicationRow, channel: str) -> Publication:
    return Publication(
        row.id,
        row.production_id,
        channel,
        row.kind,
        row.idx,
        row.publish_at,
        row.status,
        row.video_id,
        row.location,
        row.title,
        row.publish_at or row.updated_at,
    )


async def reserve_slot(
    db: Database,
    channel: str,
    production_id: str,
    kind: str,
    idx: int,
    *,
    now: datetime,
    at: datetime | None = None,
    title: str = "",
    unscheduled: bool = False,
) -> Publication:
    """The calendar entry of one video, created once: a long video takes the channel's next free slot.

    ``at`` fixes the time (a Short's, spaced after its long video).  ``unscheduled`` makes an entry
    with no time: a private or unlisted upload goes up at once and takes no slot from anyone.  Called again (a retried
    activity) it returns the entry already made.  Two productions racing for one slot: the unique
    (channel, kind, time) constraint lets one win and the other takes the next slot.
    """
    for _attempt in range(20):
        try:
            async with db.session() as s:
                ch = await _channel_or_404(s, channel)
                found = (
                    await s.execute(
                        select(PublicationRow).where(
                            PublicationRow.production_id == production_id,
                            PublicationRow.kind == kind,
                            PublicationRow.idx == idx,
                        )
                    )
                ).scalar_one_or_none()
                if found is not None:
                    return _publication(found, ch.name)
                when = at
                if when is None and not unscheduled:
                    cs = parse_settings(ch.settings)
                    taken_rows = await s.execute(
                        select(PublicationRow.publish_at).where(
                            PublicationRow.channel_id == ch.id,
                            PublicationRow.kind == kind,
                            PublicationRow.publish_at.is_not(None),
                            PublicationRow.publish_at > to_utc(now),
                        )
                    )
                    taken = {to_utc(t) for (t,) in taken_rows.all() if t is not None}
                    when = next_free_slot(cs, to_utc(now), taken)
                row = PublicationRow(
                    production_id=production_id,
                    channel_id=ch.id,
                    kind=kind,
                    idx=idx,
                    publish_at=when,
                    status="reserved",
                    title=title,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                s.add(row)
                await s.flush()
                return _publication(row, ch.name)
        except IntegrityError:
            continue  # someone took that slot (or made this entry) meanwhile: look again
    raise PermanentError(f"could not reserve a publishing slot for {production_id} on {channel!r}")


async def release(db: Database, production_id: str, kind: str, idx: int) -> None:
    """Give a reserved (not yet uploaded) slot back."""
    async with db.session() as s:
        row = (
            await s.execute(
                select(PublicationRow).where(
                    PublicationRow.production_id == production_id,
                    PublicationRow.kind == kind,
                    PublicationRow.idx == idx,
                    PublicationRow.status == "reserved",
                )
            )
        ).scalar_one_or_none()
        if row is not None:
            await s.delete(row)


async def update_publication(
    db: Database,
    production_id: str,
    kind: str,
    idx: int,
    *,
    status: str | None = None,
    video_id: str | None = None,
    location: str | None = None,
    publish_at: datetime | None = None,
    title: str | None = None,
) -> Publication:
    async with db.session() as s:
        found = (
            await s.execute(
                select(PublicationRow, ChannelRow.name)
                .join(ChannelRow)
                .where(
                    PublicationRow.production_id == production_id,
                    PublicationRow.kind == kind,
                    PublicationRow.idx == idx,
                )
            )
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"production {production_id} has no {kind} #{idx} on the calendar")
        row, name = found
        for attr, value in (
            ("status", status),
            ("video_id", video_id),
            ("location", location),
            ("publish_at", publish_at),
            ("title", title),
        ):
            if value is not None:
                setattr(row, attr, value)
        row.updated_at = utcnow()
        await s.flush()
        return _publication(row, name)


async def list_publications(
    db: Database, channel: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[Publication]:
    """The calendar in [start, end), by each entry's calendar time (``Publication.calendar_at``).

    A video published at once has no ``publish_at``; filtering on that column alone left it out of
    every window (the dashboard's week and ``calendar --week``) while the unbounded list showed it.
    """
    when = func.coalesce(PublicationRow.publish_at, PublicationRow.updated_at)
    stmt = select(PublicationRow, ChannelRow.name).join(ChannelRow)
    if channel:
        stmt = stmt.where(ChannelRow.name == channel)
    if start is not None:
        stmt = stmt.where(when >= to_utc(start))
    if end is not None:
        stmt = stmt.where(when < to_utc(end))
    stmt = stmt.order_by(when, PublicationRow.id)
    async with db.session() as s:
        return [_publication(row, name) for row, name in (await s.execute(stmt)).all()]


async def get_publication(db: Database, production_id: str, kind: str = "long", idx: int = 0) -> Publication:
    async with db.session() as s:
        found = (
            await s.execute(
                select(PublicationRow, ChannelRow.name)
                .join(ChannelRow)
                .where(
                    PublicationRow.production_id == production_id,
                    PublicationRow.kind == kind,
                    PublicationRow.idx == idx,
                )
            )
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"production {production_id} has no {kind} video on the calendar")
        return _publication(found[0], found[1])


# ---------------------------------------------------------------- topic backlog


def _topic(row: TopicRow, channel: str) -> Topic:
    return Topic(row.id, channel, row.topic, row.added_at, row.production_id, row.used_at)


async def add_topic(db: Database, channel: str, topic: str) -> Topic:
    topic = _clean_name(topic, "topic", 500)
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        row = TopicRow(channel_id=ch.id, topic=topic, added_at=utcnow())
        s.add(row)
        await s.flush()
        return _topic(row, ch.name)


async def list_topics(db: Database, channel: str, include_used: bool = False) -> list[Topic]:
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        stmt = select(TopicRow).where(TopicRow.channel_id == ch.id)
        if not include_used:
            stmt = stmt.where(TopicRow.production_id.is_(None))
        rows = (await s.execute(stmt.order_by(TopicRow.id))).scalars().all()
        return [_topic(r, ch.name) for r in rows]


async def take_topic(db: Database, channel: str, production_id: str) -> Topic | None:
    """The oldest unused backlog topic, marked used by ``production_id`` (the same one on a retry)."""
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        mine = (
            await s.execute(
                select(TopicRow).where(TopicRow.channel_id == ch.id, TopicRow.production_id == production_id)
            )
        ).scalar_one_or_none()
        if mine is not None:
            return _topic(mine, ch.name)
        row = (
            await s.execute(
                select(TopicRow)
                .where(TopicRow.channel_id == ch.id, TopicRow.production_id.is_(None))
                .order_by(TopicRow.id)
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        row.production_id, row.used_at = production_id, utcnow()
        await s.flush()
        return _topic(row, ch.name)


# ---------------------------------------------------------------- quota ledger


async def spend_quota(db: Database, project: str, day: str, units: int, budget: int) -> int | None:
    """Book ``units`` for ``project`` on ``day`` if they fit in ``budget``: the new total, else None."""
    for _attempt in range(3):
        try:
            async with db.session() as s:
                row = (
                    await s.execute(
                        select(QuotaUsageRow)
                        .where(QuotaUsageRow.project == project, QuotaUsageRow.day == day)
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                if row is None:
                    row = QuotaUsageRow(project=project, day=day, units=0)
                    s.add(row)
                if row.units + units > budget:
                    return None
                row.units += units
                await s.flush()
                return row.units
        except IntegrityError:
            continue
    raise PermanentError(f"could not book YouTube quota for project {project!r}")


async def quota_used(db: Database, project: str, day: str) -> int:
    async with db.session() as s:
        row = (
            await s.execute(select(QuotaUsageRow).where(QuotaUsageRow.project == project, QuotaUsageRow.day == day))
        ).scalar_one_or_none()
        return 0 if row is None else int(row.units)


async def exhaust_quota(db: Database, project: str, day: str, budget: int) -> None:
    """YouTube said the quota is gone (other clients share the project): the ledger agrees until reset."""
    async with db.session() as s:
        row = (
            await s.execute(select(QuotaUsageRow).where(QuotaUsageRow.project == project, QuotaUsageRow.day == day))
        ).scalar_one_or_none()
        if row is None:
            s.add(QuotaUsageRow(project=project, day=day, units=budget))
        else:
            row.units = max(row.units, budget)


async def reset_quota(db: Database, project: str, day: str) -> int:
    """The operator says the project's quota for ``day`` is back (Google reset or raised it, or the
    ledger over-counted): today's bookings are cleared; the units that were booked are returned.

    Bookings after this start from zero again; if YouTube still refuses, the next upload marks
    the day spent again (``exhaust_quota``), so a wrong reset costs one refused call, not a video.
    """
    async with db.session() as s:
        row = (
            await s.execute(select(QuotaUsageRow).where(QuotaUsageRow.project == project, QuotaUsageRow.day == day))
        ).scalar_one_or_none()
        if row is None:
            return 0
        units = int(row.units)
        row.units = 0
        return units


# ---------------------------------------------------------------- back-pressure


AFTER_REVIEW_STAGES = ("publish", "shorts", "done")


async def active_topics(db: Database, channel: str) -> list[str]:
    """Topics of the channel's productions that are still before publishing (running or waiting)."""
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        rows = await s.execute(
            select(ProductionRow.topic).where(
                ProductionRow.channel_id == ch.id,
                ProductionRow.state.not_in(sorted(TERMINAL_STATES)),
                ProductionRow.stage.not_in(AFTER_REVIEW_STAGES),
            )
        )
        return [t for (t,) in rows.all()]
