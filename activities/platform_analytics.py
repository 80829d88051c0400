"""Collecting how the Shorts do on TikTok and Instagram, on the same daily run as YouTube's analytics.

For each platform the channel has an account on, every published post with a post id is asked
about once per run: TikTok's Display API ``/v2/video/query/`` (20 ids a call: views, likes,
comments, shares) and Instagram's Reels insights (views, or plays on older API versions, reach,
saves, likes, comments, shares).  Both report lifetime counters, so the run stores each post's
figures as of today, one row per (platform, post, day): a second run the same day replaces it.

The token is opened and refreshed the way posting does it (:func:`activities.cross_posting.open_token`).
A platform that cannot be read comes back as that platform's outcome and never raises: a revoked
token marks the account "reconnect needed" (as posting does), a rate limit or an outage is
reported and the next day's run reads again.  Raising would make Temporal retry the whole
activity, YouTube's quota-booked reports with it, for a platform that a retry seconds later
would most likely find in the same state.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from activities.cross_posting import mark_reconnect_needed, open_token, platform_module
from activities.platform_api import PLATFORM_LABELS, PLATFORM_NAMES
from tubeflow.contracts import PlatformAnalyticsOutcome
from tubeflow.db import analytics_repo, platform_repo
from tubeflow.db.engine import Database
from tubeflow.db.records import PLATFORM_METRICS, PlatformAccount, PlatformPost, PlatformPostDay
from tubeflow.errors import AccountNeedsReconnect, PermanentError, PostingCapReached, TransientError
from tubeflow.settings import Settings


async def collect_platforms(
    settings: Settings, db: Database, channel: str, today: date | None = None
) -> list[PlatformAnalyticsOutcome]:
    """Each connected platform's outcome, in :data:`PLATFORM_NAMES` order; each is also recorded as a run."""
    day = (today or datetime.now(UTC).date()).isoformat()
    accounts = {a.platform: a for a in await platform_repo.list_accounts(db, channel)}
    posts = await platform_repo.list_posts(db, channel)
    out = []
    for platform in PLATFORM_NAMES:
        account = accounts.get(platform)
        if account is None:
            continue
        mine = [p for p in posts if p.platform == platform and p.status == "published" and p.post_id]
        got = await _collect_one(settings, db, account, mine, day)
        await analytics_repo.record_run(
            db, channel, got.status, got.detail, start_day=day, end_day=day, videos=got.posts, platform=platform
        )
        out.append(got)
    return out


async def _collect_one(
    settings: Settings, db: Database, account: PlatformAccount, posts: list[PlatformPost], day: str
) -> PlatformAnalyticsOutcome:
    platform, label = account.platform, PLATFORM_LABELS[account.platform]
    res = PlatformAnalyticsOutcome(platform, "ok", posts=len(posts))
    if account.status != "connected":
        # Nothing is asked of the platform while the account is marked, as with posting.
        res.status, res.detail = "reconnect_needed", f"the {label} account needs reconnecting ({account.reason})"
        return res
    if not posts:
        res.detail = f"no Shorts published on {label} yet"
        return res
    found = await platform_repo.account_token(db, account.channel, platform)
    if found is None:  # disconnected since the list was read
        res.status, res.detail = "reconnect_needed", f"the {label} account was disconnected"
        return res
    try:
        app, token = await open_token(settings, db, account, found[1])
        stats = await asyncio.to_thread(platform_module(platform).stats, app, token, [p.post_id for p in posts])
    except AccountNeedsReconnect as e:
        said = await mark_reconnect_needed(db, account, e)
        res.status, res.detail = "reconnect_needed", str(said)
        return res
    except PostingCapReached as e:  # a rate limit: read again on the next run
        res.status, res.detail = "rate_limited", str(e)
        return res
    except TransientError as e:  # an outage, or Instagram's rate limit on insights
        res.status, res.detail = "unavailable", f"{e}; read again on the next run"
        return res
    except PermanentError as e:  # the app is not set up (ConfigError), or a refusal a retry cannot fix
        res.status, res.detail = "failed", str(e)
        return res
    rows = [_day_of(platform, p, day, stats[p.post_id]) for p in posts if p.post_id in stats]
    res.rows = await analytics_repo.save_platform_days(db, account.channel, rows)
    res.detail = f"{res.rows} of {len(posts)} {label} posts read"
    if missing := len(posts) - res.rows:
        why = "private or still processing, or deleted" if platform == "tiktok" else "deleted or out of reach"
        res.detail += f"; {missing} not reported ({why})"
    return res


def _day_of(platform: str, post: PlatformPost, day: str, figures: dict[str, int]) -> PlatformPostDay:
    """The post's row for the day; a metric the platform does not report (TikTok: reach, saves) stays None."""
    values = {m: int(figures[m]) if m in figures else None for m in PLATFORM_METRICS}
    return PlatformPostDay(platform, post.post_id, post.production_id, post.idx, day, **values)
