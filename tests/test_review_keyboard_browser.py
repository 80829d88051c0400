"""A whole production reviewed with the keyboard alone, at a laptop's 1366x768 and a phone's 390x844,
in headless Debian Chromium (issue 22: accessibility, stage sub-progress, the publish dialog, the
finished page).

The real workflow runs on the real dev server with the real database writes (snapshots and reviews,
so the live feed is the real one); the stage activities are the stubs of tests/stub_activities.py,
except three that show what the page must: a b-roll stage that reports its count with the real
:class:`activities.progress.StageProgress` and waits for the test between pictures (so "1 of 3
pictures found" is on screen while the stage runs), a render that stores real tiny MP4s for the
players, and a publish that takes the channel's calendar slot as the real one does.

The reviewer never touches the mouse: Tab reaches Approve and Reject, Enter and Space press them,
the rejection form opens with focus in its text, the publish dialog keeps focus inside (Tab wraps,
Escape says no and gives focus back to Approve) and its Publish button publishes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.calendar import place_on_calendar
from activities.progress import StageProgress
from activities.record_activities import RecordActivities
from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import get_status, start_production
from service.worker import workflow_classes
from tests.a11y import check_page
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip
from tests.stub_activities import StubActivities
from tests.workflow_helpers import wait_checkpoint, wait_for
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.channel_settings import parse_settings
from tubeflow.contracts import (
    BrollRequest,
    BrollResult,
    Checkpoint,
    ProductionStatus,
    PublishRequest,
    PublishResult,
    RenderResult,
    ScriptRequest,
    ScriptResult,
    State,
)
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import Database, open_database
from tubeflow.keys import ProductionKeys
from tubeflow.render_contracts import JoinRequest
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
PICTURES = 3


class PageStubs(StubActivities):
    """The stubs, with a b-roll stage the test paces, a render that leaves real files and a
    publish on the real calendar."""

    def __init__(self, storage: Storage, db: Database, clip: Path) -> None:
        super().__init__()
        self.storage, self.db, self.clip = storage, db, clip
        self.next_picture = asyncio.Event()

    @implements(act.WRITE_SCRIPT)
    async def write_script(self, req: ScriptRequest) -> ScriptResult:
        res = await super().write_script(req)
        section = {"heading": "Light", "narration": "Sunlight holds every colour.", "broll_cues": []}
        script = {"title": res.title, "hook": "Look up.", "description": "Why.", "tags": ["sky"], "sections": [section]}
        self.storage.put_text(res.script_key, json.dumps(script), "application/json")
        return res

    @implements(act.GATHER_BROLL)
    async def gather_broll(self, req: BrollRequest) -> BrollResult:
        self._call(req.production_id, "gather_broll", req)
        progress = StageProgress("broll", "pictures found", every_s=0.0)
        progress.start(PICTURES)
        for _ in range(PICTURES):
            await self.next_picture.wait()  # the test looks at the page, then lets one more picture through
            self.next_picture.clear()
            progress.count()
        await progress.flush()
        parts = [
            PlanPart(
                i,
                f"Section {i}",
                4.0 * i,
                4.0 * (i + 1),
                [MediaItem(f"p/{i}.jpg", "image", "generated")],
                short_candidate=True,
            )  # fmt: skip
            for i in range(2)
        ]
        plan = RenderPlan(320, 180, 15, 8.0, parts)
        key = ProductionKeys(req.production_id).plan(req.attempt)
        self.storage.put_text(key, plan.to_json(), "application/json")
        return BrollResult(key, 2, 2, [])

    @implements(act.JOIN_RENDER)
    async def join_render(self, req: JoinRequest) -> RenderResult:
        self._call(req.job.production_id, "join_render", req)
        self.storage.put_file(req.job.output_key, self.clip, "video/mp4")
        return RenderResult(req.job.output_key, 3.0, 320, 180, len(req.segment_keys), 0, gpu_seconds=0.5)

    @implements(act.PUBLISH)
    async def publish(self, req: PublishRequest) -> PublishResult:
        self._call(req.production_id, "publish", req)
        if req.kind == "short":  # the Short's file, as the Shorts render leaves it
            self.storage.put_file(ProductionKeys(req.production_id).short(int(req.extra["index"])), self.clip)
        cs = parse_settings((await repo.get_channel(self.db, req.channel)).settings)
        entry = await place_on_calendar(self.db, req, cs, datetime.now(UTC))
        suffix = f"-short-{req.extra['index']}" if req.kind == "short" else ""
        location = f"{req.channel}/{req.production_id}{suffix}"
        await channel_repo.update_publication(
            self.db, req.production_id, entry.kind, entry.idx, status="published", location=location
        )
        return PublishResult(location, "")


@dataclass
class Rig:
    client: Client
    settings: Settings
    storage: Storage
    db: Database
    stubs: PageStubs


@pytest.fixture
async def rig(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Rig]:
    settings = tiny_settings(tmp_path)
    storage, db = open_storage(settings), await open_database(settings)
    stubs = PageStubs(storage, db, color_bars_clip(tmp_path / "clip.mp4", seconds=2.0))
    record = RecordActivities(settings, storage, db)
    replaced = {"record_snapshot", "record_review"}
    main = [f for f in stubs.main() if f.__name__ not in replaced] + [record.record_snapshot, record.record_review]
    workers = [
        Worker(temporal_env.client, task_queue=settings.main_queue, workflows=workflow_classes(), activities=main),
        Worker(temporal_env.client, task_queue=settings.gpu_queue, activities=stubs.gpu()),
    ]
    async with workers[0], workers[1]:
        await repo.create_channel(db, "keys", "science")
        yield Rig(temporal_env.client, settings, storage, db, stubs)
    await db.close()


async def tab_to(page: Any, selector: str, limit: int = 120) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable from the keyboard, in order."""
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
        await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
    raise AssertionError(f"{selector} is not reachable with Tab (focus ended on {focused})")


