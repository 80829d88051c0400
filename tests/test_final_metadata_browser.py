"""The final checkpoint's title, description and tags are edited in the page and published (issue 22
item 4), in headless Debian Chromium at a laptop's 1366x768 and a phone's 390x844.

A real production (script, audio and b-roll approved by the niche's policy) waits at the final
checkpoint.  Each field counts as YouTube does; a title over YouTube's limit is refused next to the
field and Approve is held back before it asks "publish now?".  The description typed in the page is
what the outbox's metadata.json says.  With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` the test also
writes the screenshots the README links.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import get_status
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import PRODUCTION_WORKFLOW, ProductionInput, production_workflow_id
from tubeflow.db import repo

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
TITLE = "Blue skies, explained"
DESCRIPTION = "Sunlight scatters off the air itself: blue wins.\n\nFixed in the page, accents and all: é."


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_the_final_description_is_edited_in_the_page_and_published(
    temporal_env: WorkflowEnvironment, tmp_path: Path, browser: Any, size: dict[str, int]
) -> None:
    expect = playwright_api.expect
    label = "laptop" if size is LAPTOP else "phone"
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "skyline", "science")
        editor = await create_key(stack.db, "bo", "editor")
        pid = f"fm{uuid.uuid4().hex[:10]}"
        inp = ProductionInput(
            production_id=pid, channel="skyline", niche="science", topic="Why is the sky blue?",
            make_shorts=False, main_queue=settings.main_queue, gpu_queue=settings.gpu_queue,
            auto_approve=["script", "audio", "broll"],
        )  # fmt: skip
        await client.start_workflow(
            PRODUCTION_WORKFLOW, inp, id=production_workflow_id(pid), task_queue=settings.main_queue
        )
        await wait_checkpoint(client, pid, "final", timeout_s=300)
        app = create_app(settings, temporal_client=client, db=stack.db, storage=stack.storage, events_poll_s=0.2)
        async with serve(app) as base:
            ctx, page, errors = await open_page(browser, base, viewport=size)
            asked: list[str] = []

            async def answer(dialog: Any) -> None:
                asked.append(dialog.message)
                await dialog.accept()

            page.on("dialog", answer)
            await sign_in(page, editor, f"/productions/{pid}")
            title, description = page.locator("#meta-title"), page.locator("#meta-description")
            await expect(title).to_be_visible()
            derived = await title.input_value()
            await expect(page.locator("#meta-title-count")).to_have_text(f"{len(derived)} / 100 characters")
            shown = await description.input_value()
            await expect(page.locator("#meta-description-count")).to_have_text(f"{len(shown.encode())} / 5000 bytes")

            # Over YouTube's limit: said next to the field, and Approve does not even ask.
            await title.fill("x" * 101)
            error = page.locator("#meta-title-error")
            await expect(error).to_have_text("The title is 101 characters; YouTube allows at most 100.")
            await expect(page.locator("#meta-title-count")).to_have_class(re.compile(r"\bover\b"))
            await expect(title).to_have_attribute("aria-invalid", "true")
            await page.locator("#metadata-form").screenshot(path=str(shots / f"review-final-refused-{label}.png"))
            await page.click("#approve")
            await expect(title).to_be_focused()
            assert asked == []
            await expect(page.locator("#confirm-dialog")).to_be_hidden()
            assert (await get_status(client, pid)).checkpoint == "final"

            await title.fill(TITLE)
            await expect(error).to_be_hidden()
            await expect(page.locator("#publish-plan")).to_contain_text(f"“{TITLE}”")  # what Approve publishes
            await description.fill(DESCRIPTION)
            await expect(page.locator("#meta-description-count")).to_have_text(
                f"{len(DESCRIPTION.encode())} / 5000 bytes"
            )
            assert await page.evaluate(FITS), await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            box = await page.locator("#meta-description").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]
            await page.locator("#metadata-preview").scroll_into_view_if_needed()
            await page.screenshot(path=str(shots / f"review-final-metadata-{label}.png"), full_page=True)

            await page.click("#approve")
            dialog = page.locator("#confirm-dialog")  # the question names the title published
            await expect(dialog).to_be_visible()
            await expect(page.locator("#confirm-title")).to_have_text(f"Publish “{TITLE}”?")
            await page.click("#confirm-yes")
            await expect(page.locator("[data-state-label]").first).to_have_text("completed", timeout=120_000)
            assert asked == [], asked  # no native confirm() any more
            assert errors == [], errors
            await ctx.close()

        done = await wait_for(client, pid, lambda s: s.state == "completed", 60, "completion")
        meta = json.loads(
            (settings.resolved_outbox_dir() / (done.outputs.published or "") / "metadata.json").read_text()
        )
        assert (meta["title"], meta["description"]) == (TITLE, DESCRIPTION)
        assert meta["tags"]  # not edited: still the script's
