"""Cross-posting a production's Shorts to TikTok and Instagram: the plain module of two activities.

``plan_cross_posts`` decides, once per production, which connected platforms get the Shorts and
when: each Short's entry on each platform's calendar is reserved in the database (the platform's
own slots, else the Short's YouTube time), an unticked platform's entries are kept as "skipped".
``cross_post`` posts one Short on one platform: the account's token is opened (and refreshed
before it expires), the channel's own daily cap checked against the posts of the last 24 hours,
then the platform module posts, writing each step to storage so a retry resumes and never posts
twice.  Every outcome is written to the post's row, which the calendar and the dashboard read,
and what is news goes to the production's event feed and to notifications (:mod:`activities.platform_events`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from activities import platform_events
from activities.calendar import short_time
from activities.platform_api import (
    PLATFORM_LABELS,
    PLATFORM_NAMES,
    PlatformApp,
    PlatformToken,
    PostOutcome,
    ShortPost,
    platform_app,
)
from activities.publish_metadata import script_description
from tubeflow.contracts import CrossPostPlan, CrossPostPlanRequest, CrossPostRequest, CrossPostResult, CrossPostSlot
from tubeflow.db import channel_repo, platform_repo
from tubeflow.db.engine import Database
from tubeflow.db.records import PlatformAccount, PlatformPost
from tubeflow.db.repo import NotFoundError
from tubeflow.errors import AccountNeedsReconnect, PermanentError, PostingCapReached
from tubeflow.keys import ProductionKeys
from tubeflow.secret_box import SecretBox
from tubeflow.settings import Settings
from tubeflow.storage import Storage

CAP_MARGIN = timedelta(minutes=1)  # try a minute after the oldest post of the window ages out


class StorageLedger:
    """A post's steps as JSON in storage (``keys.platform_post_state``): a retried activity on any
    worker reads what the last attempt did."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage, self.key = storage, key

    def load(self) -> dict[str, Any]:
        if not self.storage.exists(self.key):
            return {}
        try:
            data = json.loads(self.storage.get_text(self.key))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, state: dict[str, Any]) -> None:
        self.storage.put_bytes(self.key, json.dumps(state).encode(), "application/json")


@dataclass(frozen=True)
class PlatformModule:
    """What the adapter needs of a platform module (activities/tiktok.py, activities/instagram.py)."""

    post: Callable[..., PostOutcome]
    refresh: Callable[[PlatformApp, PlatformToken], PlatformToken]
    needs_refresh: Callable[[PlatformToken, float], bool]
    caption_for: Callable[[str, str, list[str]], str]
    # post ids -> {metric: lifetime value}; posts the platform no longer has are left out
    stats: Callable[[PlatformApp, PlatformToken, list[str]], dict[str, dict[str, int]]]


def platform_module(platform: str) -> PlatformModule:
    if platform == "tiktok":
        from activities import tiktok

        def post(
            app: PlatformApp, token: PlatformToken, short: ShortPost, ledger: Any, *, chunk_size: int
        ) -> PostOutcome:
            # MIN_CHUNK is read at call time: TikTok's 5 MB floor, lowered only by tests of tiny files.
            return tiktok.post_short(app, token, short, ledger, chunk_size=chunk_size, min_chunk=tiktok.MIN_CHUNK)

        return PlatformModule(post, tiktok.refresh, tiktok.needs_refresh, tiktok.caption_for, tiktok.video_stats)
    if platform == "instagram":
        from activities import instagram

        def reel(
            app: PlatformApp, token: PlatformToken, short: ShortPost, ledger: Any, *, chunk_size: int
        ) -> PostOutcome:
            return instagram.post_reel(app, token, short, ledger)

        return PlatformModule(
            reel, instagram.refresh, instagram.needs_refresh, instagram.caption_for, instagram.reel_insights
        )
    raise PermanentError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORM_NAMES)}")


def _label(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform)


def _reconnect_hint(channel: str, platform: str) -> str:
    return f"`tubeflow channel connect {channel} --platform {platform}` or Connect {_label(platform)} on its page"


