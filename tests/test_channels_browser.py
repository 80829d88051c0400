"""The channel page and the calendar in headless Debian Chromium: settings, topics, account state, week view."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.browser import playwright_api, sign_in
from tests.conftest import tiny_settings
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import open_database
from tubeflow.secret_box import SecretBox, new_key


async def test_channel_page_and_calendar(temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any) -> None:
    expect = playwright_api.expect
    settings = tiny_settings(tmp_path, secret_key=new_key())
    db = await open_database(settings)
    try:
        await repo.create_channel(db, "sky", "science")
        await repo.create_channel(db, "money", "science")
        sealed = SecretBox(settings.secret_key).seal('{"refresh_token": "never-shown"}')
        await channel_repo.save_account(db, "money", sealed, "proj", "UCmoney", "Money Matters")
        await channel_repo.mark_reconnect_needed(db, "money", "Google refused to refresh the token")
        admin = await create_key(db, "ada", "admin")
        app = create_app(settings, temporal_client=temporal_env.client, db=db)
        async with serve(app) as base:
            page = await (await browser.new_context(base_url=base)).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await sign_in(page, admin, "/channels")
            await page.click("a[href='/channels/sky']")
            await expect(page.locator("h1")).to_contain_text("sky")
            await expect(page.locator("#connect-youtube")).to_have_text("Connect YouTube")

            # Typed inputs (tests/test_settings_form_browser.py has the refusals marked at their fields).
            await page.select_option("#set-privacy", "public")
            await page.click("#set-publish_slots .add-slot")
            row = page.locator("#set-publish_slots .slot-row").last
            for day in ("Wed", "Fri"):
                await row.locator("label.day", has_text=day).click()
            await row.locator(".slot-time").fill("17:00")
            await page.click("#save-settings")
            await expect(page.locator("#toast")).to_contain_text("Settings saved")
            await page.wait_for_load_state("load")
            await expect(page.locator("#set-publish_slots .slot-row .day input:checked")).to_have_count(
                3, timeout=10_000
            )
            cs = await channel_repo.channel_settings(db, "sky")
            assert cs.privacy == "public" and cs.publish_slots == ["mon,wed,fri 17:00"]

            await page.fill("#topic-form input[name=topic]", "Why do stars twinkle?")
            await page.click("#topic-form button")
            await expect(page.locator("#topics")).to_contain_text("Why do stars twinkle?")

            # The other channel: its account, and that it needs reconnecting; never a credential.
            await page.goto("/channels/money")
            await expect(page.locator(".yt-title")).to_have_text("Money Matters")
            await expect(page.locator(".reconnect")).to_contain_text("Reconnect needed")
            assert "never-shown" not in await page.content()

            # The week view shows a scheduled video in its channel's row and day.
            entry = await channel_repo.reserve_slot(db, "sky", "p1", "long", 0, now=datetime.now(UTC), title="Rainbows")
            assert entry.publish_at is not None
            await page.goto(f"/calendar?start={entry.publish_at.date().isoformat()}")
            cell = page.locator("#calendar tbody tr", has_text="sky").locator(".slot")
            await expect(cell).to_contain_text("Rainbows")
            await expect(cell).to_contain_text(entry.publish_at.strftime("%H:%M"))
            assert errors == []
    finally:
        await db.close()
