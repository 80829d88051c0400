"""The analytics page's TikTok and Instagram sections in headless Chromium at 1366 and 390 px.

Channel "sky" has its YouTube videos collected from the fake YouTube and Shorts on the fake
TikTok and the fake Instagram; the analytics activity (the code the daily Schedule runs) reads
them.  Then the Instagram login is revoked and the activity runs again: the page keeps the
figures already collected and says the account needs reconnecting.  The JSON answer carries the
same numbers.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the screenshots are kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.analytics_activities import AnalyticsActivities
from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.a11y import check_page
from tests.analytics_helpers import collected_channel
from tests.browser import FITS, LAPTOP, PHONE, WIDE, open_page, playwright_api, sign_in
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
from tubeflow.contracts import AnalyticsInput
from tubeflow.db.engine import open_database
from tubeflow.secret_box import new_key
from tubeflow.storage import open_storage


async def test_the_analytics_page_shows_each_platforms_shorts(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any
) -> None:
    expect = playwright_api.expect
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with FakeYouTube() as yt, FakeTikTok() as tt, FakeInstagram() as ig:
        base = tiny_settings(
            tmp_path, secret_key=new_key(), youtube_base_url=yt.base_url, youtube_analytics_url=yt.base_url
        )
        settings = platform_settings(base, tt, ig)
        db = await open_database(settings)
        storage = open_storage(settings)
        try:
            await collected_channel(yt, settings, db, storage)  # "sky": three YouTube videos collected
            await store_account(settings, db, "sky", "tiktok", tiktok_token(tt))
            await store_account(settings, db, "sky", "instagram", instagram_token(ig))
            figures = [(12_480, 930, 41, 77), (3_050, 120, 8, 9), (880, 31, 2, 1)]
            tiktok_ids = []
            for n, (pid, idx) in enumerate((("pblue", 0), ("pblue", 1), ("pray", 0))):
                views, likes, comments, shares = figures[n]
                vid = tt.add_video(views=views, likes=likes, comments=comments, shares=shares)
                tiktok_ids.append(vid)
                await published_short(db, "sky", pid, "tiktok", idx, vid, f"https://www.tiktok.com/@d/video/{vid}")
            reels = [
                ig.add_reel(views=4_210, reach=3_900, saved=57, likes=260, comments=12, shares=30),
                ig.add_reel(views=1_005, reach=980, saved=6, likes=44, comments=3, shares=2),
            ]
            for idx, mid in enumerate(reels):
                await published_short(
                    db, "sky", "pblue", "instagram", idx, mid, f"https://www.instagram.com/reel/{mid}/"
                )

            activities = AnalyticsActivities(settings, storage, db)
            first = await activities.collect_channel_analytics(AnalyticsInput("sky"))
            assert first.status == "ok" and [(p.platform, p.status) for p in first.platforms] == [
                ("tiktok", "ok"),
                ("instagram", "ok"),
            ]
            ig.revoke()  # the Facebook login ends: Instagram answers 190 from now on
            second = await activities.collect_channel_analytics(AnalyticsInput("sky"))
            assert [(p.platform, p.status) for p in second.platforms] == [
                ("tiktok", "ok"),
                ("instagram", "reconnect_needed"),
            ]

            viewer = await create_key(db, "vic", "viewer")
            app = create_app(settings, temporal_client=temporal_env.client, db=db, storage=storage)
            async with serve(app) as url:
                async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": viewer}) as http:
                    answer = (await http.get("/api/channels/sky/analytics")).json()
                tiktok, instagram = answer["platforms"]
                assert tiktok["totals"] == {
                    "views": 16_410, "likes": 1_081, "comments": 51, "shares": 87, "reach": None, "saves": None
                }  # fmt: skip
                assert [x["post_id"] for x in tiktok["shorts"]] == tiktok_ids  # most viewed first
                assert instagram["account_status"] == "reconnect_needed"
                assert instagram["totals"]["reach"] == 4_880 and instagram["totals"]["saves"] == 63
                assert instagram["last_run"]["status"] == "reconnect_needed"
                assert len(answer["videos"]) == 3 and answer["runs"][0]["platform"] == "youtube"

                ctx, page, errors = await open_page(browser, url, viewport=LAPTOP)
                await sign_in(page, viewer, "/channels/sky/analytics")
                section = page.locator("#platform-tiktok")
                await expect(section.locator("h2")).to_contain_text("TikTok")
                await expect(section.locator("[data-metric=views] dd")).to_have_text("16,410")
                await expect(section.locator("[data-metric=reach] dd")).to_have_text("–")  # TikTok has no reach
                rows = section.locator("table.platform-shorts tbody tr")
                await expect(rows).to_have_count(3)
                await expect(rows.nth(0)).to_have_attribute("data-post", tiktok_ids[0])
                await expect(rows.nth(0).locator("td.views")).to_have_text("12,480")
                await expect(rows.nth(0).locator("td.saves")).to_have_text("–")
                await expect(rows.nth(0)).to_contain_text("Why the sky is blue · Short 1")
                gram = page.locator("#platform-instagram")
                await expect(gram.locator(".account-status")).to_have_text("reconnect needed")
                await expect(gram.locator(".last-run")).to_contain_text("reconnect_needed")
                await expect(gram.locator("[data-metric=saves] dd")).to_have_text("63")
                await expect(gram.locator("table.platform-shorts tbody tr")).to_have_count(2)
                await check_page(page, "analytics page with platforms")
                for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                    await page.set_viewport_size(size)
                    assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                    await section.scroll_into_view_if_needed()
                    await page.screenshot(path=str(shots / f"analytics-platforms-{label}.png"), full_page=True)
                assert errors == []
                await ctx.close()
        finally:
            await db.close()
