"""The quality report in a production: measured after the render, shown at the final checkpoint,
and holding an auto-approved final cut in needs_attention when a figure fails.

Real workflow code on the real dev server with stub activities (tests/stub_activities.py) for
every stage but one: ``measure_quality`` is the real GPU activity, measuring a tiny FFmpeg clip
with a planted defect that stands in for the render (put where the render writes its video).
The browser test opens the final checkpoint in Chromium at a phone's and a laptop's width.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from gpu_activities.quality_activities import QualityActivities
from service.client import retry
from service.worker import workflow_classes
from tests.conftest import tiny_settings
from tests.mediagen import Shot, slideshow_clip
from tests.stub_activities import StubActivities
from tests.workflow_helpers import wait_checkpoint, wait_for
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.contracts import Checkpoint, ProductionInput, ProductionStatus, Stage, State, production_workflow_id
from tubeflow.db.engine import Database
from tubeflow.quality_report import BLACK, STATIC_SHOT, QualityRequest, QualityResult, QualityThresholds
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage
from workflows.production import ProductionWorkflow

EVERY = ["script", "audio", "broll", "final"]
CLEAN: list[Shot] = [("pan", 1.5, 1), ("pan", 1.5, 2), ("pan", 1.5, 3), ("pan", 1.5, 4)]
STATIC: list[Shot] = [("pan", 6.0, 1), ("pan", 1.0, 2)]  # no cut for 6 s from the start
BLACK_SECOND: list[Shot] = [("pan", 1.5, 1), ("black", 1.0, 0), ("pan", 1.5, 2), ("pan", 1.5, 3)]


class PlantedRender:
    """``measure_quality`` as the GPU worker runs it, on the clip planted for the production.

    The stub render writes no file, so this first puts the production's clip where the render
    would have written the video (``req.video_key``) and a plan at the plan's key; then the real
    activity measures it."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.real = QualityActivities(settings, storage)
        self.storage = storage
        self.clips: dict[str, Path] = {}

    @implements(act.MEASURE_QUALITY)
    async def measure_quality(self, req: QualityRequest) -> QualityResult:
        clip = self.clips[req.production_id]
        self.storage.put_file(req.video_key, clip, "video/mp4")
        items = [MediaItem("a.jpg", "image", "library", "sky", 0.0, 7.0, score=0.1, description="blue sky")]
        plan = RenderPlan(320, 180, 15, 7.0, [PlanPart(0, "hook", 0.0, 7.0, items)])
        self.storage.put_bytes(req.plan_key, plan.to_json().encode(), "application/json")
        result: QualityResult = await self.real.measure_quality(req)
        return result


@dataclass
class Rig:
    client: Client
    stubs: StubActivities
    planted: PlantedRender
    settings: Settings
    main_queue: str
    gpu_queue: str
    clips: dict[str, Path] = field(default_factory=dict)

    async def start(self, clip: list[Shot], **fields: Any) -> tuple[str, WorkflowHandle[Any, ProductionStatus]]:
        pid = uuid.uuid4().hex[:12]
        self.planted.clips[pid] = self.clip(clip)
        inp = ProductionInput(
            production_id=pid,
            channel="sky",
            niche="science",
            topic="Why is the sky blue?",
            make_shorts=False,
            main_queue=self.main_queue,
            gpu_queue=self.gpu_queue,
            quality=QualityThresholds(),
        )
        for k, v in fields.items():
            setattr(inp, k, v)
        handle = await self.client.start_workflow(
            ProductionWorkflow.run, inp, id=production_workflow_id(pid), task_queue=self.main_queue
        )
        return pid, handle

    def clip(self, shots: list[Shot]) -> Path:
        name = "-".join(f"{k}{s:g}" for k, s, _ in shots)
        if name not in self.clips:
            self.clips[name] = slideshow_clip(self.settings.home / "clips" / f"{name}.mp4", shots)
        return self.clips[name]


