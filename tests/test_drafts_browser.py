"""Nothing a reviewer types is lost (issue 22, item 3), in headless Debian Chromium.

A reviewer rewrites the hook at the script checkpoint.  Reloading asks before leaving and brings
the text back from the browser's draft; the checkpoint then being approved elsewhere (through the
API, as another tab or the CLI would) does not reload the page: a banner says what happened and
the text stays in the field.  At the audio checkpoint the pronunciation field is reachable
without rejecting: approving sends it to the channel's lexicon.
"""

from __future__ import annotations

import asyncio
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
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint, wait_until
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.keys import channel_lexicon

HOOK = "Look up: the blue you see is sunlight bounced off air itself, typed on a phone."


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path), gpu=False) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


async def test_a_draft_survives_a_reload_and_a_decision_in_another_tab(stack: Stack, browser: Any) -> None:
    expect = playwright_api.expect
    editor = await create_key(stack.db, "ana", "editor")
    pid = await start_production(stack.client, stack.db, stack.settings, "skyline", "Why is the sky blue?")
    await wait_checkpoint(stack.client, pid, "script")
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True)
        await sign_in(page, editor, f"/productions/{pid}")
        await expect(page.locator("#live")).to_have_class("live on", timeout=10_000)
        hook = page.locator("#script-form textarea[name=hook]")
        original = await hook.input_value()
        await hook.fill(HOOK)

        # Leaving with unsaved text asks first; after the reload the draft is back.
        dialogs: list[str] = []

        async def accept(d: Any) -> None:
            dialogs.append(d.type)
            await d.accept()

        page.on("dialog", accept)
        await page.reload()
        assert dialogs == ["beforeunload"]
        await expect(hook).to_have_value(HOOK)
        await expect(page.locator("#draft-note")).to_contain_text("Restored 1 unsaved field")
        await expect(page.locator("#live")).to_have_class("live on", timeout=10_000)

        # Approved elsewhere: no reload, a banner, the text kept.
        await page.evaluate("window.__sameDocument = true")
        await review(stack.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "bo"))
        banner = page.locator("#stale")
        await expect(banner).to_be_visible(timeout=60_000)
        await expect(banner).to_contain_text("script checkpoint was approved by bo in another tab")
        await expect(banner).to_contain_text("reload to see it")
        await expect(hook).to_have_value(HOOK)
        await expect(page.locator("#approve")).to_be_disabled()
        await wait_checkpoint(stack.client, pid, "audio")  # the production moved on meanwhile
        assert await page.evaluate("window.__sameDocument === true")
        await expect(hook).to_have_value(HOOK)

        # The reviewer reloads on purpose: the audio checkpoint shows; the script draft stays stored.
        await page.click("#stale-reload")
        await expect(page.locator("#narration")).to_be_visible(timeout=30_000)
        assert dialogs == ["beforeunload"]  # the banner's Reload is a knowing choice: not asked again
        kept = await page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tubeflow.draft:'))")
        assert any(f":{pid}:script#1:" in k for k in kept), kept
        assert original != HOOK

        # At the audio checkpoint the pronunciations go with Approve too, no rejection needed.
        await page.fill("#pronounce", "Rayleigh=RAY-lee")
        await page.click("#approve")
        await wait_until(
            lambda: asyncio.to_thread(stack.storage.exists, channel_lexicon("skyline")), 60, "the lexicon written"
        )
        assert "RAY-lee" in stack.storage.get_text(channel_lexicon("skyline"))
        reviews = await repo.list_reviews(stack.db, pid)
        assert [(r.stage, r.approved) for r in reviews] == [("script", True), ("audio", True)]
        assert errors == [], errors
        await ctx.close()
    await cancel(stack.client, pid, "done testing")