async def plan_cross_posts(db: Database, req: CrossPostPlanRequest, now: datetime | None = None) -> CrossPostPlan:
    """The platforms the Shorts go to and each Short's slot there, reserved once (a retry returns the same)."""
    now = now or datetime.now(UTC)
    try:
        accounts = await platform_repo.list_accounts(db, req.channel)
        cs = await channel_repo.channel_settings(db, req.channel)
    except NotFoundError:
        return CrossPostPlan([], [])
    connected = [a.platform for a in accounts if a.platform in PLATFORM_NAMES]
    try:
        long = await channel_repo.get_publication(db, req.production_id, "long", 0)
        base = long.publish_at or now
    except NotFoundError:
        base = now
    slots: list[CrossPostSlot] = []
    for platform in connected:
        off = platform in req.platforms_off
        for spec in req.shorts:
            caption = req.captions.get(platform, "")
            entry = await platform_repo.reserve_post(
                db, req.channel, req.production_id, platform, spec.index,
                after=None if off else short_time(cs, base, spec.index, now), caption=caption,
                status="skipped" if off else "reserved",
            )  # fmt: skip
            if entry.status == "skipped":
                if off and not entry.reason:
                    await platform_repo.update_post(
                        db, req.production_id, platform, spec.index, reason="unticked at the final checkpoint"
                    )
                continue
            at = entry.publish_at.isoformat() if entry.publish_at and entry.publish_at > now else ""
            slots.append(CrossPostSlot(platform, spec.index, at))
    return CrossPostPlan([p for p in connected if p not in req.platforms_off], slots)


def caption_parts(script: dict[str, Any], title: str) -> tuple[str, str, list[str]]:
    """(title, description, tags) for a platform caption, from the approved script."""
    description = script_description(script).split("\n\n")[0].strip()
    tags = [str(t) for t in script.get("tags") or [] if str(t).strip()]
    return title or str(script.get("title") or ""), description, tags


async def cross_post(
    settings: Settings,
    storage: Storage,
    db: Database,
    req: CrossPostRequest,
    script: dict[str, Any],
    heartbeat: Callable[[], None] = lambda: None,
) -> CrossPostResult:
    """Post one Short on one platform, exactly once; the post's row says what happened."""
    module = platform_module(req.platform)
    label = _label(req.platform)
    rows = await platform_repo.list_posts(db, production_id=req.production_id)
    entry = next((r for r in rows if r.platform == req.platform and r.idx == req.index), None)
    before = entry.status if entry is not None else None
    told = Teller(settings, storage, db, req, before, heartbeat)
    if entry is not None and entry.status == "published":
        await told.announce(entry)  # only when no event says so yet: a worker killed in between
        return CrossPostResult(req.platform, req.index, entry.post_id, entry.location)
    found = await platform_repo.account_token(db, req.channel, req.platform)
    if found is None:
        raise await told.failed(
            "needs_attention",
            PermanentError(
                f"channel {req.channel!r} has no {label} account connected any more; connect it "
                f"({_reconnect_hint(req.channel, req.platform)}) and retry with --platform {req.platform}"
            ),
        )
    account, sealed = found
    if account.status != "connected":
        # Nothing is sent to the platform while the account is marked: the workflow waits for a reconnect.
        raise await told.failed(
            "reconnect_needed",
            AccountNeedsReconnect(
                f"channel {req.channel!r} needs its {label} account reconnected ({account.reason}); "
                f"run {_reconnect_hint(req.channel, req.platform)}: posting continues then"
            ),
        )  # fmt: skip
    try:
        app, token = await open_token(settings, db, account, sealed)
        key = ProductionKeys(req.production_id).platform_post_state(req.platform, req.index)
        ledger = StorageLedger(storage, key)
        if not ledger.load():
            await _check_cap(settings, db, req)  # a post already begun is finished, whatever the cap
        title, description, tags = caption_parts(script, req.title)
        caption = req.caption or module.caption_for(title, description, tags)
        cs = await channel_repo.channel_settings(db, req.channel)
        video = await asyncio.to_thread(storage.fetch, req.video_key)
        post = ShortPost(
            req.production_id, req.index, video, caption, title,
            private=cs.privacy != "public", aigc=cs.synthetic_disclosure, cover_ms=int(round(req.cover_s * 1000)),
        )  # fmt: skip
        await platform_repo.update_post(
            db, req.production_id, req.platform, req.index, status="posting", caption=caption
        )
        posting = asyncio.to_thread(module.post, app, token, post, ledger, chunk_size=settings.tiktok_chunk_bytes)
        outcome = await _beating(posting, heartbeat)
    except AccountNeedsReconnect as e:
        said = await mark_reconnect_needed(db, account, e)
        raise await told.failed("reconnect_needed", said) from None
    except PostingCapReached as e:
        raise await told.failed("waiting", e, until=e.retry_at) from None
    except PermanentError as e:
        raise await told.failed("needs_attention", e) from None
    done = await platform_repo.update_post(
        db, req.production_id, req.platform, req.index, status="published", post_id=outcome.post_id,
        location=outcome.url, reason="", posted_at=datetime.now(UTC),
    )  # fmt: skip
    await told.announce(done)
    return CrossPostResult(req.platform, req.index, done.post_id, done.location)