@pytest.fixture(scope="module")
async def rig(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tag = uuid.uuid4().hex[:8]
    settings = tiny_settings(tmp_path_factory.mktemp("quality-rig"))
    stubs = StubActivities()
    planted = PlantedRender(settings, open_storage(settings))
    r = Rig(temporal_env.client, stubs, planted, settings, f"q-main-{tag}", f"q-gpu-{tag}")
    gpu_activities = [a for a in stubs.gpu() if a.__name__ != "measure_quality"] + [planted.measure_quality]
    main = Worker(r.client, task_queue=r.main_queue, workflows=workflow_classes(), activities=stubs.main())
    gpu = Worker(r.client, task_queue=r.gpu_queue, activities=gpu_activities)
    async with main, gpu:
        yield r


async def test_auto_approved_final_with_a_defect_waits_in_needs_attention(rig: Rig) -> None:
    pid, handle = await rig.start(STATIC, auto_approve=EVERY, quality_gate=True)
    st = await wait_for(rig.client, pid, lambda s: s.state == State.NEEDS_ATTENTION, 60, "needs_attention")

    # Held at the final checkpoint with the failing figure and its moment as the reason; nothing published.
    assert st.stage == Stage.REVIEW_FINAL and st.checkpoint is None
    assert st.error is not None and "Longest static shot" in st.error and "at 0:00.0" in st.error, st.error
    assert "publish anyway" in st.detail
    assert [i.reason for i in st.incidents] == [st.error]
    report = st.outputs.quality
    assert report is not None and not report.passed and {f.name for f in report.failures()} == {STATIC_SHOT}
    assert st.artifacts.quality == f"productions/{pid}/quality.json" == report.key
    assert rig.stubs.of(pid, "publish") == []
    assert [r.stage for r in rig.stubs.of(pid, "record_review")] == ["script", "audio", "broll"]

    # The operator looked at it and publishes anyway.
    await retry(rig.client, pid, "olga", "the long shot is the point")
    done = await handle.result()
    assert done.state == State.COMPLETED and len(rig.stubs.of(pid, "publish")) == 1
    final = [r for r in done.reviews if r.stage == Checkpoint.FINAL]
    assert len(final) == 1 and final[0].approved and "olga accepted the failed quality report" in final[0].note
    assert done.incidents[0].retried_by == "olga"


async def test_auto_approved_final_that_passes_publishes(rig: Rig) -> None:
    pid, handle = await rig.start(CLEAN, auto_approve=EVERY, quality_gate=True)
    done = await handle.result()
    assert done.state == State.COMPLETED and done.incidents == []
    assert done.outputs.quality is not None and done.outputs.quality.passed
    assert len(rig.stubs.of(pid, "publish")) == 1


async def test_without_the_gate_a_failed_report_is_kept_but_does_not_hold(rig: Rig) -> None:
    pid, handle = await rig.start(STATIC, auto_approve=EVERY, quality_gate=False)
    done = await handle.result()
    assert done.state == State.COMPLETED and done.incidents == []
    assert done.outputs.quality is not None and not done.outputs.quality.passed


async def test_a_person_at_the_final_checkpoint_sees_the_report_and_is_not_held(rig: Rig) -> None:
    pid, _ = await rig.start(BLACK_SECOND, auto_approve=["script", "audio", "broll"], quality_gate=True)
    st = await wait_checkpoint(rig.client, pid, "final", timeout_s=60)
    assert st.state == State.WAITING and st.outputs.quality is not None
    assert {f.name for f in st.outputs.quality.failures()} == {BLACK}
    req = rig.stubs.of(pid, "measure_quality")  # the stub was not used: the real activity measured
    assert req == []


def test_channel_settings_make_the_production_input(tmp_path: Path) -> None:
    """A channel's limits and gate reach the workflow's input; unset, the global setting decides."""
    from niches.channel_profile import production_input
    from niches.config import load_niche
    from tubeflow.channel_settings import parse_settings

    settings = tiny_settings(tmp_path).with_overrides(quality_gate=True)
    niche = load_niche("science", settings)
    cs = parse_settings({"required_checkpoints": "none", "quality_max_black_s": "0.5"})
    inp = production_input(settings, "p1", "sky", niche, cs, "Why is the sky blue?")
    assert inp.quality_gate is True and "final" in inp.auto_approve
    assert inp.quality is not None and inp.quality.max_black_s == 0.5
    off = production_input(settings, "p2", "sky", niche, parse_settings({"quality_gate": "false"}), "t")
    assert off.quality_gate is False


# ---------------------------------------------------------------- the page

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database

    database = await open_database(tiny_settings(tmp_path))
    await repo.create_channel(database, "sky", "science")
    try:
        yield database
    finally:
        await database.close()


async def test_final_checkpoint_shows_the_report_with_a_failure_in_red_and_its_moment(
    rig: Rig, db: Database, browser: Any, tmp_path: Path
) -> None:
    from api.app import create_app
    from api.auth import create_key
    from api.testing import serve
    from tests.browser import open_page, playwright_api, sign_in

    pid, _ = await rig.start(BLACK_SECOND, auto_approve=["script", "audio", "broll"], quality_gate=True)
    await wait_checkpoint(rig.client, pid, "final", timeout_s=60)
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    key = await create_key(db, "ana", "editor")
    storage = rig.planted.storage
    app = create_app(rig.settings, temporal_client=rig.client, db=db, storage=storage, events_poll_s=0.2)
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base)
        await sign_in(page, key)
        for size, label in ((PHONE, "phone"), (LAPTOP, "laptop")):
            await page.set_viewport_size(size)
            await page.goto(f"/productions/{pid}")
            panel = page.locator("#review #quality-report")
            await playwright_api.expect(panel).to_be_visible()
            await playwright_api.expect(panel.locator("h3")).to_contain_text("1 failed")
            black = panel.locator(f"li[data-figure='{BLACK}']")
            await playwright_api.expect(black).to_have_class("figure fail")
            await playwright_api.expect(black).to_contain_text("Black frames")
            colour = await black.evaluate("e => getComputedStyle(e).color")
            assert colour == "rgb(185, 28, 28)", colour  # var(--bad): red
            ok = panel.locator("li[data-figure='loudness_lufs']")
            assert await ok.evaluate("e => getComputedStyle(e).color") != colour
            await playwright_api.expect(panel.locator("li.unmeasured", has_text="Not measured").first).to_be_visible()
            seek = black.locator("button.seek")
            await playwright_api.expect(seek).to_have_text("▶ look at 0:01.5")
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), label
            box = await seek.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (label, box)
            await page.screenshot(path=str(shots / f"quality-final-{label}.png"), full_page=True)

            # The moment's button moves the final player there (where its seek landed, not where play got to).
            await page.evaluate(
                "(() => { const v = document.getElementById('final-video'); window.seekedTo = undefined;"
                " v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; }, { once: true }); })()"
            )
            await seek.click()
            await page.wait_for_function("() => window.seekedTo !== undefined", timeout=10_000)
            assert await page.evaluate("window.seekedTo") == pytest.approx(1.5, abs=0.1)
            await page.evaluate("document.getElementById('final-video').pause()")
        outputs = await page.locator("#outputs").inner_text()
        assert "1 failed: Black frames 1 s at 0:01.5" in outputs and "{" not in outputs, outputs
        answer = await page.evaluate(f"fetch('/api/productions/{pid}/quality').then(r => r.json())")
        assert answer["production_id"] == pid and answer["shorts"] == []
        assert answer["video"]["passed"] is False and answer["video"]["key"] == f"productions/{pid}/quality.json"
        assert [f["name"] for f in answer["video"]["figures"] if f["passed"] is False] == [BLACK]

        # Auto-approved and held: the same panel beside the video, and the way out is "Publish anyway".
        held, _ = await rig.start(STATIC, auto_approve=EVERY, quality_gate=True)
        await wait_for(rig.client, held, lambda s: s.state == State.NEEDS_ATTENTION, 60, "needs_attention")
        for size, label in ((PHONE, "phone"), (LAPTOP, "laptop")):
            await page.set_viewport_size(size)
            await page.goto(f"/productions/{held}")
            attention = page.locator("#attention")
            await playwright_api.expect(attention.locator("h2")).to_contain_text("the quality report failed")
            static = attention.locator(f"#quality-report li[data-figure='{STATIC_SHOT}']")
            await playwright_api.expect(static).to_have_class("figure fail")
            await playwright_api.expect(static.locator("button.seek")).to_have_text("▶ look at 0:00.0")
            await playwright_api.expect(page.locator("#retry")).to_have_text("Publish anyway")
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), label
            await page.screenshot(path=str(shots / f"quality-held-{label}.png"), full_page=True)
        await retry(rig.client, held, "ana", "recorded")
        assert errors == []
        await ctx.close()
