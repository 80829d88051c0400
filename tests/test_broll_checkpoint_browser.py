"""The b-roll checkpoint shows the whole cut (issue 22), in headless Debian Chromium.

A real production (tiny media, real FFmpeg preview) waits at its b-roll checkpoint.  On a laptop
(1366x768) the reviewer sees every picture of every part in order with its time, score and the
score's reason; reorders a part, swaps a picture for an alternative and uploads a clip of their
own, then saves: the preview is rendered again (its storage key changes) and the page lists the
new order.  On a phone (390x844), with taps only, they remove a picture, watch their clip play,
are told why a corrupt upload is refused, and save again.  The approval then renders the plan as
edited.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the test writes the README's screenshots.
"""

from __future__ import annotations

import os
import re
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
from tests.mediagen import color_bars_clip, corrupt_file
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.render_plan import RenderPlan

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
PREVIEW_TIMEOUT_MS = 300_000  # a tiny production's preview renders in well under a minute on 2 cores


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path)) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


async def listed(page: Any, part: int) -> list[str]:
    keys: list[str] = await page.locator(f"fieldset.bpart[data-part='{part}'] .bitems > .btile").evaluate_all(
        "tiles => tiles.map(t => t.dataset.key)"
    )
    return keys


def fieldset(page: Any, part: int) -> Any:
    return page.locator(f"fieldset.bpart[data-part='{part}']")


async def screenshot(page: Any, path: Path) -> None:
    """The whole page with every picture loaded (tiles load lazily, as a reviewer scrolls)."""
    await page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    await page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
    await page.screenshot(path=str(path), full_page=True)


async def saved_preview(page: Any, n: int) -> None:
    """Wait for the page to show the checkpoint again with the preview of save ``n``, and it plays."""
    video = page.locator("#preview-video")
    await playwright_api.expect(video).to_have_attribute(
        "data-key", re.compile(rf"/preview-v1-e{n}\.mp4$"), timeout=PREVIEW_TIMEOUT_MS
    )
    await page.wait_for_function(
        "(v => v && v.readyState >= 1 && v.duration > 0)(document.querySelector('#preview-video'))", timeout=60_000
    )


