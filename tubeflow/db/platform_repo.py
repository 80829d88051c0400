"""TikTok and Instagram: the account per channel and platform, and each Short's post on each platform.

Same rules as :mod:`tubeflow.db.channel_repo`: one short transaction per function, detached records
out, idempotent where an activity calls (a retried activity must not reserve a second slot).  The
posts table is also the cap ledger: the posts of the last 24 hours are what a daily cap counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tubeflow.channel_settings import next_free_slot, parse_settings
from tubeflow.db.channel_repo import _channel_or_404
from tubeflow.db.engine import Database
from tubeflow.db.models import ChannelRow, EventRow, PlatformAccountRow, PlatformPostRow
from tubeflow.db.records import PlatformAccount, PlatformPost
from tubeflow.db.repo import NotFoundError
from tubeflow.db.types import to_utc, utcnow
from tubeflow.errors import PermanentError
from tubeflow.events import EventKind

CAP_WINDOW = timedelta(hours=24)


def _account(row: PlatformAccountRow, channel: str) -> PlatformAccount:
    return PlatformAccount(
        channel, row.platform, row.account_id, row.account_name, row.status, row.reason,
        row.expires_at, row.connected_at, row.updated_at,
    )  # fmt: skip


async def _account_row(s: AsyncSession, channel: str, platform: str) -> tuple[ChannelRow, PlatformAccountRow | None]:
    ch = await _channel_or_404(s, channel)
    stmt = select(PlatformAccountRow).where(
        PlatformAccountRow.channel_id == ch.id, PlatformAccountRow.platform == platform
    )
    return ch, (await s.execute(stmt)).scalar_one_or_none()


async def save_account(
    db: Database,
    channel: str,
    platform: str,
    token_enc: str,
    account_id: str,
    account_name: str,
    expires_at: datetime | None,
    *,
    refreshed: bool = False,
) -> PlatformAccount:
    """Connect (or reconnect, or store a refreshed token): clears "reconnect needed".

    A reconnect sends an ``account_reconnected`` event; a refresh (``refreshed``) only replaces the token."""
    now = utcnow()
    async with db.session() as s:
        ch, row = await _account_row(s, channel, platform)
        if row is None:
            row = PlatformAccountRow(channel_id=ch.id, platform=platform, connected_at=now)
            s.add(row)
        was_blocked = row.status == "reconnect_needed"
        row.token_enc, row.account_id, row.account_name = token_enc, account_id, account_name
        row.expires_at, row.updated_at = expires_at, now
        if not refreshed:
            row.status, row.reason, row.connected_at = "connected", "", now
            if was_blocked:
                payload = {"channel": ch.name, "platform": platform, "account": account_name}
                s.add(EventRow(production_id=None, kind=EventKind.ACCOUNT_RECONNECTED, payload=payload, at=now))
        await s.flush()
        return _account(row, ch.name)


async def get_account(db: Database, channel: str, platform: str) -> PlatformAccount | None:
    async with db.session() as s:
        ch, row = await _account_row(s, channel, platform)
        return None if row is None else _account(row, ch.name)


async def account_token(db: Database, channel: str, platform: str) -> tuple[PlatformAccount, str] | None:
    """The account and its sealed token, for the cross-posting activity only (never the API)."""
    async with db.session() as s:
        ch, row = await _account_row(s, channel, platform)
        return None if row is None else (_account(row, ch.name), row.token_enc)


async def list_accounts(db: Database, channel: str | None = None) -> list[PlatformAccount]:
    stmt = select(PlatformAccountRow, ChannelRow.name).join(ChannelRow)
    if channel:
        stmt = stmt.where(ChannelRow.name == channel)
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(ChannelRow.name, PlatformAccountRow.platform))).all()
        return [_account(row, name) for row, name in rows]


async def mark_reconnect_needed(db: Database, channel: str, platform: str, reason: str) -> None:
    """Mark the account; the first time, an ``account_reconnect_needed`` event (live feed, notifiers)."""
    async with db.session() as s:
        ch, row = await _account_row(s, channel, platform)
        if row is not None and row.status != "reconnect_needed":
            row.status, row.reason, row.updated_at = "reconnect_needed", reason, utcnow()
            payload = {"channel": ch.name, "platform": platform, "reason": reason}
            s.add(EventRow(production_id=None, kind=EventKind.ACCOUNT_RECONNECT_NEEDED, payload=payload, at=utcnow()))


async def remove_account(db: Database, channel: str, platform: str) -> PlatformAccount | None:
    """Forget the account: the sealed token is deleted, and the channel's Shorts stop going there."""
    async with db.session() as s:
        ch, row = await _account_row(s, channel, platform)
        if row is None:
            return None
        gone = _account(row, ch.name)
        await s.delete(row)
        payload = {"channel": ch.name, "platform": platform}
        s.add(EventRow(production_id=None, kind=EventKind.ACCOUNT_DISCONNECTED, payload=payload, at=utcnow()))
        return gone


# ---------------------------------------------------------------- posts


