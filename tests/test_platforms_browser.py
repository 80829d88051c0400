"""TikTok and Instagram at the final checkpoint and after, in headless Chromium at 1366 and 390 px.

A real production with Shorts waits at the final checkpoint on a channel connected to the fake
TikTok and the fake Instagram.  The reviewer sees each platform's caption, edits TikTok's, unticks
Instagram and publishes: TikTok gets the Shorts with the edited caption, Instagram nothing (its
entries say why), and the production page lists every post.  The channel page shows both accounts
with their Connect buttons.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the screenshots are kept.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.platform_connect import connect_loopback
from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.a11y import check_page
from tests.browser import FITS, LAPTOP, PHONE, WIDE, open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.fake_instagram import FakeInstagram
from tests.fake_tiktok import FakeTikTok
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import PRODUCTION_WORKFLOW, ProductionInput, production_workflow_id
from tubeflow.db import platform_repo, repo
from tubeflow.secret_box import new_key

CAPTION = "Why the sky is blue, in 30 seconds #sky #science"


def consent(url: str) -> None:
    assert httpx.get(url, follow_redirects=True, timeout=30).status_code == 200


async def test_the_reviewer_edits_a_platform_caption_and_unticks_another(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any
) -> None:
    expect = playwright_api.expect
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with FakeTikTok() as tt, FakeInstagram() as ig:
        settings = tiny_settings(
            tmp_path, secret_key=new_key(), tiktok_client_key=tt.client_key, tiktok_client_secret=tt.client_secret,
            tiktok_base_url=tt.base_url, tiktok_auth_url=tt.auth_url, facebook_app_id=ig.app_id,
            facebook_app_secret=ig.app_secret, instagram_graph_url=ig.graph_url, instagram_upload_url=ig.upload_url,
            facebook_auth_url=ig.auth_url,
        )  # fmt: skip
        client = temporal_env.client
        async with running_stack(client, settings) as stack:
            await repo.create_channel(stack.db, "skyline", "science")
            for platform in ("tiktok", "instagram"):
                await connect_loopback(settings, stack.db, "skyline", platform, open_browser=False, on_url=consent)
            editor = await create_key(stack.db, "bo", "editor")
            admin = await create_key(stack.db, "ada", "admin")
            pid = f"pl{uuid.uuid4().hex[:10]}"
            inp = ProductionInput(
                production_id=pid, channel="skyline", niche="science", topic="Why is the sky blue?",
                make_shorts=True, main_queue=settings.main_queue, gpu_queue=settings.gpu_queue,
                auto_approve=["script", "audio", "broll"],
            )  # fmt: skip
            await client.start_workflow(
                PRODUCTION_WORKFLOW, inp, id=production_workflow_id(pid), task_queue=settings.main_queue
            )
            await wait_checkpoint(client, pid, "final", timeout_s=300)
            app = create_app(settings, temporal_client=client, db=stack.db, storage=stack.storage, events_poll_s=0.2)
            async with serve(app) as base:
                ctx, page, errors = await open_page(browser, base, viewport=LAPTOP)
                await sign_in(page, editor, f"/productions/{pid}")
                form = page.locator("#platforms-form")
                await expect(form).to_be_visible()
                tiktok, insta = form.locator("[data-platform=tiktok]"), form.locator("[data-platform=instagram]")
                await expect(tiktok).to_contain_text("TikTok account @tubeflow_demo")
                await expect(insta).to_contain_text("Instagram account tubeflow_demo")
                derived = await page.locator("#caption-tiktok").input_value()
                assert "#" in derived and len(derived) <= 2200  # the script's title and hashtags
                await expect(page.locator("#publish-plan")).to_contain_text("also go to TikTok and Instagram")
                await check_page(page, "final checkpoint with platforms")
                await page.locator("#caption-tiktok").fill(CAPTION)
                await page.locator("#cover-tiktok").fill("2.5")  # the cover frame, seconds into each Short
                await insta.locator("input[type=checkbox]").uncheck()
                for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                    await page.set_viewport_size(size)
                    assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                    await form.scroll_into_view_if_needed()
                    await page.screenshot(path=str(shots / f"review-final-platforms-{label}.png"), full_page=True)
                await page.set_viewport_size(LAPTOP)
                await page.click("#approve")
                await expect(page.locator("#confirm-dialog")).to_be_visible()
                await page.click("#confirm-yes")
                await expect(page.locator("[data-state-label]").first).to_have_text("completed", timeout=240_000)

                # The production page lists every post: TikTok's published, Instagram's skipped.
                await page.reload()
                table = page.locator("#platform-posts")
                await expect(table).to_contain_text("published")
                await expect(table).to_contain_text("unticked at the final checkpoint")
                await check_page(page, "production page with platform posts")
                for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                    await page.set_viewport_size(size)
                    assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                    await table.scroll_into_view_if_needed()
                    await table.screenshot(path=str(shots / f"production-platform-posts-{label}.png"))

                # The channel page: both accounts, with Connect (reconnect) buttons for an admin.
                await sign_in(page, admin, "/channels/skyline")
                accounts = page.locator("#platform-accounts")
                await expect(accounts).to_contain_text("@tubeflow_demo")
                await expect(page.locator("#connect-tiktok")).to_have_text("Reconnect TikTok")
                await expect(page.locator("#connect-instagram")).to_have_attribute(
                    "href", "/channels/skyline/connect/instagram"
                )
                await check_page(page, "channel page")
                for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                    await page.set_viewport_size(size)
                    assert await page.evaluate(FITS), (label, await page.evaluate(WIDE))
                    await accounts.screenshot(path=str(shots / f"channel-platforms-{label}.png"))
                assert errors == [], errors
                await ctx.close()

            done = await wait_for(client, pid, lambda s: s.state == "completed", 60, "completion")
            assert done.outputs.shorts and len(done.outputs.shorts) == 2
            assert [p.post_info["title"] for p in tt.posts()] == [CAPTION, CAPTION]
            assert [p.post_info["video_cover_timestamp_ms"] for p in tt.posts()] == [2500, 2500]
            assert ig.posts() == []
            rows = await platform_repo.list_posts(stack.db, "skyline")
            assert sorted((r.platform, r.idx, r.status) for r in rows) == [
                ("instagram", 0, "skipped"), ("instagram", 1, "skipped"),
                ("tiktok", 0, "published"), ("tiktok", 1, "published"),
            ]  # fmt: skip
