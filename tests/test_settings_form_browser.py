"""The channel settings form in headless Debian Chromium at 1366x768 and 390x844: typed inputs, a
refusal marked at its field, a valid change saved.

Before, the form was 18 free-text boxes labelled ``made_for_kids`` (a boolean typed as "False"),
showing ``None`` and ``[]``, and a refused value was only a corner toast.  Here an admin edits
through a select, a checkbox, number inputs with limits, the slot picker and the tag box; a typo
(a time zone) and an out-of-range number come back from the API's 422 marked at their fields
(``aria-invalid`` and the message under the field) and nothing is saved; then a valid change is.
With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` it writes the README's screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import open_database

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
async def test_settings_are_edited_through_typed_inputs_and_refusals_are_marked_at_the_field(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any, width: int, height: int
) -> None:
    expect = playwright_api.expect
    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path)
    size = "phone" if width < 700 else "laptop"
    try:
        await repo.create_channel(db, "sky", "science")
        admin = await create_key(db, "ada", "admin")
        app = create_app(settings, temporal_client=temporal_env.client, db=db)
        async with serve(app) as base:
            _ctx, page, errors = await open_page(browser, base, viewport={"width": width, "height": height})
            await sign_in(page, admin, "/channels/sky")
            form = page.locator("#settings-form")

            # Labels in words, an input that fits each kind, defaults in words (never None or []).
            await expect(page.locator("label[for=set-privacy]")).to_have_text("Privacy once published")
            await expect(page.locator("select#set-privacy")).to_have_value("private")
            await expect(page.locator("select#set-category option:checked")).to_contain_text("Education")
            assert await page.locator("#set-made_for_kids").get_attribute("type") == "checkbox"
            priority = page.locator("#set-priority")
            assert [await priority.get_attribute(a) for a in ("type", "min", "max")] == ["number", "1", "5"]
            await expect(page.locator("#help-language")).to_contain_text("Default: the niche's (en)")
            await expect(page.locator("#set-publish_slots .slots-empty")).to_contain_text("publish at once")
            await expect(page.locator("#help-review_reminder_hours")).to_contain_text(
                "Default: 24 hours (TUBEFLOW_REVIEW_REMINDER_HOURS)"
            )
            text = await form.inner_text()
            assert "None" not in text and "[]" not in text and "made_for_kids" not in text, text
            assert await page.evaluate(FITS), f"the settings page scrolls sideways at {width}px"

            # A typo and an out-of-range number: refused at their fields; nothing saved.
            await page.fill("#set-timezone", "Europe/Lisbn")
            await priority.fill("9")
            await page.select_option("#set-privacy", "public")
            await page.click("#save-settings")
            await expect(page.locator("#set-timezone")).to_have_attribute("aria-invalid", "true")
            await expect(page.locator("#err-timezone")).to_be_visible()
            await expect(page.locator("#err-timezone")).to_contain_text("'Europe/Lisbn' is not allowed")
            await expect(page.locator("#err-timezone")).to_contain_text("IANA time zone")
            await expect(priority).to_have_attribute("aria-invalid", "true")
            await expect(page.locator("#err-priority")).to_contain_text("1 (highest) .. 5")
            await expect(page.locator("#set-privacy")).not_to_have_attribute("aria-invalid", "true")
            await expect(page.locator("#err-privacy")).to_be_hidden()
            await expect(page.locator("#toast")).to_contain_text("2 settings need fixing")
            described = await page.locator("#set-timezone").get_attribute("aria-describedby") or ""
            assert "err-timezone" in described.split()
            assert await page.evaluate("document.activeElement.id") == "set-timezone"  # the first refusal
            await page.locator("#set-timezone").screenshot(path=str(shots / f"settings-refused-{size}-field.png"))
            await page.locator("#settings").screenshot(path=str(shots / f"settings-refused-{size}.png"))
            cs = await channel_repo.channel_settings(db, "sky")
            assert (cs.timezone, cs.priority, cs.privacy) == ("UTC", 3, "private")  # nothing half-applied

            # A slot without a day is refused in the page, before anything is sent.
            await page.click("#set-publish_slots .add-slot")
            row = page.locator("#set-publish_slots .slot-row").last
            await row.locator("label.day", has_text="Mon").click()  # the new row starts on Monday: off
            await page.fill("#set-timezone", "Europe/Lisbon")
            await priority.fill("2")
            await page.click("#save-settings")
            await expect(page.locator("#set-publish_slots")).to_have_attribute("aria-invalid", "true")
            await expect(page.locator("#err-publish_slots")).to_contain_text("at least one day")
            await expect(page.locator("#set-timezone")).not_to_have_attribute("aria-invalid", "true")

            # Valid values through each typed input: saved, and shown typed after the reload.
            await row.locator("label.day", has_text="Wed").click()
            await row.locator("label.day", has_text="Fri").click()
            await row.locator(".slot-time").fill("18:30")
            await page.locator("#set-made_for_kids").check()
            await page.fill("#set-default_tags", "space")
            await page.press("#set-default_tags", "Enter")
            await page.fill("#set-default_tags", "sky")  # typed, not yet a chip: still taken
            await page.locator("#set-required_checkpoints .use-default").uncheck()
            await page.locator("#set-required_checkpoints .options label", has_text="B-roll").click()
            await page.locator("#set-required_checkpoints .options label", has_text="Final cut").click()
            await page.fill("#set-review_reminder_hours", "6")
            await page.click("#save-settings")
            await expect(page.locator("#toast")).to_contain_text("Settings saved")
            await page.wait_for_load_state("load")
            await expect(page.locator("#set-priority")).to_have_value("2", timeout=10_000)
            cs = await channel_repo.channel_settings(db, "sky")
            assert (cs.timezone, cs.priority, cs.privacy, cs.made_for_kids) == ("Europe/Lisbon", 2, "public", True)
            assert cs.publish_slots == ["wed,fri 18:30"] and cs.default_tags == ["space", "sky"]
            assert cs.required_checkpoints == ["broll", "final"] and cs.review_reminder_hours == 6.0
            assert cs.synthetic_disclosure is True and cs.lead_time_hours == 72.0  # untouched fields stay

            await expect(page.locator("#set-publish_slots .slot-row .day input:checked")).to_have_count(2)
            await expect(page.locator("#set-publish_slots .slot-time")).to_have_value("18:30")
            await expect(page.locator("#set-default_tags").locator("xpath=..").locator(".chip")).to_have_count(2)
            await expect(page.locator("select#set-privacy")).to_have_value("public")
            await expect(page.locator("#set-made_for_kids")).to_be_checked()
            assert await page.evaluate(FITS), f"the saved settings scroll sideways at {width}px"
            await page.locator("#settings").screenshot(path=str(shots / f"settings-saved-{size}.png"))

            # Back to the default: the field is emptied and the default is said again in words.
            await page.fill("#set-review_reminder_hours", "")
            await page.click("#save-settings")
            await expect(page.locator("#toast")).to_contain_text("Settings saved")
            await page.wait_for_load_state("load")
            await expect(page.locator("#set-review_reminder_hours")).to_have_value("", timeout=10_000)
            assert (await channel_repo.channel_settings(db, "sky")).review_reminder_hours is None
            assert errors == []
    finally:
        await db.close()


async def test_a_viewer_sees_the_settings_in_words(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any
) -> None:
    expect = playwright_api.expect
    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    try:
        await repo.create_channel(db, "sky", "science")
        await channel_repo.update_settings(db, "sky", {"default_tags": "space, sky", "made_for_kids": "true"})
        viewer = await create_key(db, "vic", "viewer")
        app = create_app(settings, temporal_client=temporal_env.client, db=db)
        async with serve(app) as base:
            _ctx, page, errors = await open_page(browser, base, viewport={"width": 390, "height": 844})
            await sign_in(page, viewer, "/channels/sky")
            await expect(page.locator("#set-default_tags")).to_have_text("space, sky")
            await expect(page.locator("#set-made_for_kids")).to_have_text("yes")
            await expect(page.locator("#set-publish_slots")).to_have_text("default: publish at once")
            await expect(page.locator("#set-required_checkpoints")).to_contain_text("the niche's review policy")
            assert await page.locator("#settings-form input, #settings-form select, #save-settings").count() == 0
            text = await page.locator("#settings-form").inner_text()
            assert "None" not in text and "[]" not in text
            assert errors == []
    finally:
        await db.close()
