"""Publishing onto a channel's calendar: the slot, the options from its settings, the quota ledger.

The publish activity's plain module.  A long video takes the channel's next free slot (or goes
out at once when the channel has none); its Shorts follow at the channel's spacing.  Before a
YouTube call is made its documented unit cost is booked in the ledger of the account's Google
Cloud project; what would not fit raises :class:`QuotaExhausted` with the reset time, so the
workflow waits for midnight Pacific instead of retrying into a wall.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.publish_metadata import PublishOptions
from activities.publishers import publisher_for_channel
from tubeflow.channel_settings import ChannelSettings, next_free_slot
from tubeflow.contracts import PublishRequest, PublishResult
from tubeflow.db import channel_repo
from tubeflow.db.engine import Database
from tubeflow.db.records import Publication
from tubeflow.db.repo import NotFoundError
from tubeflow.errors import AccountNeedsReconnect, PermanentError, QuotaExhausted
from tubeflow.keys import ProductionKeys
from tubeflow.settings import Settings
from tubeflow.storage import Storage
from tubeflow.youtube_quota import cost, next_reset, pacific_day

# A slot closer than this is given up for the next one: YouTube refuses a publishAt in the past.
MIN_LEAD = timedelta(minutes=15)


def _iso(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""


async def _settings_of(db: Database, channel: str) -> ChannelSettings:
    try:
        return await channel_repo.channel_settings(db, channel)
    except NotFoundError:
        return ChannelSettings()


async def place_on_calendar(
    db: Database, req: PublishRequest, cs: ChannelSettings, now: datetime, title: str = ""
) -> Publication:
    """The video's calendar entry: reserved once, moved on when its slot passed before it went up."""
    idx = int(req.extra.get("index", 0)) if req.kind == "short" else 0
    if cs.privacy != "public":
        # Not scheduled publishing: YouTube gets no publishAt for a private or unlisted upload, so it
        # must not hold a slot the calendar would call "scheduled" (nor push the next production on).
        return await channel_repo.reserve_slot(
            db, req.channel, req.production_id, req.kind, idx, now=now, title=title, unscheduled=True
        )
    if req.kind == "long":
        entry = await channel_repo.reserve_slot(db, req.channel, req.production_id, "long", 0, now=now, title=title)
        if entry.status == "reserved" and entry.publish_at and entry.publish_at < now + MIN_LEAD:
            await channel_repo.release(db, req.production_id, "long", 0)
            entry = await channel_repo.reserve_slot(
                db, req.channel, req.production_id, "long", 0, now=now + MIN_LEAD, title=title
            )
        return entry
    try:
        long = await channel_repo.get_publication(db, req.production_id, "long", 0)
        base = long.publish_at or now
    except NotFoundError:
        base = now
    at = short_time(cs, base, idx, now)
    return await channel_repo.reserve_slot(
        db, req.channel, req.production_id, "short", idx, now=now, at=at, title=title, unscheduled=at is None
    )


def long_time(cs: ChannelSettings, now: datetime, taken: set[datetime]) -> datetime | None:
    """When a long video approved ``now`` goes public: the first free slot at least ``MIN_LEAD``
    ahead (None: at once, the channel has no slots or is not public).  What ``place_on_calendar`` reserves."""
    if cs.privacy != "public":
        return None  # a private or unlisted upload takes no slot
    at = next_free_slot(cs, now, taken)
    if at is not None and at < now + MIN_LEAD:
        at = next_free_slot(cs, now + MIN_LEAD, taken)
    return at


def short_time(cs: ChannelSettings, base: datetime, idx: int, now: datetime) -> datetime | None:
    """Short ``idx``'s scheduled time, spaced after its long video's (``base``); None: it goes up at
    once (not scheduled publishing: private/unlisted, a person flips it, or too soon to schedule)."""
    at = base + timedelta(hours=cs.shorts_spacing_hours * (idx + 1))
    if cs.privacy != "public" or at < now + MIN_LEAD:
        return None
    return at