def _post(row: PlatformPostRow, channel: str) -> PlatformPost:
    return PlatformPost(
        row.id, row.production_id, channel, row.platform, row.idx, row.publish_at, row.status, row.post_id,
        row.location, row.caption, row.reason, row.posted_at, row.publish_at or row.posted_at or row.updated_at,
    )  # fmt: skip


async def reserve_post(
    db: Database,
    channel: str,
    production_id: str,
    platform: str,
    idx: int,
    *,
    after: datetime | None,
    caption: str = "",
    status: str = "reserved",
) -> PlatformPost:
    """The Short's entry on the platform's calendar, made once: the first free platform slot after
    ``after`` (its YouTube time), or ``after`` itself when the platform has no slots (None: at once).
    Called again (a retried activity) it returns the entry already made."""
    for _attempt in range(20):
        try:
            async with db.session() as s:
                ch = await _channel_or_404(s, channel)
                found = (
                    await s.execute(
                        select(PlatformPostRow).where(
                            PlatformPostRow.production_id == production_id,
                            PlatformPostRow.platform == platform,
                            PlatformPostRow.idx == idx,
                        )
                    )
                ).scalar_one_or_none()
                if found is not None:
                    return _post(found, ch.name)
                when = to_utc(after) if after is not None else None
                cs = parse_settings(ch.settings)
                if status == "reserved" and getattr(cs, f"{platform}_slots", None):
                    start = when or utcnow()
                    taken_rows = await s.execute(
                        select(PlatformPostRow.publish_at).where(
                            PlatformPostRow.channel_id == ch.id,
                            PlatformPostRow.platform == platform,
                            PlatformPostRow.publish_at.is_not(None),
                            PlatformPostRow.publish_at >= to_utc(start),
                        )
                    )
                    taken = {to_utc(t) for (t,) in taken_rows.all() if t is not None}
                    when = next_free_slot(cs, start - timedelta(seconds=1), taken, platform=platform)
                now = utcnow()
                row = PlatformPostRow(
                    production_id=production_id, channel_id=ch.id, platform=platform, idx=idx, publish_at=when,
                    status=status, caption=caption, created_at=now, updated_at=now,
                )  # fmt: skip
                s.add(row)
                await s.flush()
                return _post(row, ch.name)
        except IntegrityError:
            continue  # another production took that slot meanwhile: look again
    raise PermanentError(f"could not reserve a {platform} slot for {production_id} on {channel!r}")


async def update_post(
    db: Database,
    production_id: str,
    platform: str,
    idx: int,
    *,
    status: str | None = None,
    post_id: str | None = None,
    location: str | None = None,
    caption: str | None = None,
    reason: str | None = None,
    posted_at: datetime | None = None,
) -> PlatformPost:
    async with db.session() as s:
        found = (
            await s.execute(
                select(PlatformPostRow, ChannelRow.name)
                .join(ChannelRow)
                .where(
                    PlatformPostRow.production_id == production_id,
                    PlatformPostRow.platform == platform,
                    PlatformPostRow.idx == idx,
                )
            )
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"production {production_id} has no {platform} post #{idx}")
        row, name = found
        for attr, value in (
            ("status", status), ("post_id", post_id), ("location", location), ("caption", caption),
            ("reason", reason), ("posted_at", posted_at),
        ):  # fmt: skip
            if value is not None:
                setattr(row, attr, value)
        row.updated_at = utcnow()
        await s.flush()
        return _post(row, name)


async def list_posts(
    db: Database,
    channel: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    production_id: str | None = None,
) -> list[PlatformPost]:
    """The platforms' calendar in [start, end), by each post's calendar time (its slot, else when it went up)."""
    when = func.coalesce(PlatformPostRow.publish_at, PlatformPostRow.posted_at, PlatformPostRow.updated_at)
    stmt = select(PlatformPostRow, ChannelRow.name).join(ChannelRow)
    if channel:
        stmt = stmt.where(ChannelRow.name == channel)
    if production_id:
        stmt = stmt.where(PlatformPostRow.production_id == production_id)
    if start is not None:
        stmt = stmt.where(when >= to_utc(start))
    if end is not None:
        stmt = stmt.where(when < to_utc(end))
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(when, PlatformPostRow.id))).all()
        return [_post(row, name) for row, name in rows]


async def posts_in_window(db: Database, channel: str, platform: str, now: datetime) -> list[datetime]:
    """When the channel's posts on the platform in the last 24 hours went up, oldest first (the cap ledger)."""
    async with db.session() as s:
        ch = await _channel_or_404(s, channel)
        rows = await s.execute(
            select(PlatformPostRow.posted_at)
            .where(
                PlatformPostRow.channel_id == ch.id,
                PlatformPostRow.platform == platform,
                PlatformPostRow.posted_at.is_not(None),
                PlatformPostRow.posted_at > to_utc(now) - CAP_WINDOW,
            )
            .order_by(PlatformPostRow.posted_at)
        )
        return [to_utc(t) for (t,) in rows.all() if t is not None]
