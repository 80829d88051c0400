"""The Shorts' figures on TikTok and Instagram, collected on YouTube's daily analytics run.

The production collector talks to the local fakes (tests/fake_tiktok.py: Display API
``/v2/video/query/``; tests/fake_instagram.py: Reels insights) through the base-URL settings,
with a real database (SQLite and PostgreSQL) and, for the Schedule test, the real dev server,
workers and ChannelAnalyticsWorkflow.  On the way: TikTok is asked 20 ids at a time, a token about
to expire is refreshed first (as posting does), a same-day rerun replaces the day instead of
adding one, and a TikTok account revoked mid-life leaves YouTube and Instagram collected while
the account is marked "reconnect needed".
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.platform_analytics import collect_platforms
from activities.platform_api import PlatformToken
from tests.analytics_helpers import connect, seed_days
from tests.conftest import tiny_settings
from tests.fake_instagram import FakeInstagram
from tests.fake_tiktok import FakeTikTok
from tests.fake_youtube import FakeYouTube
from tests.platform_analytics_helpers import (
    instagram_token,
    platform_settings,
    published_short,
    store_account,
    tiktok_token,
)
from tests.test_analytics import publish
from tests.workflow_helpers import running_stack
from tubeflow.analytics_report import channel_report
from tubeflow.contracts import ANALYTICS_WORKFLOW, AnalyticsInput, AnalyticsOutcome, analytics_schedule_id
from tubeflow.db import analytics_repo, platform_repo, repo
from tubeflow.db.engine import Database
from tubeflow.db.models import EventRow, PlatformPostDayRow
from tubeflow.schedules import ensure_analytics_schedules, remove_analytics_schedule
from tubeflow.secret_box import SecretBox, new_key
from tubeflow.settings import Settings

pytest_plugins = ["tests.dbfixtures"]  # the database fixture, on SQLite and PostgreSQL

DAY1 = datetime(2026, 11, 20, tzinfo=UTC).date()
PRIVATE_PUBLISH_ID = "v_pub_file~v2-1.7000001"  # a SELF_ONLY TikTok post is known by its publish id only


async def stored_rows(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(PlatformPostDayRow))).scalar() or 0)


async def test_both_platforms_batched_refreshed_and_a_rerun_replaces_the_day(
    database: Database, settings: Settings
) -> None:
    db = database
    with FakeTikTok() as tt, FakeInstagram() as ig:
        s = platform_settings(settings.with_overrides(secret_key=new_key()), tt, ig)
        await repo.create_channel(db, "reels", "science")  # no YouTube account: the platforms still count
        expiring = tiktok_token(tt, expires_in=60)  # inside the 10-minute margin: refreshed before asking
        await store_account(s, db, "reels", "tiktok", expiring)
        await store_account(s, db, "reels", "instagram", instagram_token(ig))

        # 21 public TikTok posts over two productions (two video/query calls), one private one, one not up yet.
        tiktok_ids: list[str] = []
        for n in range(21):
            pid, idx = ("pa", n) if n < 11 else ("pb", n - 11)
            vid = tt.add_video(views=100 + n, likes=n, comments=1, shares=2)
            tiktok_ids.append(vid)
            url = f"https://www.tiktok.com/@tubeflow_demo/video/{vid}"
            await published_short(db, "reels", pid, "tiktok", idx, vid, url, title=f"Topic {pid}")
        await published_short(db, "reels", "pc", "tiktok", 0, PRIVATE_PUBLISH_ID)
        await platform_repo.reserve_post(db, "reels", "pc", "tiktok", 1, after=None)  # reserved: not asked
        reels = [ig.add_reel(views=120, reach=90, saved=4, likes=11, comments=2, shares=3), ig.add_reel(views=30)]
        for idx, mid in enumerate(reels):
            await published_short(db, "reels", "pa", "instagram", idx, mid, f"https://www.instagram.com/reel/{mid}/")

        tiktok, instagram = await collect_platforms(s, db, "reels", today=DAY1)

        assert (tiktok.platform, tiktok.status, tiktok.posts, tiktok.rows) == ("tiktok", "ok", 22, 21), tiktok
        assert "1 not reported" in tiktok.detail
        assert (instagram.platform, instagram.status, instagram.posts, instagram.rows) == ("instagram", "ok", 2, 2)
        assert [len(b) for b in tt.query_batches] == [20, 1]  # at most 20 ids a call; the publish id not sent
        assert PRIVATE_PUBLISH_ID not in {i for b in tt.query_batches for i in b}
        # The token was refreshed first and the new one stored (sealed), as the posting path does.
        assert ("POST", "/v2/oauth/token/") in tt.log
        account, sealed = await platform_repo.account_token(db, "reels", "tiktok")  # type: ignore[misc]
        fresh = PlatformToken.from_json(SecretBox.from_settings(s).open(sealed))
        assert fresh.access_token != expiring.access_token and fresh.expires_at > time.time() + 3600
        assert account.status == "connected"

        days = await analytics_repo.platform_days(db, "reels")
        assert len(days) == 23 and {d.day for d in days} == {DAY1.isoformat()}
        first = next(d for d in days if d.post_id == tiktok_ids[0])
        assert (first.views, first.likes, first.comments, first.shares) == (100, 0, 1, 2)
        assert (first.reach, first.saves) == (None, None)  # TikTok reports neither
        assert (first.production_id, first.idx) == ("pa", 0)
        reel = next(d for d in days if d.post_id == reels[0])
        assert (reel.views, reel.reach, reel.saves, reel.likes, reel.comments, reel.shares) == (120, 90, 4, 11, 2, 3)
        runs = await analytics_repo.runs(db, "reels", platform="tiktok")
        assert [(r.status, r.videos) for r in runs] == [("ok", 22)]
        assert await analytics_repo.runs(db, "reels") == []  # YouTube's runs stay YouTube's

        # The same day again, with newer counters: the day's rows are replaced, none added.
        tt.set_stats(tiktok_ids[5], views=5000, likes=70, comments=9, shares=40)
        ig.set_insights(reels[1], views=300, reach=250)
        again = await collect_platforms(s, db, "reels", today=DAY1)
        assert [(r.status, r.rows) for r in again] == [("ok", 21), ("ok", 2)]
        assert await stored_rows(db) == 23
        days = await analytics_repo.platform_days(db, "reels")
        assert next(d for d in days if d.post_id == tiktok_ids[5]).views == 5000
        assert next(d for d in days if d.post_id == reels[1]).reach == 250

        # The next day adds a day; the report shows each Short's newest figures and the platform's totals.
        tt.set_stats(tiktok_ids[5], views=6000, likes=80, comments=9, shares=41)
        await collect_platforms(s, db, "reels", today=DAY1 + timedelta(days=1))
        assert await stored_rows(db) == 46
        report = await channel_report(db, "reels")
        assert report["videos"] == [] and report["runs"] == []
        tt_report, ig_report = report["platforms"]
        assert (tt_report["platform"], tt_report["account"], tt_report["account_status"]) == (
            "tiktok", "@tubeflow_demo", "connected",
        )  # fmt: skip
        top = tt_report["shorts"][0]
        assert (top["post_id"], top["views"], top["day"], top["title"]) == (
            tiktok_ids[5], 6000, (DAY1 + timedelta(days=1)).isoformat(), "Topic pa",
        )  # fmt: skip
        assert top["url"].startswith("https://www.tiktok.com/")
        assert len(tt_report["shorts"]) == 21
        want_views = 6000 + sum(100 + n for n in range(21) if n != 5)
        assert tt_report["totals"] == {
            "views": want_views, "likes": 80 + sum(n for n in range(21) if n != 5), "comments": 20 + 9,
            "shares": 40 + 41, "reach": None, "saves": None,
        }  # fmt: skip
        assert ig_report["totals"] == {"views": 420, "likes": 11, "comments": 2, "shares": 3, "reach": 340, "saves": 4}
        assert tt_report["last_run"]["status"] == "ok" and tt_report["last_run"]["platform"] == "tiktok"


async def test_tiktok_rate_limit_and_outage_are_reported_not_raised(database: Database, settings: Settings) -> None:
    with FakeTikTok() as tt, FakeInstagram() as ig:
        s = platform_settings(settings.with_overrides(secret_key=new_key()), tt, ig)
        await repo.create_channel(database, "reels", "science")
        await store_account(s, database, "reels", "tiktok", tiktok_token(tt))
        await published_short(database, "reels", "pa", "tiktok", 0, tt.add_video(views=5))
        tt.fail_next("video_query", 429, "rate_limit_exceeded")
        (got,) = await collect_platforms(s, database, "reels", today=DAY1)
        assert got.status == "rate_limited" and "rate limit" in got.detail and got.rows == 0
        tt.fail_next("video_query", 503, "internal_error")
        (got,) = await collect_platforms(s, database, "reels", today=DAY1)
        assert got.status == "unavailable" and got.rows == 0
        (got,) = await collect_platforms(s, database, "reels", today=DAY1)
        assert got.status == "ok" and got.rows == 1
        assert (await platform_repo.get_account(database, "reels", "tiktok")).status == "connected"  # type: ignore[union-attr]
        statuses = [r.status for r in await analytics_repo.runs(database, "reels", platform="tiktok")]
        assert statuses == ["ok", "unavailable", "rate_limited"]


async def wait_result(client: Any, channel: str) -> AnalyticsOutcome:
    """The outcome of the run the channel's Schedule started when it was created."""
    handle = client.get_schedule_handle(analytics_schedule_id(channel))
    for _ in range(300):
        actions = (await handle.describe()).info.recent_actions
        if actions:
            break
        await asyncio.sleep(0.2)
    started = actions[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    run = client.get_workflow_handle(started.workflow_id, result_type=AnalyticsOutcome)
    got: AnalyticsOutcome = await run.result()
    return got


async def test_a_revoked_tiktok_leaves_youtube_and_instagram_collected_on_the_schedule(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    with FakeYouTube() as yt, FakeTikTok() as tt, FakeInstagram() as ig:
        base = tiny_settings(
            tmp_path, secret_key=new_key(), youtube_base_url=yt.base_url, youtube_analytics_url=yt.base_url
        )
        settings = platform_settings(base, tt, ig)
        tt.add_account("other", "reels_only", "Reels Only")
        async with running_stack(client, settings, gpu=False) as stack:
            db = stack.db
            # "sky": YouTube, TikTok and Instagram.  "reels": TikTok only, no YouTube account at all.
            yt.add_account("sky", "Sky Facts")
            vid = yt.add_video("sky", "Why the sky is blue", 108)
            seed_days(yt, vid, 100, 62.0)
            await repo.create_channel(db, "sky", "science")
            await connect(yt, settings, db, "sky", "sky")
            await publish(db, "sky", "p-sky", vid, "Why the sky is blue")
            await store_account(settings, db, "sky", "tiktok", tiktok_token(tt))
            await store_account(settings, db, "sky", "instagram", instagram_token(ig))
            await published_short(db, "sky", "p-sky", "tiktok", 0, tt.add_video(views=40))
            reel = ig.add_reel(views=70, reach=60, saved=1)
            await published_short(db, "sky", "p-sky", "instagram", 0, reel)
            await repo.create_channel(db, "reels", "science")
            await store_account(settings, db, "reels", "tiktok", tiktok_token(tt, "other"))
            only = tt.add_video("other", views=9, likes=1)
            await published_short(db, "reels", "p-reels", "tiktok", 0, only)

            tt.revoke()  # the person removed the app on TikTok ("sky"'s account; "other" keeps working)
            made = await ensure_analytics_schedules(client, settings, db)
            assert made == ["reels", "sky"]  # a TikTok account alone is reason enough for the Schedule
            try:
                sky = await wait_result(client, "sky")
                reels = await wait_result(client, "reels")
            finally:
                for ch in ("sky", "reels"):
                    await remove_analytics_schedule(client, ch)

            # YouTube and Instagram were collected; TikTok is reported and its account marked.
            assert (sky.status, sky.videos, sky.days) == ("ok", 1, 29), sky
            by = {p.platform: p for p in sky.platforms}
            assert by["instagram"].status == "ok" and by["instagram"].rows == 1
            assert by["tiktok"].status == "reconnect_needed", by["tiktok"]
            assert "tubeflow channel connect sky --platform tiktok" in by["tiktok"].detail
            account = await platform_repo.get_account(db, "sky", "tiktok")
            assert account is not None and account.status == "reconnect_needed"
            async with db.session() as s:
                kinds = (await s.execute(select(EventRow.kind))).scalars().all()
            assert kinds.count("account_reconnect_needed") == 1
            assert len(await analytics_repo.day_stats(db, "sky")) == 29
            assert [(d.platform, d.post_id) for d in await analytics_repo.platform_days(db, "sky")] == [
                ("instagram", reel)
            ]
            # The channel without YouTube: YouTube says so, TikTok's figures are there.
            assert reels.status == "not_connected"
            assert [(p.platform, p.status, p.rows) for p in reels.platforms] == [("tiktok", "ok", 1)]

            # The same day again (the workflow itself, as the Schedule runs it): no row twice, and
            # nothing asked of TikTok for "sky" while its account waits for a reconnect.
            asked = len(tt.query_batches)
            for ch in ("sky", "reels"):
                again = await client.execute_workflow(
                    ANALYTICS_WORKFLOW,
                    AnalyticsInput(ch),
                    id=f"analytics-{ch}-again",
                    task_queue=settings.main_queue,
                    result_type=AnalyticsOutcome,
                )
                assert again.status == ("ok" if ch == "sky" else "not_connected")
            assert len(tt.query_batches) == asked + 1  # "reels" only
            assert await stored_rows(db) == 2
            assert len(await analytics_repo.day_stats(db, "sky")) == 29
            assert [r.status for r in await analytics_repo.runs(db, "sky", platform="tiktok")] == [
                "reconnect_needed",
                "reconnect_needed",
            ]
            report = await channel_report(db, "sky")
            tt_report = next(p for p in report["platforms"] if p["platform"] == "tiktok")
            assert tt_report["account_status"] == "reconnect_needed" and tt_report["shorts"] == []
            assert report["videos"][0]["video_id"] == vid


async def test_stats_prints_each_platforms_shorts(settings: Settings) -> None:
    """`tubeflow stats` as a real process: after YouTube's table, a table per platform, a dash where
    the platform reports no such figure."""
    from tests.test_cli import cli_env, tubeflow
    from tubeflow.db.engine import open_database

    with FakeTikTok() as tt, FakeInstagram() as ig:
        s = platform_settings(settings.with_overrides(secret_key=new_key()), tt, ig)
        db = await open_database(s)
        try:
            await repo.create_channel(db, "reels", "science")
            await store_account(s, db, "reels", "tiktok", tiktok_token(tt))
            await store_account(s, db, "reels", "instagram", instagram_token(ig))
            vid = tt.add_video(views=321, likes=12, comments=3, shares=4)
            await published_short(db, "reels", "pa", "tiktok", 0, vid, title="Why the sky is blue")
            reel = ig.add_reel(views=654, reach=600, saved=7, likes=20, comments=1, shares=2)
            await published_short(db, "reels", "pa", "instagram", 1, reel)
            await collect_platforms(s, db, "reels", today=DAY1)
        finally:
            await db.close()
    env = cli_env(s, "127.0.0.1:1")  # no Temporal needed: stats reads the database
    text = await tubeflow(env, "stats", "reels")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "TikTok (@tubeflow_demo): 321 views, 12 likes, 3 comments, 4 shares, - reach, - saves" in out, out
    assert "Instagram (tubeflow_demo): 654 views, 20 likes, 1 comments, 2 shares, 600 reach, 7 saves" in out, out
    row = next(ln for ln in out.splitlines() if vid in ln)
    assert "Why the sky is blue #1" in row and "321" in row
    assert any(reel in ln and "#2" in ln and "600" in ln for ln in out.splitlines()), out
    got = await tubeflow(env, "stats", "reels", "--json")
    platforms = json.loads(got.stdout)["platforms"]
    assert [(p["platform"], p["totals"]["views"]) for p in platforms] == [("tiktok", 321), ("instagram", 654)]


async def test_a_topic_is_ranked_by_its_best_platform(settings: Settings) -> None:
    """ "Stock market basics" held YouTube viewers badly (21 %) but its Shorts did best on TikTok: a
    similar candidate is ranked up by TikTok, not down by YouTube; the sky topics, best on YouTube,
    keep YouTube's reason."""
    from knowledge.performance import learn_from_channel
    from knowledge.store import add_facts
    from knowledge.topics import rank_for_channel
    from tests.analytics_helpers import collected_channel
    from tests.test_analytics_learning import BOND_TOPIC, SKY_TOPIC, _facts
    from tubeflow.db.engine import open_database
    from tubeflow.storage import open_storage

    with FakeYouTube() as yt, FakeTikTok() as tt, FakeInstagram() as ig:
        base = settings.with_overrides(
            secret_key=new_key(), youtube_base_url=yt.base_url, youtube_analytics_url=yt.base_url
        )
        s = platform_settings(base, tt, ig)
        db = await open_database(s)
        storage = open_storage(s)
        try:
            await add_facts(db, "science", _facts(SKY_TOPIC, 2) + _facts(BOND_TOPIC, 3))
            vids = await collected_channel(yt, s, db, storage)
            await store_account(s, db, "sky", "tiktok", tiktok_token(tt))
            posts = {}
            for pid, idx, views in (("pstock", 0, 5000), ("pstock", 1, 5000), ("pblue", 0, 500), ("pray", 0, 400)):
                posts[(pid, idx)] = tt.add_video(views=views)
                await published_short(db, "sky", pid, "tiktok", idx, posts[(pid, idx)])
            await collect_platforms(s, db, "sky", today=DAY1)

            await learn_from_channel(db, storage, "sky")
            after = {r.topic: r for r in await rank_for_channel(s, db, "sky", 100)}
            bond = after[BOND_TOPIC].explanation
            assert bond.startswith(
                "ranked up: similar topics averaged 5,000 TikTok views per Short (channel average 1,967; posts "
            ), bond
            assert posts[("pstock", 0)] in bond and posts[("pstock", 1)] in bond and vids["stocks"] not in bond
            sky = after[SKY_TOPIC].explanation
            assert sky.startswith("ranked up: similar topics averaged 60% view percentage (channel average 47%"), sky
        finally:
            await db.close()
