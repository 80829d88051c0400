"""A script redo shows what changed and how each note was handled (issue 22), in headless Chromium
at a laptop's and a phone's size.

The reviewer rejects attempt 1 with a note the offline writer can follow ("make the hook shorter
and explain why sunsets are red"): attempt 2 shows the diff (the hook's words struck and added,
the sunset section added) and the note's asks as applied, with where.  Then attempt 2 is rejected
with one it cannot follow (an everyday comparison, typed with markup): attempt 3 says "not
applied" and names the setting that can, the markup shown as text.  Real app, dev server, workers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import cancel, start_production
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint
from tubeflow.db import repo

FOLLOWABLE = "Make the hook shorter and explain why sunsets are red"
UNFOLLOWABLE = "Use an everyday comparison, like a <b>prism</b>"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path), gpu=False) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


async def reject(page: Any, note: str, attempt: int) -> None:
    await page.click("#reject-open")
    await page.fill("#feedback", note)
    await page.click("#reject")
    await playwright_api.expect(page.locator("#review h2")).to_contain_text(f"attempt {attempt}", timeout=120_000)


@pytest.mark.parametrize(
    ("name", "viewport"), [("laptop", {"width": 1366, "height": 768}), ("phone", {"width": 390, "height": 844})]
)
async def test_a_redo_shows_its_diff_and_what_became_of_each_note(
    stack: Stack, browser: Any, name: str, viewport: dict[str, int]
) -> None:
    expect = playwright_api.expect
    editor = await create_key(stack.db, "ana", "editor")
    pid = await start_production(stack.client, stack.db, stack.settings, "skyline", "Why is the sky blue?")
    await wait_checkpoint(stack.client, pid, "script")
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, viewport=viewport, bypass_csp=True)
        await sign_in(page, editor, f"/productions/{pid}")
        await expect(page.locator("#script-diff")).to_have_count(0)  # attempt 1: nothing to compare
        hook_v1 = await page.locator("#script-form textarea[name=hook]").input_value()

        await reject(page, FOLLOWABLE, 2)
        diff = page.locator("#script-diff")
        await expect(diff).to_be_visible()
        await expect(diff.locator("summary")).to_contain_text("Changes since attempt 1")
        await expect(page.locator("#diff-summary")).to_contain_text("hook changed")
        await expect(page.locator("#diff-summary")).to_contain_text("1 section added")
        hook_part = diff.locator(".diff-part[data-part=hook]")
        await expect(hook_part.locator("del")).not_to_have_count(0)  # the words the shorter hook lost
        await expect(diff.locator(".diff-part[data-status=added]")).to_contain_text("sunrise and sunset")
        hook_v2 = await page.locator("#script-form textarea[name=hook]").input_value()
        assert len(hook_v2.split()) < len(hook_v1.split())

        notes = page.locator("#feedback-handling .note")
        await expect(notes).to_have_count(1)
        await expect(notes.first).to_have_attribute("data-applied", "yes")
        asks = notes.first.locator(".ask")
        await expect(asks).to_have_count(2)
        await expect(asks.nth(0)).to_have_attribute("data-status", "applied")
        await expect(asks.nth(0)).to_contain_text("Make the hook shorter")
        await expect(asks.nth(0).locator(".ask-where")).to_have_text("hook")
        await expect(asks.nth(1)).to_have_attribute("data-status", "applied")
        await expect(asks.nth(1).locator(".ask-where")).to_contain_text("section")
        await expect(asks.nth(1).locator(".ask-detail")).to_contain_text("sunrise and sunset")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.evaluate("document.getElementById('feedback-handling').scrollIntoView()")
        await page.screenshot(path=str(SHOTS / f"review-script-redo-{name}.png"))

        await reject(page, UNFOLLOWABLE, 3)
        await expect(notes).to_have_count(2)
        first, second = notes.nth(0), notes.nth(1)
        await expect(first).to_contain_text("on attempt 1")  # still checked against the attempt it was about
        await expect(first).to_have_attribute("data-applied", "yes")
        await expect(second).to_have_attribute("data-applied", "no")
        cannot = second.locator(".ask")
        await expect(cannot).to_have_attribute("data-status", "not_applied")
        await expect(cannot.locator(".ask-status")).to_have_text("not applied")
        await expect(cannot.locator(".ask-detail")).to_contain_text("the offline writer cannot do this")
        await expect(cannot.locator(".ask-detail")).to_contain_text("TUBEFLOW_SCRIPT_WRITER=groq")
        await expect(second).to_contain_text("<b>prism</b>")  # what was typed, as text
        await expect(second.locator("b")).to_have_count(0)
        await expect(page.locator("#diff-summary")).to_have_text("no change to the spoken text or the title")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.evaluate("document.getElementById('feedback-handling').scrollIntoView()")
        await page.screenshot(path=str(SHOTS / f"review-script-notes-{name}.png"))
        assert errors == [], errors
        await ctx.close()
    await cancel(stack.client, pid, "done testing")
