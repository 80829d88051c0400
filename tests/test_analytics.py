"""Analytics collection: two connected channels read through the fake YouTube Analytics API by their
daily Temporal Schedules, the 28-day backfill, the quota ledger, and a channel without the scope.

The fake (tests/fake_youtube.py) speaks Google's token endpoint, the Data API's videos.list and
the Analytics API's reports.query; the production client talks to it unchanged (its hosts come
from TUBEFLOW_YOUTUBE_BASE_URL / TUBEFLOW_YOUTUBE_ANALYTICS_URL and the credentials' token URI).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import ScheduleActionExecutionStartWorkflow, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.youtube_analytics import collect_channel
from tests.analytics_helpers import TODAY, connect, seed_days
from tests.conftest import tiny_settings
from tests.fake_youtube import FakeYouTube
from tests.workflow_helpers import running_stack
from tubeflow.contracts import analytics_schedule_id
from tubeflow.db import analytics_repo, channel_repo, repo
from tubeflow.db.engine import Database
from tubeflow.schedules import ensure_analytics_schedules, remove_analytics_schedule
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings
from tubeflow.youtube_quota import pacific_day


def curve(drop_at: float) -> list[tuple[float, float, float]]:
    return [(r / 100, 1.0 if r / 100 < drop_at else 0.4, 0.5) for r in range(1, 101)]


async def publish(db: Database, channel: str, pid: str, vid: str, title: str) -> None:
    await repo.create_production(db, channel, title, production_id=pid)
    await channel_repo.reserve_slot(db, channel, pid, "long", 0, now=datetime.now(UTC), title=title)
    await channel_repo.update_publication(db, pid, "long", 0, status="published", video_id=vid)


async def wait_runs(db: Database, channel: str, n: int, timeout_s: float = 60) -> list[Any]:
    for _ in range(int(timeout_s / 0.2)):
        got = await analytics_repo.runs(db, channel)
        if len(got) >= n:
            return got
        await asyncio.sleep(0.2)
    raise AssertionError(f"{channel}: fewer than {n} analytics runs after {timeout_s}s")


async def test_daily_schedules_collect_two_channels_and_report_missing_scope(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        fake.add_account("money", "Money Matters")
        fake.add_account("old", "Connected before analytics").analytics_scope = False
        settings = tiny_settings(tmp_path).with_overrides(
            secret_key=new_key(), youtube_base_url=fake.base_url, youtube_analytics_url=fake.base_url
        )
        sky = fake.add_video("sky", "Why the sky is blue", 108)
        money = fake.add_video("money", "Compound interest", 300)
        old = fake.add_video("old", "An old video", 60)
        seed_days(fake, sky, 100, 62.0)
        seed_days(fake, money, 10, 31.0)
        seed_days(fake, old, 5, 50.0)
        fake.retention[sky] = curve(0.3)
        fake.retention[money] = curve(0.1)
        client = temporal_env.client
        async with running_stack(client, settings, gpu=False) as stack:
            db = stack.db
            for ch, vid in (("sky", sky), ("money", money), ("old", old)):
                await repo.create_channel(db, ch, "science")
                await connect(fake, settings, db, ch, ch)
                await publish(db, ch, f"p-{ch}", vid, f"topic of {ch}")
            made = await ensure_analytics_schedules(client, settings, db)
            assert made == ["money", "old", "sky"]
            assert await ensure_analytics_schedules(client, settings, db) == []  # a second worker: nothing new
            try:
                for ch in ("sky", "money", "old"):
                    await wait_runs(db, ch, 1)  # created with trigger_immediately: the backfill runs now

                for ch, vid, views0 in (("sky", sky, 100), ("money", money, 10)):
                    (run,) = await analytics_repo.runs(db, ch)
                    assert run.status == "ok", run
                    assert run.start_day == (TODAY - timedelta(days=28)).isoformat()
                    days = await analytics_repo.day_stats(db, ch)
                    assert [d.video_id for d in days] == [vid] * 29  # 28 days back plus today, not all 40
                    assert days[-1].day == TODAY.isoformat() and days[-1].views == views0
                    assert days[0].views == views0 + 28 and days[0].ctr == 4.5 and days[0].impressions == 1000
                    (summary,) = await analytics_repo.video_summaries(db, ch)
                    assert summary.title == fake.videos[vid]["snippet"]["title"]
                    assert summary.views == sum(views0 + i for i in range(29))
                    points = await analytics_repo.retention(db, ch, vid)
                    assert len(points) == 100 and points[0][1] == 1.0 and points[-1][1] == 0.4
                    # Nothing crossed between the accounts.
                    other = money if ch == "sky" else sky
                    assert await analytics_repo.retention(db, ch, other) == []
                assert summary.duration_s == 300.0

                # The channel connected without the analytics scope is reported, its workflow not failed.
                (run,) = await analytics_repo.runs(db, "old")
                assert run.status == "missing_scope" and "yt-analytics.readonly" in run.detail
                assert await analytics_repo.day_stats(db, "old") == []
                sched = await client.get_schedule_handle(analytics_schedule_id("old")).describe()
                started = sched.info.recent_actions[-1].action
                assert isinstance(started, ScheduleActionExecutionStartWorkflow)
                handle = client.get_workflow_handle(started.workflow_id)
                for _ in range(100):
                    desc = await handle.describe()
                    if desc.status != WorkflowExecutionStatus.RUNNING:
                        break
                    await asyncio.sleep(0.2)
                assert desc.status == WorkflowExecutionStatus.COMPLETED

                # The ledger: per channel 1 videos.list + 3 reports for its one video.
                assert await channel_repo.quota_used(db, "fake-project", pacific_day(datetime.now(UTC))) == 3 * 4

                # Disconnected: the credentials are deleted and the next worker start removes its schedule.
                gone = await channel_repo.remove_account(db, "old")
                assert gone is not None and gone.youtube_title == "Connected before analytics"
                assert await channel_repo.account_credentials(db, "old") is None
                assert await channel_repo.remove_account(db, "old") is None
                assert await ensure_analytics_schedules(client, settings, db) == []
                with pytest.raises(RPCError):
                    await client.get_schedule_handle(analytics_schedule_id("old")).describe()
                await client.get_schedule_handle(analytics_schedule_id("sky")).describe()  # the others stay
                assert not await remove_analytics_schedule(client, "old")
            finally:
                for ch in ("sky", "money", "old"):
                    await remove_analytics_schedule(client, ch)


async def test_later_runs_reread_recent_days_and_respect_the_ledger(settings: Settings, tmp_path: Path) -> None:
    from tubeflow.db.engine import open_database

    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        fake.reach_available = False  # a project without impressions: CTR stays empty, nothing fails
        s = settings.with_overrides(
            secret_key=new_key(), youtube_base_url=fake.base_url, youtube_analytics_url=fake.base_url
        )
        vid = fake.add_video("sky", "Why the sky is blue", 108)
        seed_days(fake, vid, 100, 62.0)
        db = await open_database(s)
        try:
            await repo.create_channel(db, "sky", "science")
            await connect(fake, s, db, "sky", "sky")
            await publish(db, "sky", "p1", vid, "sky")
            first = await collect_channel(s, db, "sky", today=TODAY - timedelta(days=5))
            assert first.status == "ok" and first.days == 29
            assert all(d.ctr is None and d.impressions is None for d in await analytics_repo.day_stats(db, "sky"))
            fake.reports.clear()
            second = await collect_channel(s, db, "sky", today=TODAY)
            # YouTube revises its latest days: from two days before the last stored one.
            assert second.start_day == (TODAY - timedelta(days=7)).isoformat()
            assert {r["startDate"] for r in fake.reports} == {second.start_day}
            assert len(await analytics_repo.day_stats(db, "sky")) == 34  # upserts: no day twice

            # The project's budget is spent (uploads took it): reported as quota, nothing asked of YouTube.
            spent = await channel_repo.quota_used(db, "fake-project", pacific_day(datetime.now(UTC)))
            s2 = s.with_overrides(youtube_daily_quota=spent)
            fake.reports.clear()
            third = await collect_channel(s2, db, "sky", today=TODAY)
            assert third.status == "quota" and "quota" in third.detail and fake.reports == []
            assert [r.status for r in await analytics_repo.runs(db, "sky")] == ["quota", "ok", "ok"]
        finally:
            await db.close()


def test_unconnected_channel_is_reported(settings: Settings) -> None:
    async def go() -> None:
        from tubeflow.db.engine import open_database

        db = await open_database(settings)
        try:
            await repo.create_channel(db, "plain", "science")
            got = await collect_channel(settings, db, "plain", today=date(2026, 11, 1))
            assert got.status == "not_connected"
            assert (await analytics_repo.runs(db, "plain"))[0].status == "not_connected"
        finally:
            await db.close()

    asyncio.run(go())