async def focused_id(page: Any) -> str:
    return str(await page.evaluate("document.activeElement ? document.activeElement.id : ''"))


async def start_over(page: Any) -> None:
    """Focus at the top of the page, as after a load: the Tab order starts from the beginning."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.evaluate("window.scrollTo(0, 0)")


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_keyboard_only_review_with_live_sub_progress_and_publish_dialog(
    rig: Rig, browser: Any, size: dict[str, int], tmp_path: Path
) -> None:
    expect = playwright_api.expect
    editor = await create_key(rig.db, "kai", "editor")
    pid = await start_production(rig.client, rig.db, rig.settings, "keys", f"Keyboard {uuid.uuid4().hex[:6]}")
    app = create_app(rig.settings, temporal_client=rig.client, db=rig.db, storage=rig.storage, events_poll_s=0.2)
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True, viewport=size)
        await sign_in(page, editor, f"/productions/{pid}")
        await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT)
        await page.reload()

        # Script: Tab reaches Approve, Enter presses it.  Every page on the way: labelled controls, AA contrast.
        await expect(page.locator("#approve")).to_have_text("Approve script")
        await check_page(page, "script checkpoint")
        await start_over(page)
        await tab_to(page, "#approve")
        await page.keyboard.press("Enter")
        await expect(page.locator("#approve")).to_have_text("Approve audio", timeout=30_000)

        # Audio: Reject… with Space; focus lands in the feedback; Escape closes it and gives focus back.
        await expect(page.locator("#live")).to_have_class("live on", timeout=10_000)
        await check_page(page, "audio checkpoint")
        await start_over(page)
        await tab_to(page, "#reject-open")
        await page.keyboard.press("Space")
        await expect(page.locator("#reject-form")).to_be_visible()
        await check_page(page, "audio checkpoint, rejection form open")
        assert await focused_id(page) == "feedback"
        assert await page.get_attribute("#reject-open", "aria-expanded") == "true"
        await page.keyboard.press("Escape")
        await expect(page.locator("#reject-form")).to_be_hidden()
        assert await focused_id(page) == "reject-open"
        await page.keyboard.press("Enter")  # open again: Enter works as Space did
        assert await focused_id(page) == "feedback"
        await page.keyboard.type("Warmer, please")
        await tab_to(page, "#reject")
        await page.keyboard.press("Enter")
        await expect(page.locator("#review h2")).to_contain_text("attempt 2", timeout=30_000)
        reviews = await repo.list_reviews(rig.db, pid)
        assert [(r.stage, r.approved, r.feedback) for r in reviews] == [
            ("script", True, ""),
            ("audio", False, "Warmer, please"),
        ]

        # Approve the second take with Space: the b-roll stage runs and says how far it is.
        await start_over(page)
        await tab_to(page, "#approve")
        await page.keyboard.press("Space")
        working = page.locator("#working")
        await expect(working).to_be_visible(timeout=30_000)
        await expect(page.locator("[data-stage-label]").first).to_have_text("broll", timeout=30_000)
        await expect(working).to_contain_text("0 of 3 pictures found", timeout=30_000)
        for n in range(1, PICTURES):
            rig.stubs.next_picture.set()
            await expect(page.locator("#step-text")).to_have_text(f"{n} of 3 pictures found", timeout=30_000)
            await expect(page.locator("#step-bar")).to_have_attribute("value", str(n))

            # The workflow's status query carries the same count and an estimate of the time left.
            def counted(s: ProductionStatus, n: int = n) -> bool:
                return bool(s.step and s.step.done == n)

            st = await wait_for(rig.client, pid, counted, 10, "the step")
            assert st.step is not None and (st.step.total, st.step.unit) == (PICTURES, "pictures found")
            assert st.step.eta_s is not None and st.step.eta_s >= 0
        # The time left, at this run's pace: "2 of 3 pictures found, about 4 s left" (or "almost done").
        await expect(working).to_contain_text(re.compile(r"2 of 3 pictures found, (about \d+ s left|almost done)"))
        assert await page.locator("#step-bar").get_attribute("max") == "3"
        await check_page(page, "b-roll running")
        rig.stubs.next_picture.set()

        # B-roll approved from the keyboard; render and thumbnails run; the final checkpoint opens.
        await expect(page.locator("#approve")).to_have_text("Approve broll", timeout=30_000)
        await check_page(page, "b-roll checkpoint")
        await start_over(page)
        await tab_to(page, "#approve")
        await page.keyboard.press("Enter")
        await expect(page.locator("#approve")).to_have_text("Approve and publish", timeout=30_000)

        # The final approve opens the publish dialog: it says what goes where and when.
        plan = page.locator("#publish-plan")
        await expect(plan).to_contain_text("Long-form video")
        await expect(plan).to_contain_text("Short 1")
        await expect(plan).to_contain_text("Short 2")
        await expect(plan).to_contain_text("outbox")
        await check_page(page, "final checkpoint")
        await start_over(page)
        await tab_to(page, "#approve")
        await page.keyboard.press("Enter")
        dialog = page.locator("#confirm-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("Short 2")
        await check_page(page, "publish dialog")
        assert await focused_id(page) == "confirm-no"  # the safe choice has the focus
        await page.keyboard.press("Tab")
        assert await focused_id(page) == "confirm-yes"
        await page.keyboard.press("Tab")
        assert await focused_id(page) == "confirm-no"  # trapped: Tab wraps inside the dialog
        await page.keyboard.press("Shift+Tab")
        assert await focused_id(page) == "confirm-yes"
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await page.wait_for_function("document.activeElement && document.activeElement.id === 'approve'")
        assert (await get_status(rig.client, pid)).checkpoint == Checkpoint.FINAL  # Escape published nothing
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")  # Publish

        # Finished: the page re-renders with a player for the long-form and each Short, and where each went.
        await expect(page.locator("[data-state-label]").first).to_have_text("completed", timeout=60_000)
        finished = page.locator("#finished")
        await expect(finished).to_be_visible(timeout=30_000)
        await expect(page.locator("#done-video")).to_have_count(1)
        await expect(page.locator("#finished .short-video")).to_have_count(2)
        await expect(page.locator("#published-long")).to_contain_text(f"keys/{pid}")
        await expect(page.locator("#published-short-2")).to_contain_text(f"keys/{pid}-short-1")
        await expect(page.locator("#published-long")).to_contain_text("published ")
        for video in ("#done-video", "#published-short-1 video", "#published-short-2 video"):
            await page.wait_for_function(
                "(s) => { const v = document.querySelector(s); return v.readyState >= 1 && v.duration > 1; }",
                arg=video,
                timeout=30_000,
            )
        shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
        shots.mkdir(parents=True, exist_ok=True)
        await check_page(page, "finished page")
        label = "phone" if size == PHONE else "laptop"
        await page.screenshot(path=str(shots / f"finished-{label}.png"), full_page=True)
        assert errors == [], errors
        await ctx.close()
    done = await get_status(rig.client, pid)
    assert done.state == State.COMPLETED and done.step is None
    published = [(p.kind, p.idx, p.status) for p in await channel_repo.list_publications(rig.db, "keys")
                 if p.production_id == pid]  # fmt: skip
    assert sorted(published) == [("long", 0, "published"), ("short", 0, "published"), ("short", 1, "published")]
    assert json.loads(rig.storage.get_text(ProductionKeys(pid).plan(1)))["parts"]