@pytest.mark.slow
async def test_the_broll_checkpoint_edits_the_whole_cut(stack: Stack, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    editor = await create_key(stack.db, "bo", "editor")
    pid = await start_production(stack.client, stack.db, stack.settings, "skyline", "Why is the sky blue?")
    for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO):
        await wait_checkpoint(stack.client, pid, cp, timeout_s=300)
        await review(stack.client, pid, ReviewDecision(cp, True, "setup"))
    st = await wait_checkpoint(stack.client, pid, Checkpoint.BROLL, timeout_s=600)
    plan = RenderPlan.from_json(stack.storage.get_text(st.artifacts.plan or ""))
    clip = color_bars_clip(tmp_path / "my sky clip.mp4", seconds=3.0, audio=False)
    broken = corrupt_file(tmp_path / "broken.mp4")
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True, viewport=LAPTOP)
        await sign_in(page, editor, f"/productions/{pid}")
        await expect(page.locator("#broll-form")).to_be_visible(timeout=60_000)
        await expect(page.locator("#live")).to_have_class("live on", timeout=10_000)

        # Every picture of every part, in order, with its time range, score and the score's reason.
        for part in plan.parts:
            assert await listed(page, part.index) == [m.key for m in part.items]
            times = await fieldset(page, part.index).locator(".bitems [data-time]").all_inner_texts()
            assert times == [f"{m.start:.1f}–{m.end:.1f} s" for m in part.items]
        scores = await page.locator("#broll-form .bitems .bscore").all_inner_texts()
        assert scores and all(re.match(r"score -?\d\.\d\d — \S", s) for s in scores), scores
        assert sum(len(p.items) for p in plan.parts) > len(plan.parts), "parts show several pictures"
        await screenshot(page, shots / "review-broll-laptop.png")

        # Reorder, swap and upload in the part with the most pictures, then save.
        big = max(plan.parts, key=lambda p: len(p.items))
        box = fieldset(page, big.index)
        first, second, *rest = [m.key for m in big.items]
        await box.locator(f".btile[data-key='{first}'] [data-act=down]").click()
        assert await listed(page, big.index) == [second, first, *rest]
        await box.locator(f".bitems .btile[data-key='{second}'] [data-act=swap]").click()
        alternative = big.candidates[0].key
        use = box.locator(f".bcands .btile[data-key='{alternative}'] [data-act=use]")
        await expect(use).to_have_text("Use for picture 1")
        await use.click()
        assert await listed(page, big.index) == [alternative, first, *rest]
        assert second in await box.locator(".bcands > .btile").evaluate_all("ts => ts.map(t => t.dataset.key)")
        await box.locator("input[data-upload]").set_input_files(str(clip))
        uploaded = box.locator(".bitems > .btile[data-source=upload]")
        await expect(uploaded).to_have_count(1, timeout=60_000)
        upload_key = await uploaded.get_attribute("data-key") or ""
        assert upload_key.endswith("-my_sky_clip.mp4")
        laid_out = [alternative, first, *rest, upload_key]
        assert await listed(page, big.index) == laid_out
        # The listed times follow the new order: the part's time shared equally.
        times = await box.locator(".bitems [data-time]").all_inner_texts()
        step = (big.end - big.start) / len(laid_out)
        assert times[0] == f"{big.start:.1f}–{big.start + step:.1f} s" and times[-1].endswith(f"–{big.end:.1f} s")
        await expect(page.locator("#broll-state")).to_have_text("unsaved changes in 1 part")
        before = await page.locator("#preview-video").get_attribute("data-key")
        assert before and before.endswith("/preview-v1.mp4")
        await page.click("#broll-save")
        await saved_preview(page, 1)
        assert await listed(page, big.index) == laid_out  # the plan as saved, from the server
        await expect(page.locator("#review h2")).to_contain_text("attempt 1")  # the same checkpoint, still open

        # The uploaded clip shows its poster (a still from its middle) and plays when pointed at.
        video = fieldset(page, big.index).locator(".btile[data-source=upload] video")
        poster = await video.get_attribute("poster")
        assert poster and "/broll/posters/" in poster
        kind = await page.evaluate("url => fetch(url).then(r => r.headers.get('content-type'))", poster)
        assert kind == "image/jpeg"
        playing = 'document.querySelector(".btile[data-source=upload] video").paused === false'
        await video.hover()
        await page.wait_for_function(playing, timeout=10_000)

        # A phone, taps only: remove a picture, watch the clip, a corrupt upload refused, save again.
        pctx, phone, phone_errors = await open_page(
            browser, base, bypass_csp=True, viewport=PHONE, has_touch=True, is_mobile=True
        )
        await sign_in(phone, editor, f"/productions/{pid}")
        await expect(phone.locator("#broll-form")).to_be_visible(timeout=30_000)
        assert await phone.evaluate(FITS), "the b-roll checkpoint scrolls sideways on a phone"
        await screenshot(phone, shots / "review-broll-phone.png")
        pbox = fieldset(phone, big.index)
        await pbox.locator(f".bitems .btile[data-key='{first}'] [data-act=remove]").tap()
        kept = [alternative, *rest, upload_key]
        assert await listed(phone, big.index) == kept
        await pbox.locator(".btile[data-source=upload] video").tap()
        await phone.wait_for_function(playing, timeout=10_000)
        await pbox.locator("input[data-upload]").set_input_files(str(broken))
        await expect(phone.locator("#broll-state")).to_contain_text("upload refused", timeout=30_000)
        await expect(phone.locator("#broll-state")).to_contain_text("'broken.mp4'")
        assert await listed(phone, big.index) == kept  # nothing was added
        await phone.locator("#broll-save").tap()
        await saved_preview(phone, 2)
        assert await listed(phone, big.index) == kept
        assert phone_errors == []
        await pctx.close()

        # Approve on the laptop: the render uses the plan as edited.
        await page.reload()
        await expect(page.locator("#broll-form")).to_be_visible(timeout=30_000)
        assert await listed(page, big.index) == kept
        await page.click("#approve")
        final = await wait_checkpoint(stack.client, pid, Checkpoint.FINAL, timeout_s=600)
        assert errors == []
        await ctx.close()

    assert (final.artifacts.plan or "").endswith("/plan-v1-e2.json")
    rendered = RenderPlan.from_json(stack.storage.get_text(final.artifacts.plan or ""))
    part = next(p for p in rendered.parts if p.index == big.index)
    assert [m.key for m in part.items] == kept
    assert part.items[-1].source == "upload" and part.items[-1].end == big.end
    assert final.artifacts.video and stack.storage.exists(final.artifacts.video)
    approved = [r for r in final.reviews if r.stage == Checkpoint.BROLL]
    assert [(r.approved, r.reviewer) for r in approved] == [(True, "bo")]  # saving twice was no decision
    await cancel(stack.client, pid, "test over")
