"""The channel analytics page in headless Debian Chromium: views and watch time over time, the videos'
table with CTR and average view percentage, and the retention curve of a chosen video drawn as inline
SVG by our own /static/charts.js with the script's section boundaries marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.analytics_helpers import TODAY, collected_channel
from tests.browser import playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.fake_youtube import FakeYouTube
from tubeflow.db.engine import open_database
from tubeflow.secret_box import new_key
from tubeflow.storage import open_storage


async def test_analytics_page_draws_the_charts(temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any) -> None:
    expect = playwright_api.expect
    with FakeYouTube() as fake:
        settings = tiny_settings(
            tmp_path, secret_key=new_key(), youtube_base_url=fake.base_url, youtube_analytics_url=fake.base_url
        )
        db = await open_database(settings)
        try:
            vids = await collected_channel(fake, settings, db, open_storage(settings))
            viewer = await create_key(db, "vic", "viewer")
            app = create_app(settings, temporal_client=temporal_env.client, db=db)
            async with serve(app) as base:
                page = await (await browser.new_context(base_url=base)).new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on(  # the browser's own favicon request is not ours
                    "console",
                    lambda m: (
                        errors.append(f"{m.text} {m.location}")
                        if m.type == "error" and "favicon" not in str(m.location)
                        else None
                    ),
                )
                await sign_in(page, viewer, "/channels/sky")
                await page.click("#analytics-link")
                await expect(page.locator("h1")).to_contain_text("analytics")
                await expect(page.locator("#last-run")).to_contain_text("ok")

                # Views and watch time over 29 days (28 back and today), one point per day.
                views = page.locator("#daily-chart svg polyline.series-views")
                await expect(views).to_have_attribute("data-count", "29")
                await expect(page.locator("#daily-chart svg polyline.series-watch")).to_have_count(1)
                await expect(page.locator("#daily-chart svg")).to_contain_text(TODAY.isoformat())
                assert len((await views.get_attribute("points") or "").split()) == 29

                # The videos with CTR and average view percentage, most viewed first.
                rows = page.locator("#videos-table tbody tr")
                await expect(rows).to_have_count(3)
                await expect(rows.nth(0)).to_have_attribute("data-video", vids["blue"])
                await expect(rows.nth(0).locator(".ctr")).to_have_text("6.0%")
                await expect(rows.nth(0).locator(".pct")).to_have_text("58.0%")
                await expect(rows.nth(0)).to_contain_text("$0.4200")

                # Choose the video that loses viewers: its curve, the sections marked, the drop shaded.
                await page.click(f"#videos-table a[href='?video={vids['stocks']}']")
                await expect(page.locator("#retention-title")).to_have_text("Stock market basics")
                await expect(page.locator("#retention-line")).to_have_attribute("data-count", "100")
                marks = page.locator("#retention-chart line.section-mark")
                await expect(marks).to_have_count(4)
                names = [await marks.nth(i).get_attribute("data-section") for i in range(4)]
                assert names == ["hook", "Sunlight", "Scattering", "Sunsets"]
                # "Scattering" starts at 40 s of 100 s: 40 % across the plot (48 px margin + 0.4 * 624 px).
                assert abs(float(await marks.nth(2).get_attribute("x1") or 0) - (48 + 0.4 * 624)) < 0.5
                sharp = page.locator("#retention-chart rect.sharp-drop")
                await expect(sharp).to_have_count(1)
                await expect(sharp).to_have_attribute("data-section", "Scattering")
                await expect(page.locator("#sections-table tr.bad")).to_contain_text("sharp drop")
                box = await page.locator("#retention-chart svg").bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 80  # really drawn
                assert errors == []
                await _json_api_matches_and_an_admin_disconnects(
                    browser, base, viewer, await create_key(db, "ada", "admin"), vids
                )
        finally:
            await db.close()


async def _json_api_matches_and_an_admin_disconnects(
    browser: Any, base: str, viewer: str, admin: str, vids: dict[str, str]
) -> None:
    """The same numbers as JSON for a script; then the channel page's Disconnect, which only an admin has."""
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": viewer}) as http:
        report = (await http.get("/api/channels/sky/analytics")).json()
        assert [v["video_id"] for v in report["videos"]][0] == vids["blue"] and len(report["videos"]) == 3
        one = (await http.get(f"/api/channels/sky/analytics/{vids['stocks']}")).json()
        assert [x["name"] for x in one["sections"]] == ["hook", "Sunlight", "Scattering", "Sunsets"]
        assert (await http.get("/api/channels/sky/analytics/nope")).status_code == 404
        assert (await http.get("/api/channels/nobody/analytics")).status_code == 404
        assert (await http.delete("/api/channels/sky/account")).status_code == 403, "a viewer can't disconnect"
        assert (await http.get("/api/channels/sky")).json()["youtube"] is not None

    expect = playwright_api.expect
    page = await (await browser.new_context(base_url=base)).new_page()
    await sign_in(page, admin, "/channels/sky")
    await expect(page.locator("#youtube-account .yt-title")).to_be_visible()
    page.once("dialog", lambda d: d.dismiss())  # changing one's mind keeps the account
    await page.click("#disconnect-youtube")
    await expect(page.locator("#disconnect-youtube")).to_be_enabled()
    await expect(page.locator("#youtube-account .yt-title")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    await page.click("#disconnect-youtube")
    await expect(page.locator("#youtube-account")).to_contain_text("Not connected")
    await expect(page.locator("#disconnect-youtube")).to_have_count(0)
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": admin}) as http:
        assert (await http.get("/api/channels/sky")).json()["youtube"] is None
        assert (await http.delete("/api/channels/sky/account")).status_code == 200, "already gone: nothing to do"
        assert (await http.delete("/api/channels/nobody/account")).status_code == 404