async def open_token(
    settings: Settings, db: Database, account: PlatformAccount, sealed: str
) -> tuple[PlatformApp, PlatformToken]:
    """The app registration and a usable token for the account: opened from its seal and, when it
    expires soon, refreshed first (the refreshed token stored sealed).  Posting and the analytics
    collection both come here, so a token is refreshed one way only."""
    module = platform_module(account.platform)
    box = SecretBox.from_settings(settings)
    app = platform_app(settings, account.platform)
    token = PlatformToken.from_json(box.open(sealed))
    if module.needs_refresh(token, time.time()):
        token = await asyncio.to_thread(module.refresh, app, token)
        await platform_repo.save_account(
            db, account.channel, account.platform, box.seal(token.to_json()), token.account_id or account.account_id,
            token.account_name or account.account_name, _when(token.expires_at), refreshed=True,
        )  # fmt: skip
    return app, token


async def mark_reconnect_needed(
    db: Database, account: PlatformAccount, error: AccountNeedsReconnect
) -> AccountNeedsReconnect:
    """Mark the account "reconnect needed" with the platform's reason, the channel named in the hint
    (the platform module knows no channel); the error to report."""
    said = AccountNeedsReconnect(str(error).replace("connect CHANNEL", f"connect {account.channel}"))
    await platform_repo.mark_reconnect_needed(db, account.channel, account.platform, str(said))
    return said


def _when(unix: float) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if unix else None


async def _check_cap(settings: Settings, db: Database, req: CrossPostRequest) -> None:
    """The channel's own daily cap on the platform, counted from the posts of the last 24 hours."""
    cap = settings.tiktok_daily_posts if req.platform == "tiktok" else settings.instagram_daily_posts
    now = datetime.now(UTC)
    recent = await platform_repo.posts_in_window(db, req.channel, req.platform, now)
    if cap > 0 and len(recent) >= cap:
        retry_at = recent[len(recent) - cap] + platform_repo.CAP_WINDOW + CAP_MARGIN
        raise PostingCapReached(
            f"{_label(req.platform)} daily cap reached for {req.channel!r} ({len(recent)} posts in 24 h, cap {cap}); "
            f"the Short waits until {retry_at.isoformat()}",
            retry_at.isoformat(),
        )


class Teller:
    """Writes what happened to the post's row and tells people (:mod:`activities.platform_events`)."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        db: Database,
        req: CrossPostRequest,
        before: str | None,
        heartbeat: Callable[[], None],
    ) -> None:
        self.settings, self.storage, self.db, self.req = settings, storage, db, req
        self.before, self.heartbeat = before, heartbeat

    async def announce(self, post: PlatformPost, until: str = "") -> None:
        await platform_events.announce(
            self.settings, self.storage, self.db, post, self.before, until=until, heartbeat=self.heartbeat
        )

    async def failed(self, status: str, error: PermanentError, until: str = "") -> PermanentError:
        """Write the failure to the post's row (the calendar and the dashboard show it), announce it
        when it is news; the error to raise."""
        req = self.req
        try:
            post = await platform_repo.update_post(
                self.db, req.production_id, req.platform, req.index, status=status, reason=str(error)
            )
        except NotFoundError:
            return error
        await self.announce(post, until)
        return error


async def _beating(work: Any, heartbeat: Callable[[], None], every_s: float = 5.0) -> PostOutcome:
    """Await a posting thread while heartbeating, so a dead worker is noticed within the heartbeat timeout."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=every_s)
        if done:
            result: PostOutcome = task.result()
            return result
        heartbeat()
