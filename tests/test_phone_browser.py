"""Every dashboard page at a phone's 390x844 and a laptop's 1366x768, in headless Debian Chromium.

Reviewers are told by Slack or e-mail that a checkpoint waits and open it on a phone: no page may
scroll sideways, the navigation stays on the dark header and reachable, and the review's buttons
stay inside the screen.  A real production waits at its script and audio checkpoints, so the
review pages are the real ones.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the test also
writes the screenshots the README's walkthrough links.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import cancel, review, start_production
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
NAV = ["Productions", "Review queue", "Channels", "Calendar", "Video jobs"]

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
# Where each nav link and the sign-out button sit, and the header's colour under them: a link that
# ran off the dark band would be light text on the light page.
NAV_GEOMETRY = """() => {
  const header = document.querySelector('header.top').getBoundingClientRect();
  return [...document.querySelectorAll('header.top nav a, header.top .who button')].map(a => {
    const r = a.getBoundingClientRect();
    return {text: a.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            inHeader: r.top >= header.top && r.bottom <= header.bottom && r.left >= 0 && r.right <= window.innerWidth};
  });
}"""
# What sticks out, named in the failure so it can be fixed without a screenshot.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""
# Buttons a reviewer needs (approve, reject, cancel, start...) must lie inside the screen's width.
BUTTONS_INSIDE = """() => [...document.querySelectorAll('main button, main .button')]
  .filter(b => b.offsetParent !== null)
  .map(b => b.getBoundingClientRect())
  .every(r => r.left >= 0 && r.right <= window.innerWidth + 0.5)"""


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path), gpu=False) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


async def expect_text(page: Any, selector: str, text: str) -> None:
    await playwright_api.expect(page.locator(selector).first).to_contain_text(text)


async def check_page(page: Any, path: str, shots: Path, name: str) -> None:
    for size, label in ((PHONE, "phone"), (LAPTOP, "laptop")):
        await page.set_viewport_size(size)
        await page.goto(path)
        await page.wait_for_load_state("load")
        await page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
        widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        wide = await page.evaluate(WIDEST)
        assert await page.evaluate(FITS), f"{path} at {label}: {widths[0]} px wide in a {widths[1]} px window: {wide}"
        links = await page.evaluate(NAV_GEOMETRY)
        assert [x["text"].split(" ")[0] for x in links][:5] == [n.split(" ")[0] for n in NAV], links
        for x in links:
            assert x["inHeader"], f"{path} at {label}: {x['text']!r} is outside the dark header: {x}"
        for n in NAV:
            await playwright_api.expect(page.locator("header.top nav a", has_text=n)).to_be_visible()
        assert await page.evaluate(BUTTONS_INSIDE), f"{path} at {label}: a button lies outside the screen"


async def test_every_page_fits_a_phone_and_a_laptop(stack: Stack, browser: Any, tmp_path: Path) -> None:
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    editor = await create_key(stack.db, "ana", "admin")
    pid = await start_production(stack.client, stack.db, stack.settings, "skyline", "Why is the sky blue?")
    await wait_checkpoint(stack.client, pid, "script")
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True)
        await sign_in(page, editor)
        await check_page(page, f"/productions/{pid}", shots, "review-script")
        for path, name in [
            ("/", "productions"),
            ("/review", "review-queue"),
            ("/channels", "channels"),
            ("/channels/skyline", "channel"),
            ("/channels/skyline/analytics", "analytics"),
            ("/calendar", "calendar"),
            ("/video-jobs", "video-jobs"),
        ]:
            await check_page(page, path, shots, name)

        await review(stack.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana"))
        await wait_checkpoint(stack.client, pid, "audio")
        await check_page(page, f"/productions/{pid}", shots, "review-audio")
        # The figures read as words and units; the stage bar names its stages (the current one too).
        outputs = await page.locator("#outputs").inner_text()
        assert "Narration" in outputs and " s" in outputs and "{" not in outputs and "narration_s" not in outputs
        label = "getComputedStyle(document.querySelector('.stagebar.labelled .seg.cur'), '::after')"
        assert await page.evaluate(f"{label}.content") == '"✓ audio"'
        assert await page.evaluate(f"{label}.display") != "none"
        await expect_text(page, "[data-step-label]", "step 5 of 13")

        # The transcript beside the player: choosing a word moves the audio to it.
        await page.wait_for_function("document.querySelector('#narration').readyState >= 1", timeout=60_000)
        words = page.locator("#transcript .word")
        assert await words.count() > 20
        word = words.nth(20)
        start = float(await word.get_attribute("data-start") or "nan")
        assert start > 1.0
        await word.click()
        now = await page.evaluate("document.querySelector('#narration').currentTime")
        assert abs(now - start) < 0.3, (now, start)
        await page.locator("#transcript .tplay").nth(1).click()  # a section's ▶ plays from its start
        part = float(await page.locator("#transcript .tplay").nth(1).get_attribute("data-start") or "nan")
        assert abs(await page.evaluate("document.querySelector('#narration').currentTime") - part) < 0.5
        assert errors == [], errors
        await ctx.close()
    await cancel(stack.client, pid, "done testing")
