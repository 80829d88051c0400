"""The calendar page and the production page show TikTok and Instagram beside YouTube, in headless
Chromium at 1366 and 390 px.

No workflow runs here: the pages read the database (the production page falls back to its last
snapshot), which holds what the Shorts workflow's activities write: YouTube's calendar, each
platform post's row, and the events activities/platform_events.py records (called directly, as
the cross-posting activity calls it).  One event arrives while the production page is open and
the page follows it live.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the screenshots are kept.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from activities import platform_events
from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.a11y import check_page
from tests.browser import FITS, LAPTOP, PHONE, WIDE, open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tubeflow.contracts import ProductionStatus, Stage, State, StateSnapshot
from tubeflow.db import channel_repo, platform_repo, repo
from tubeflow.db.engine import open_database
from tubeflow.storage import open_storage

TITLE = "Why the sky is blue"
REEL = "https://www.instagram.com/reel/C0ffee/"


async def test_the_calendar_and_the_production_page_show_every_platform(tmp_path: Path, browser: Any) -> None:
    expect = playwright_api.expect
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    storage = open_storage(settings)
    try:
        await repo.create_channel(db, "sky", "science")
        await channel_repo.update_settings(db, "sky", {"timezone": "Europe/Lisbon"})
        await repo.create_production(db, "sky", "Why is the sky blue?", production_id="pfeed")
        status = ProductionStatus(
            production_id="pfeed", channel="sky", niche="science", topic="Why is the sky blue?", title=TITLE,
            stage=Stage.SHORTS, state=State.RUNNING, progress=97.0, detail="posting the Shorts",
            updated_at=datetime.now(UTC).isoformat(),
        )  # fmt: skip
        await repo.apply_snapshot(db, StateSnapshot(status, "production-pfeed", "r1"))
        yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
        now = datetime.now(UTC)
        await channel_repo.reserve_slot(db, "sky", "pfeed", "long", 0, now=now, at=yesterday, title=TITLE)
        for i in (0, 1):
            at = yesterday + timedelta(hours=1 + 2 * i)
            await channel_repo.reserve_slot(db, "sky", "pfeed", "short", i, now=now, at=at, title=TITLE)
            await channel_repo.update_publication(db, "pfeed", "short", i, status="published", location=f"yt-{i}")
            for platform in ("tiktok", "instagram"):
                await platform_repo.reserve_post(db, "sky", "pfeed", platform, i, after=at)
        await channel_repo.update_publication(db, "pfeed", "long", 0, status="published", location="yt-long")

        async def happened(platform: str, idx: int, before: str = "reserved", until: str = "", **row: Any) -> None:
            post = await platform_repo.update_post(db, "pfeed", platform, idx, **row)
            assert await platform_events.announce(settings, storage, db, post, before, until=until)

        await happened("tiktok", 0, status="published", post_id="7", location="", posted_at=yesterday)
        await happened("instagram", 0, status="published", post_id="9", location=REEL, posted_at=yesterday)
        await happened("tiktok", 1, status="reconnect_needed", reason="the TikTok authorization was revoked")
        retry_at = (now + timedelta(hours=5)).isoformat()
        await happened("instagram", 1, status="waiting", reason="Instagram daily cap reached", until=retry_at)

        viewer = await create_key(db, "vi", "viewer")
        app = create_app(settings, db=db, storage=storage, events_poll_s=0.2)
        async with serve(app) as base:
            ctx, page, errors = await open_page(browser, base, viewport=LAPTOP)
            start = yesterday.date().isoformat()
            await sign_in(page, viewer, f"/calendar?channel=sky&start={start}")
            cal = page.locator("#calendar")
            cells = cal.locator(".slot")
            await expect(cells).to_have_count(7)  # the long-form, two Shorts on YouTube, four posts
            tiktok = cal.locator(".slot[data-platform=tiktok]")
            await expect(tiktok.first).to_contain_text("TikTok")
            await expect(tiktok.first).to_contain_text("Short 1")
            await expect(tiktok.first).to_contain_text("published (private)")
            await expect(tiktok.nth(1)).to_contain_text("reconnect needed")
            await expect(cal.locator(f".slot[data-platform=instagram] a[href='{REEL}']")).to_have_text("published")
            await expect(cal.locator(".slot[data-platform=instagram]").nth(1)).to_contain_text("waiting")
            assert "daily cap" in (
                await cal.locator(".slot[data-platform=instagram]").nth(1).get_attribute("title") or ""
            )
            await expect(cal.locator(".slot[data-platform=youtube]")).to_have_count(3)
            await check_page(page, "calendar with platforms")
            for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                await page.set_viewport_size(size)
                assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                await page.screenshot(path=str(shots / f"calendar-platforms-{label}.png"), full_page=True)

            # The production page: each post, and what happened in words (the channel's time zone).
            await page.set_viewport_size(LAPTOP)
            await page.goto("/productions/pfeed")
            feed = page.locator("#platform-events li")
            await expect(feed).to_have_count(4)
            await expect(feed.nth(0)).to_contain_text("Short 1 published to TikTok at")
            await expect(feed.nth(0)).to_contain_text("(Europe/Lisbon), private, no public link")
            await expect(feed.nth(1).locator(f"a[href='{REEL}']")).to_have_count(1)
            await expect(feed.nth(2)).to_contain_text("Short 2 waits for the TikTok account to be reconnected")
            await expect(feed.nth(3)).to_contain_text("Short 2 waits for the Instagram daily cap until")

            # TikTok reconnected, Short 2 posted: the list and the table follow without a reload.
            row = page.locator("#platform-posts tr[data-platform=tiktok][data-idx='1'] [data-post-status]")
            await expect(row).to_have_text("reconnect needed")
            link = "https://www.tiktok.com/@tubeflow_demo/video/8"
            await happened(
                "tiktok", 1, before="reconnect_needed", status="published", post_id="8", location=link,
                posted_at=datetime.now(UTC), reason="",
            )  # fmt: skip
            await expect(feed).to_have_count(5, timeout=15_000)
            await expect(feed.nth(4)).to_contain_text("Short 2 published to TikTok at")
            await expect(feed.nth(4).locator(f"a[href='{link}']")).to_have_count(1)
            await expect(row).to_have_text("published")
            where = page.locator("#platform-posts tr[data-platform=tiktok] [data-post-where]")
            await expect(where.nth(0)).to_have_text("private, no public link")
            await expect(where.nth(1).locator(f"a[href='{link}']")).to_have_count(1)
            await check_page(page, "production page with the platform feed")
            section = page.locator("#platform-posts")
            for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                await page.set_viewport_size(size)
                assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                await section.scroll_into_view_if_needed()
                await section.screenshot(path=str(shots / f"production-platform-feed-{label}.png"))
            assert errors == [], errors
            await ctx.close()
    finally:
        await db.close()
