"""Telling people what happened to a Short on TikTok or Instagram: the event feed and notifications.

Called by :mod:`activities.cross_posting` once a post's row says what happened, so the Shorts
workflow stays as it is (no new command, recorded histories replay).  What is news:

- *posted*: once per post; a retried activity that finds the post already published announces
  it only if no event says so yet (a worker killed between the two);
- *needs attention*: every time, since each one is a failure a person retried;
- *blocked* (account to reconnect) and *waiting* (a daily cap): when the post enters that state,
  not on every poll of the half-hourly reconnect check.

The sentence a person reads is made here, with times in the channel's time zone and the post's
link where the platform gives one ("private, no public link" for a TikTok post only the creator
sees).  Delivery is :class:`activities.notify_delivery.NotificationDelivery` tried a few times in
this activity, then dead-lettered: a notification never fails, delays much or repeats a post.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tubeflow.contracts import NOTIFY_ATTEMPTS, Notification
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import Database
from tubeflow.db.records import PlatformPost
from tubeflow.events import PLATFORM_EVENTS, EventKind
from tubeflow.platforms import PLATFORM_LABELS
from tubeflow.settings import Settings
from tubeflow.storage import Storage

log = logging.getLogger("tubeflow.platform_events")
DELIVERY_TRIES = 3  # in this activity; the last one dead-letters what still fails
FIRST_PAUSE_S = 2.0  # doubled after each try that did not reach every target
ONLY_ON_ENTRY = ("reconnect_needed", "waiting")


def _local(at: datetime, tz: str, with_day: bool) -> str:
    when = at.astimezone(ZoneInfo(tz))
    return when.strftime("%Y-%m-%d %H:%M" if with_day else "%H:%M")


def sentence(post: PlatformPost, tz: str, title: str = "", until: str = "", now: datetime | None = None) -> str:
    """``Sky: Short 1 published to TikTok at 18:00 (Europe/Lisbon): https://…`` and the like."""
    label = PLATFORM_LABELS.get(post.platform, post.platform)
    short = f"Short {post.idx + 1}"
    head = f"{title}: " if title else ""
    if post.status == "published":
        at = post.posted_at or now or datetime.now(UTC)
        today = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date() == at.astimezone(ZoneInfo(tz)).date()
        where = f": {post.location}" if post.location else ", private, no public link"
        return f"{head}{short} published to {label} at {_local(at, tz, not today)} ({tz}){where}"
    if post.status == "waiting":
        when = ""
        if until:
            try:
                when = f" until {_local(datetime.fromisoformat(until), tz, True)} ({tz})"
            except ValueError:
                when = ""
        return f"{head}{short} waits for the {label} daily cap{when}: {post.reason}"
    if post.status == "reconnect_needed":
        return f"{head}{short} waits for the {label} account to be reconnected: {post.reason}"
    return f"{head}{short} on {label} needs attention: {post.reason}"


async def announce(
    settings: Settings,
    storage: Storage,
    db: Database,
    post: PlatformPost,
    before: str | None,
    *,
    until: str = "",
    heartbeat: Callable[[], None] = lambda: None,
    pause_s: float | None = None,
) -> bool:
    """Record the post's new state in the production's event feed and notify; False when it is no news.

    ``before``: the post's status before this attempt (None: no row)."""
    kind = PLATFORM_EVENTS.get(post.status)
    if kind is None:
        return False
    if post.status in ONLY_ON_ENTRY and before == post.status:
        return False
    if kind is EventKind.PLATFORM_PUBLISHED and await _already_told(db, post):
        return False
    try:
        tz = (await channel_repo.channel_settings(db, post.channel)).timezone
    except repo.NotFoundError:
        tz = "UTC"
    try:
        production = await repo.get_production(db, post.production_id)
        title = production.title or production.topic
    except repo.NotFoundError:
        title = ""
    summary = sentence(post, tz, title, until)
    payload: dict[str, object] = {
        "channel": post.channel, "platform": post.platform, "index": post.idx, "post_status": post.status,
        "summary": sentence(post, tz, "", until),
    }  # fmt: skip
    if kind is EventKind.PLATFORM_PUBLISHED:
        payload |= {
            "location": post.location, "post_id": post.post_id, "private": not post.location,
            "posted_at": post.posted_at.isoformat() if post.posted_at else None,
        }  # fmt: skip
    else:
        payload["reason"] = post.reason
    if until:
        payload["until"] = until
    await repo.append_event(db, kind, payload, production_id=post.production_id)
    n = Notification(
        event=kind.value, summary=summary, production_id=post.production_id, channel=post.channel, title=title,
        link=f"/productions/{post.production_id}", data={**payload, "timezone": tz},
        at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    await deliver(settings, storage, db, n, heartbeat, pause_s)
    return True


async def _already_told(db: Database, post: PlatformPost) -> bool:
    told = await repo.events_of(db, post.production_id, EventKind.PLATFORM_PUBLISHED)
    return any(e.payload.get("platform") == post.platform and e.payload.get("index") == post.idx for e in told)


async def deliver(
    settings: Settings,
    storage: Storage,
    db: Database,
    n: Notification,
    heartbeat: Callable[[], None] = lambda: None,
    pause_s: float | None = None,
) -> dict[str, str]:
    """Every target, a few tries, then dead letters; never raises (what each target answered)."""
    from activities.notify_delivery import NotificationDelivery
    from tubeflow.errors import TransientError

    delivery = NotificationDelivery(settings, storage, db)
    pause = FIRST_PAUSE_S if pause_s is None else pause_s
    progress: dict[str, str] = {}

    def keep(state: dict[str, str]) -> None:
        progress.clear()
        progress.update(state)
        heartbeat()

    for tried in range(1, DELIVERY_TRIES + 1):
        attempt = NOTIFY_ATTEMPTS if tried == DELIVERY_TRIES else tried
        try:
            return await delivery.deliver(n, attempt, dict(progress), keep, log)
        except TransientError:
            await asyncio.sleep(pause * 2 ** (tried - 1))
        except Exception:  # a notification never fails the post it tells about
            log.exception("notification %s for %s not delivered", n.event, n.production_id)
            return {}
    return {}