async def publish_on_calendar(
    settings: Settings, storage: Storage, db: Database, req: PublishRequest, script: dict[str, Any]
) -> PublishResult:
    now = datetime.now(UTC)
    cs = await _settings_of(db, req.channel)
    chosen = await publisher_for_channel(settings, db, req.channel)  # refuses while "reconnect needed"
    entry = await place_on_calendar(db, req, cs, now, str(req.extra.get("title") or script.get("title") or ""))
    options = PublishOptions(
        privacy=cs.privacy,
        publish_at=_iso(entry.publish_at) if entry.publish_at and entry.publish_at > now else "",
        made_for_kids=cs.made_for_kids,
        synthetic_disclosure=cs.synthetic_disclosure,
        category=cs.category,
        playlist=cs.playlist,
        default_tags=list(cs.default_tags),
        language=cs.language,
    )
    publisher = chosen.publisher
    if chosen.project:
        calls = publisher.pending_calls(storage, req, options)  # type: ignore[attr-defined]
        units = cost(calls)
        if units:
            day = pacific_day(now)
            booked = await channel_repo.spend_quota(db, chosen.project, day, units, settings.youtube_daily_quota)
            if booked is None:
                reset = next_reset(now)
                used = await channel_repo.quota_used(db, chosen.project, day)
                raise QuotaExhausted(
                    f"publishing needs {units} YouTube API units ({', '.join(calls)}) but project "
                    f"{chosen.project!r} has used {used} of {settings.youtube_daily_quota} today; waiting for "
                    f"the reset at {reset.isoformat()} (midnight Pacific)",
                    reset.isoformat(),
                )
    try:
        result = await asyncio.to_thread(publisher.publish, storage, req, script, options)
    except AccountNeedsReconnect as e:
        await channel_repo.mark_reconnect_needed(db, req.channel, str(e)[:300])
        raise
    except QuotaExhausted:
        if chosen.project:
            await channel_repo.exhaust_quota(db, chosen.project, pacific_day(now), settings.youtube_daily_quota)
        raise
    await channel_repo.update_publication(
        db,
        req.production_id,
        entry.kind,
        entry.idx,
        status=publication_status(options),
        video_id=result.video_id,
        location=result.location,
    )
    return result


def publication_status(options: PublishOptions) -> str:
    """What the calendar calls an uploaded video: only a public one with a publishAt is scheduled."""
    if options.privacy != "public":
        return options.privacy  # "private" / "unlisted": up, not scheduled; a person flips it
    return "scheduled" if options.publish_at else "published"


async def move_publication(
    settings: Settings, db: Database, production_id: str, at: datetime, kind: str = "long", idx: int = 0
) -> Publication:
    """Reschedule a video: ``videos.update`` on YouTube when it is up there, then the calendar."""
    from activities.youtube import YouTubePublisher

    now = datetime.now(UTC)
    if at.tzinfo is None:
        raise PermanentError("give the new time with its zone, e.g. 2026-12-04T17:00+00:00")
    if at < now + MIN_LEAD:
        raise PermanentError(f"{at.isoformat()} is not at least {MIN_LEAD} from now; YouTube needs a future time")
    entry = await channel_repo.get_publication(db, production_id, kind, idx)
    at = at.astimezone(UTC)
    clash = [
        p
        for p in await channel_repo.list_publications(db, entry.channel, at, at + timedelta(seconds=1))
        if p.kind == kind and p.production_id != production_id and p.publish_at is not None
    ]
    if clash:
        raise PermanentError(f"{at.isoformat()} is already taken on {entry.channel!r} by {clash[0].production_id}")
    if entry.video_id:
        chosen = await publisher_for_channel(settings, db, entry.channel)
        if isinstance(chosen.publisher, YouTubePublisher):
            units = cost(["videos.list", "videos.update"])
            if (
                await channel_repo.spend_quota(
                    db, chosen.project, pacific_day(now), units, settings.youtube_daily_quota
                )
                is None
            ):
                raise QuotaExhausted(
                    f"project {chosen.project!r} has no YouTube quota left today; try after "
                    f"{next_reset(now).isoformat()}",
                    next_reset(now).isoformat(),
                )
            try:
                await asyncio.to_thread(chosen.publisher.client.reschedule, entry.video_id, _iso(at))
            except AccountNeedsReconnect as e:
                await channel_repo.mark_reconnect_needed(db, entry.channel, str(e)[:300])
                raise
    return await channel_repo.update_publication(
        db, production_id, kind, idx, publish_at=at.astimezone(UTC), status="scheduled" if entry.video_id else None
    )


def metadata_preview_key(production_id: str) -> str:
    return ProductionKeys(production_id).metadata_preview()


async def preview_metadata(
    settings: Settings,
    storage: Storage,
    db: Database,
    production_id: str,
    script: dict[str, Any],
    script_key: str = "",
) -> dict[str, Any]:
    """The title, description and tags the upload will use, checked now, so the final checkpoint shows fixes.

    Written beside the thumbnails; the dashboard and ``tubeflow status`` show it at the final
    checkpoint, so nothing about the metadata is first discovered at upload time.
    """
    import json

    from activities.publish_metadata import build_metadata
    from tubeflow.db import repo

    try:
        channel = (await repo.get_production(db, production_id)).channel
    except repo.NotFoundError:
        channel = ""
    cs = await _settings_of(db, channel) if channel else ChannelSettings()
    opts = PublishOptions(
        privacy=cs.privacy,
        made_for_kids=cs.made_for_kids,
        synthetic_disclosure=cs.synthetic_disclosure,
        category=cs.category,
        playlist=cs.playlist,
        default_tags=list(cs.default_tags),
        language=cs.language,
    )
    req = PublishRequest(production_id, channel or "unknown", "", "", script_key)
    meta = await asyncio.to_thread(build_metadata, storage, req, script, 0.0, opts)
    preview = {k: meta[k] for k in ("title", "description", "tags", "language", "chapters", "fixes")}
    storage.put_text(metadata_preview_key(production_id), json.dumps(preview, ensure_ascii=False), "application/json")
    return preview
