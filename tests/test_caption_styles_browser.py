"""The channel page's caption styles in headless Debian Chromium at 390x844 and 1366x768: one rendered
still per style, every still loaded, the page no wider than the screen, and choosing a style saves
the channel's ``caption_style`` (the chosen one is marked, its button gone).  A viewer sees the
stills without the buttons.  Before a channel chooses, the niche's style is marked as the one in
use.  The screenshots land in the test's folder (or ``TUBEFLOW_SCREENSHOTS``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.routes_dashboard import CAPTION_KINDS_SHOWN
from api.testing import serve
from niches.config import load_niche
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import open_database

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
KINDS = [kind for kind, _ in CAPTION_KINDS_SHOWN]
# Every still in the section has arrived and decoded (they load lazily: scrolled to first).
LOADED = """(n) => { const imgs = [...document.querySelectorAll('#caption-styles img')];
  return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0); }"""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
async def test_caption_styles_show_a_still_each_and_choosing_one_saves_it(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any, width: int, height: int
) -> None:
    expect = playwright_api.expect
    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path)
    try:
        await repo.create_channel(db, "sky", "science")
        admin = await create_key(db, "ada", "admin")
        viewer = await create_key(db, "vic", "viewer")
        app = create_app(settings, temporal_client=temporal_env.client, db=db)
        async with serve(app) as base:
            _ctx, page, errors = await open_page(browser, base, viewport={"width": width, "height": height})
            await sign_in(page, admin, "/channels/sky")
            section = page.locator("#caption-styles")
            options = section.locator("figure.style-option")
            await expect(options).to_have_count(len(KINDS))
            assert [await o.get_attribute("data-kind") for o in await options.all()] == KINDS
            # Nothing chosen for the channel: the niche's style is the one marked as in use.
            niche_kind = load_niche("science", settings).caption_style.kind
            await expect(section.locator(".style-option.chosen")).to_have_count(1)
            await expect(section.locator(".style-option.chosen")).to_have_attribute("data-kind", niche_kind)
            await expect(section.locator(".style-option.chosen")).to_contain_text("in use: the niche's")
            await expect(section).to_contain_text(f"Now: the niche's style ({niche_kind}).")
            await expect(section.locator("button.pick-caption-style")).to_have_count(len(KINDS))
            for o in await options.all():
                await o.scroll_into_view_if_needed()
            await page.wait_for_function(LOADED, arg=len(KINDS))
            sizes = await section.locator("img").evaluate_all("(imgs) => imgs.map((i) => [i.naturalWidth, i.src])")
            assert all(w > 0 for w, _ in sizes) and [src.rsplit("/", 1)[1] for _, src in sizes] == [
                f"{k}.png" for k in KINDS
            ]
            assert await page.evaluate(FITS), "the channel page scrolls sideways"
            box = await section.locator("img").first.bounding_box()
            assert (
                box is not None
                and box["width"] <= width - 20
                and box["height"] == pytest.approx(box["width"] * 9 / 16, abs=2)
            )  # the still keeps its 16:9 shape and fits the screen
            await section.scroll_into_view_if_needed()
            await section.screenshot(path=str(shots / f"caption-styles-{width}.png"))

            await section.locator("button.pick-caption-style[data-kind=boxed]").click()
            await expect(page.locator("#toast")).to_contain_text("Captions: boxed")
            chosen = section.locator(".style-option.chosen")
            await expect(chosen).to_have_attribute("data-kind", "boxed", timeout=10_000)
            await expect(chosen).to_contain_text("chosen")
            assert (await channel_repo.channel_settings(db, "sky")).caption_style == "boxed"
            await expect(section.locator("button.pick-caption-style")).to_have_count(len(KINDS) - 1)
            await expect(section.locator(".style-option.chosen button")).to_have_count(0)
            await expect(section).not_to_contain_text("Now: the niche's style")
            await page.wait_for_function(LOADED, arg=len(KINDS))
            await section.screenshot(path=str(shots / f"caption-styles-{width}-chosen.png"))

            await section.locator("button.pick-caption-style[data-kind=word-pop]").click()
            await expect(section.locator(".style-option.chosen")).to_have_attribute(
                "data-kind", "word-pop", timeout=10_000
            )
            assert (await channel_repo.channel_settings(db, "sky")).caption_style == "word-pop"
            assert errors == []

            # A viewer sees the stills and which one is chosen, and no button to change it.
            _vctx, vpage, verrors = await open_page(browser, base, viewport={"width": width, "height": height})
            await sign_in(vpage, viewer, "/channels/sky")
            vsection = vpage.locator("#caption-styles")
            await expect(vsection.locator("figure.style-option")).to_have_count(len(KINDS))
            await expect(vsection.locator(".style-option.chosen")).to_have_attribute("data-kind", "word-pop")
            await expect(vsection.locator("button")).to_have_count(0)
            assert verrors == []
    finally:
        await db.close()
