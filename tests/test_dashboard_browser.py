"""The dashboard in headless Debian Chromium (driven by Playwright, never a downloaded browser).

A reviewer signs in with a key, starts a production from the dashboard, edits and approves the
script, listens to and rejects the narration with feedback, and watches another tab's stage bar
move live (no reload) as the workflow redoes the narration; on a later visit the dashboard says
what finished while they were away.  Real app on a real port, real dev server, real workers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import cancel, get_status, review, start_production
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo

TOPIC = "Why is the sky blue?"
EDITED_TITLE = "Edited in the browser: why the sky is blue"


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path), gpu=False) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


# Contexts bypass the app's Content-Security-Policy (script-src 'self') only so that Playwright's
# page.wait_for_function/evaluate may run test code in the page; the app's own scripts obey it.


async def wait_db(stack: Stack, pid: str, pred: object, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 10)):
        row = await repo.get_production(stack.db, pid)
        if pred(row):  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"database never showed the expected state; last {row.stage}/{row.state}")


async def test_reviewer_signs_in_edits_approves_rejects_and_sees_live_updates(stack: Stack, browser: object) -> None:
    editor = await create_key(stack.db, "ana", "editor")
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True)
        # The pages run under a strict CSP: anything it blocks (inline script, a stray origin) shows here.
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        # Sign in.
        landing = await page.goto("/")
        assert page.url.endswith("/login?next=%2F")
        assert landing is not None
        headers = await landing.all_headers()
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        await page.fill("#key", "not-a-key")
        await page.click("button[type=submit]")
        await playwright_api.expect(page.locator(".error")).to_contain_text("not valid")
        await page.fill("#key", editor)
        await page.click("button[type=submit]")
        await playwright_api.expect(page.locator(".who")).to_contain_text("ana · editor")
        await playwright_api.expect(page.locator("#live")).to_have_class("live on", timeout=10_000)

        # Start a production from the dashboard.
        await page.fill("#start-form input[name=topic]", TOPIC)
        await page.click("#start-form button")
        await page.wait_for_url("**/productions/*")
        pid = page.url.rsplit("/", 1)[1]
        temporal_link = page.locator("a", has_text="Workflow in Temporal")
        assert await temporal_link.get_attribute("href") == (
            f"http://localhost:{stack.settings.temporal_ui_port}/namespaces/default/workflows/production-{pid}"
        )

        # The page re-renders itself when the script checkpoint opens (SSE), showing script + sources.
        await playwright_api.expect(page.locator("#script-form")).to_be_visible(timeout=180_000)
        assert await page.locator("ol.sources li").count() >= 1
        await page.fill("#script-form input[name=title]", EDITED_TITLE)
        await page.click("#approve")

        # Next: the narration, playable (the browser fetches the WAV with its cookie).
        await playwright_api.expect(page.locator("#narration")).to_be_visible(timeout=180_000)
        await playwright_api.expect(page.locator("h1")).to_have_text(EDITED_TITLE)
        await page.wait_for_function(
            "document.querySelector('#narration').readyState >= 1 && document.querySelector('#narration').duration > 0",
            timeout=60_000,
        )

        # A second tab on the list page records its stage bar's changes; it must not reload.
        watcher = await ctx.new_page()
        await watcher.goto("/")
        row_bar = watcher.locator(f'tr[data-production="{pid}"] [data-stagebar]')
        await playwright_api.expect(row_bar).to_have_attribute("data-stage", "review_audio")
        await playwright_api.expect(watcher.locator("#live")).to_have_class("live on", timeout=10_000)
        await watcher.evaluate(
            """(pid) => {
                window.__sameDocument = true;
                window.__seen = [];
                const bar = document.querySelector(`tr[data-production="${pid}"] [data-stagebar]`);
                new MutationObserver(() => window.__seen.push(bar.dataset.stage + '/' + bar.dataset.state))
                    .observe(bar, {attributes: true, attributeFilter: ['data-stage', 'data-state']});
            }""",
            pid,
        )

        # Reject the narration with feedback.
        await page.click("#reject-open")
        await page.fill("#feedback", "Slower and warmer, please")
        await page.click("#reject")
        await playwright_api.expect(page.locator("#review h2")).to_contain_text("attempt 2", timeout=180_000)
        await playwright_api.expect(page.locator("table.list")).to_contain_text("Slower and warmer, please")

        # The other tab saw the redo live: tts running, then back to the audio checkpoint.
        await watcher.wait_for_function(
            "window.__seen.some(s => s.startsWith('review_audio/waiting'))", timeout=180_000
        )
        seen = await watcher.evaluate("window.__seen")
        assert any(s.startswith("tts/") for s in seen), seen
        assert await watcher.evaluate("window.__sameDocument === true")  # updated in place, not reloaded
        await playwright_api.expect(row_bar.locator(".seg.done")).to_have_count(4)  # research .. tts
        await playwright_api.expect(row_bar.locator(".seg.cur.waiting")).to_have_attribute("data-seg", "review_audio")
        await watcher.close()

        reviews = await repo.list_reviews(stack.db, pid)
        assert [(r.stage, r.approved, r.reviewer, r.feedback) for r in reviews] == [
            ("script", True, "ana", ""),
            ("audio", False, "ana", "Slower and warmer, please"),
        ]
        assert (await get_status(stack.client, pid)).title == EDITED_TITLE

        # Away: the production ends while no dashboard is open; the next visit says so.
        await page.goto("about:blank")
        await cancel(stack.client, pid, "dropped while Ana was away")
        await wait_db(stack, pid, lambda r: r.state == "cancelled")
        await page.goto(base + "/")
        away = page.locator("#away")
        await playwright_api.expect(away).to_be_visible(timeout=10_000)
        await playwright_api.expect(away).to_contain_text(EDITED_TITLE)
        await playwright_api.expect(away).to_contain_text("cancelled")
        # Seen once: the next visit has nothing new to report.
        await page.reload()
        await playwright_api.expect(page.locator("#live")).to_have_class("live on", timeout=10_000)
        assert await away.is_hidden()
        assert errors == [] and blocked == [], (errors, blocked)
        await ctx.close()


@pytest.fixture
async def gpu_stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path)) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


@pytest.mark.slow
async def test_reviewer_swaps_broll_and_picks_a_thumbnail(gpu_stack: Stack, browser: object) -> None:

    stack = gpu_stack
    editor = await create_key(stack.db, "bo", "editor")
    pid = await start_production(stack.client, stack.db, stack.settings, "skyline", TOPIC, make_shorts=False)
    for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO):
        await wait_checkpoint(stack.client, pid, cp)
        await review(stack.client, pid, ReviewDecision(cp, True, "setup"))
    app = create_app(
        stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage, events_poll_s=0.2
    )
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True)
        await sign_in(page, editor, f"/productions/{pid}")

        # B-roll: each part shows its pick and the candidates; choose another for one part.
        await playwright_api.expect(page.locator("#broll-form")).to_be_visible(timeout=180_000)
        # The preview of the whole cut plays before the render.
        await playwright_api.expect(page.locator("#preview-video")).to_be_visible()
        await page.wait_for_function(
            "(v => v.readyState >= 1 && v.duration > 0)(document.querySelector('#preview-video'))",
            timeout=60_000,
        )
        part = page.locator("#broll-form fieldset.bpart").filter(has=page.locator(".bcands > .btile")).first
        index = await part.get_attribute("data-part")
        shown = await part.inner_text()
        assert "score " in shown and "query “" in shown  # why each picture is offered
        # Swap the part's first picture for an alternative; the approval carries the new layout.
        await part.locator(".bitems > .btile").first.locator("[data-act=swap]").click()
        candidate = part.locator(".bcands > .btile").first
        candidate_key = await candidate.get_attribute("data-key")
        await candidate.locator("[data-act=use]").click()
        await playwright_api.expect(part.locator(".bitems > .btile").first).to_have_attribute(
            "data-key", candidate_key or ""
        )
        await page.click("#approve")

        # Final: the video plays, a thumbnail is picked.
        await playwright_api.expect(page.locator("#final-video")).to_be_visible(timeout=300_000)
        await page.wait_for_function(
            "(v => v.readyState >= 1 && v.duration > 0)(document.querySelector('#final-video'))",
            timeout=60_000,
        )
        thumbs = page.locator("#thumb-form input[name=thumbnail]")
        assert await thumbs.count() >= 2
        await thumbs.nth(1).check()
        # Approving the final checkpoint publishes: the page asks first (a modal dialog), naming where.
        await page.click("#approve")
        dialog = page.locator("#confirm-dialog")
        await playwright_api.expect(dialog).to_be_visible()
        await playwright_api.expect(dialog).to_contain_text("outbox")
        await playwright_api.expect(dialog).to_contain_text("Long-form video")
        await page.click("#confirm-yes")
        await playwright_api.expect(page.locator("[data-state-label]").first).to_have_text("completed", timeout=120_000)
        assert errors == []
        # Finished: the page plays the published video and says where it went.
        await page.reload()
        await playwright_api.expect(page.locator("#done-video")).to_be_visible(timeout=30_000)
        await playwright_api.expect(page.locator("#finished")).to_contain_text("Published")
        await playwright_api.expect(page.locator("#finished")).to_contain_text("Long-form video")
        await ctx.close()

    done = await wait_for(stack.client, pid, lambda s: s.state == "completed", 60, "completion")
    assert done.outputs.thumbnail == (done.artifacts.thumbnails or [])[1]
    plan = json.loads(stack.storage.get_text(done.artifacts.plan or ""))
    swapped = next(p for p in plan["parts"] if str(p["index"]) == index)
    assert swapped["items"][0]["key"] == candidate_key
    assert [(r.stage, r.reviewer) for r in await repo.list_reviews(stack.db, pid)][-2:] == [
        ("broll", "bo"),
        ("final", "bo"),
    ]


async def test_a_production_that_needs_attention_is_retried_from_the_dashboard(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: object
) -> None:
    from tests.test_recovery import niche_with_music

    settings, music = niche_with_music(tmp_path, required="[script, audio, broll, final]")
    client = temporal_env.client
    async with running_stack(client, settings, main=False, gpu=False) as stack:
        await repo.create_channel(stack.db, "mend", "science")
        pid = await start_production(client, stack.db, settings, "mend", TOPIC, make_shorts=False)
    kept = music.rename(tmp_path / "bed.wav")  # the first stage fails for good: the niche's music is gone
    async with running_stack(client, settings, gpu=False) as stack:
        editor = await create_key(stack.db, "olga", "editor")
        await wait_for(client, pid, lambda s: s.state == "needs_attention", 120, "needs_attention")
        app = create_app(settings, temporal_client=client, db=stack.db, storage=stack.storage, events_poll_s=0.2)
        async with serve(app) as base:
            ctx, page, errors = await open_page(browser, base, bypass_csp=True)
            await sign_in(page, editor, f"/productions/{pid}")
            await playwright_api.expect(page.locator("#attention")).to_contain_text("bed.wav does not exist")
            await playwright_api.expect(page.locator("[data-state-label]").first).to_have_text("needs_attention")
            kept.rename(music)  # fixed
            await page.click("#retry")
            # The research runs again and the production goes on to the script checkpoint.
            await playwright_api.expect(page.locator("#script-form")).to_be_visible(timeout=120_000)
            assert errors == []
            await ctx.close()
        st = await get_status(client, pid)
        assert st.checkpoint == "script" and st.incidents[0].retried_by == "olga"
        await cancel(client, pid, "done testing")
