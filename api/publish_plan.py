"""What approving the final checkpoint will publish, where and when, said before it happens.

The reviewer confirms it in a dialog, so every line comes from the data publishing itself will
use, read now: the channel's account (or the installation's publisher), its settings (privacy,
slots, time zone, Shorts spacing), the calendar's taken slots (the next free one is what the
long-form will get, :func:`activities.calendar.long_time`) and the Shorts the plan will cut
(:func:`tubeflow.render_plan.pick_ranges` with the channel's niche), each Short at the time
:func:`activities.calendar.short_time` gives it.  Times are in the channel's time zone.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from api.finished import when_in_words
from tubeflow.db.engine import Database
from tubeflow.db.models import ChannelRow, PublicationRow
from tubeflow.render_plan import RenderPlan, pick_ranges
from tubeflow.settings import Settings
from tubeflow.storage import Storage

log = logging.getLogger("tubeflow.api")


async def _taken(db: Database, channel: str, now: datetime) -> set[datetime]:
    stmt = (
        select(PublicationRow.publish_at)
        .join(ChannelRow)
        .where(ChannelRow.name == channel, PublicationRow.kind == "long", PublicationRow.publish_at > now)
    )
    async with db.session() as s:
        rows = (await s.execute(stmt)).all()
    return {(t if t.tzinfo else t.replace(tzinfo=UTC)) for (t,) in rows if t is not None}


def _short_ranges(settings: Settings, storage: Storage, view: dict[str, Any], cs: Any) -> list[tuple[float, float]]:
    from niches.channel_profile import effective_niche
    from niches.config import load_niche

    plan_key = (view.get("artifact_keys") or {}).get("plan")
    if view.get("make_shorts") is False or not plan_key:
        return []
    niche = effective_niche(load_niche(str(view["niche"]), settings), cs)
    plan = RenderPlan.from_dict(json.loads(storage.get_text(str(plan_key))))
    return [(r.start, r.end) for r in pick_ranges(plan, niche.shorts_count)]


async def publish_plan(
    db: Database, settings: Settings, storage: Storage, view: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """{"sentence": one line, "items": [{what, where, when, privacy}, ...]}: the long-form, then each Short."""
    from activities.calendar import long_time, short_time
    from tubeflow.db import channel_repo

    now = now or datetime.now(UTC)
    channel = str(view["channel"])
    cs = await channel_repo.channel_settings(db, channel)
    account = await channel_repo.get_account(db, channel)
    if account is not None and account.status == "connected":
        where = f"YouTube channel “{account.youtube_title}”"
    elif account is not None:
        where = f"YouTube channel “{account.youtube_title}” once it is reconnected (it needs reconnecting now)"
    elif settings.publisher == "youtube":
        where = "YouTube (this installation's configured account)"
    else:
        where = f"the outbox folder {settings.resolved_outbox_dir()} (no YouTube account is connected)"
    long_at = long_time(cs, now, await _taken(db, channel, now))
    when = f"scheduled for {when_in_words(long_at, cs.timezone)}" if long_at else "at once"
    items = [{"what": "Long-form video", "where": where, "when": when, "privacy": cs.privacy}]
    try:
        ranges = _short_ranges(settings, storage, view, cs)
    except Exception as e:  # the plan or niche unreadable: say the Shorts are not known rather than guess
        log.warning("cannot tell the Shorts of %s: %s", view.get("id"), e)
        ranges = []
        items.append({"what": "Shorts", "where": where, "when": "not known (the plan could not be read)",
                      "privacy": cs.privacy})  # fmt: skip
    for i, (start, end) in enumerate(ranges):
        at = short_time(cs, long_at or now, i, now)
        when_s = f"scheduled for {when_in_words(at, cs.timezone)}" if at else "at once, after the long-form"
        what = f"Short {i + 1} ({end - start:.0f} s, from {start:.0f} s of the narration)"
        items.append({"what": what, "where": where, "when": when_s, "privacy": cs.privacy})
    platforms = await _platforms(db, storage, view, cs, bool(ranges))
    for entry in platforms:
        slots = getattr(cs, f"{entry['platform']}_slots")
        when_p = f"at its slots ({'; '.join(slots)})" if slots else "with each Short's YouTube time"
        if cs.privacy == "public":
            privacy = "public"
        else:  # TikTok's SELF_ONLY; a Reel cannot be private, only kept off the profile grid
            privacy = "only me" if entry["platform"] == "tiktok" else "public, not on the profile grid"
        items.append({"what": f"Shorts on {entry['label']}", "where": entry["account"], "when": when_p,
                      "privacy": privacy})  # fmt: skip
    shorts = f" and {len(ranges)} Short{'s' if len(ranges) != 1 else ''}" if ranges else ""
    zone = f" Times are in the channel's time zone, {cs.timezone}." if long_at else ""
    sentence = f"Publishes the long-form video{shorts} to {where}, as {cs.privacy}.{zone}"
    if platforms:
        sentence += f" The Shorts also go to {' and '.join(p['label'] for p in platforms)} (untick one below)."
    return {"sentence": sentence, "items": items, "platforms": platforms}


async def _platforms(
    db: Database, storage: Storage, view: dict[str, Any], cs: Any, has_shorts: bool
) -> list[dict[str, Any]]:
    """The channel's TikTok / Instagram accounts with the caption each would get (the reviewer may edit it)."""
    from activities.cross_posting import caption_parts, platform_module
    from tubeflow.db import platform_repo
    from tubeflow.platforms import PLATFORM_LABELS, PLATFORM_NAMES

    if not has_shorts:
        return []
    script: dict[str, Any] = {}
    script_key = (view.get("artifact_keys") or {}).get("script")
    if script_key:
        try:
            script = json.loads(storage.get_text(str(script_key)))
        except (OSError, ValueError, KeyError) as e:
            log.warning("cannot read the script of %s for the platform captions: %s", view.get("id"), e)
    out = []
    accounts = await platform_repo.list_accounts(db, str(view["channel"]))
    order: dict[str, int] = {name: i for i, name in enumerate(PLATFORM_NAMES)}
    for account in sorted(accounts, key=lambda a: order.get(a.platform, len(order))):
        title, description, tags = caption_parts(script, str(view.get("title") or ""))
        try:
            caption = platform_module(account.platform).caption_for(title, description, tags)
        except Exception as e:  # a caption that cannot be built must not hide the checkpoint
            log.warning("caption for %s failed: %s", account.platform, e)
            caption = title
        label = PLATFORM_LABELS.get(account.platform, account.platform)
        name = account.account_name + ("" if account.status == "connected" else " (reconnect needed)")
        out.append({"platform": account.platform, "label": label, "account": f"{label} account {name}",
                    "caption": caption, "connected": account.status == "connected"})  # fmt: skip
    return out
