"""The Shorts' other platforms wait on their own: a cap, a revoked account, a failure for good.

Real workflow code on the real dev server with stub activities (tests/stub_activities.py); the
stub ``cross_post`` answers as the real adapter does (the same ApplicationError types and
details).  What a real platform does is tested against the fakes in test_platform_publishing.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from service.client import NothingToRetry, retry_platform, review, signal_platform_reconnected
from service.worker import workflow_classes
from tests.stub_activities import StubActivities
from tests.workflow_helpers import wait_checkpoint
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.contracts import (
    Checkpoint,
    CrossPostRequest,
    CrossPostResult,
    ProductionInput,
    ProductionStatus,
    ReviewDecision,
    production_workflow_id,
    shorts_workflow_id,
)
from workflows.production import ProductionWorkflow


class PlatformStubs(StubActivities):
    """``cross_post`` raises what ``fail[platform]`` lists, one entry per call, then posts."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: dict[str, list[ApplicationError]] = defaultdict(list)
        self.posted: list[tuple[str, str, int]] = []  # (production, platform, index)

    @implements(act.CROSS_POST)
    async def cross_post(self, req: CrossPostRequest) -> CrossPostResult:
        self._call(req.production_id, "cross_post", req)
        if self.fail[req.platform]:
            raise self.fail[req.platform].pop(0)
        self.posted.append((req.production_id, req.platform, req.index))
        return CrossPostResult(req.platform, req.index, f"{req.platform}-{req.index}", "")


def cap(seconds: float) -> ApplicationError:
    at = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    return ApplicationError("daily cap reached", at, type="PostingCapReached", non_retryable=True)


def revoked() -> ApplicationError:
    return ApplicationError("needs its TikTok account reconnected", type="AccountNeedsReconnect", non_retryable=True)


def refused() -> ApplicationError:
    return ApplicationError("TikTok refused the file", type="PermanentError", non_retryable=True)


@dataclass
class Rig:
    client: Client
    stubs: PlatformStubs
    main_queue: str
    gpu_queue: str

    async def through_final(self, **edits: Any) -> str:
        pid = uuid.uuid4().hex[:12]
        inp = ProductionInput(pid, "sky", "science", "Why is the sky blue?", make_shorts=True,
                              main_queue=self.main_queue, gpu_queue=self.gpu_queue)  # fmt: skip
        await self.client.start_workflow(
            ProductionWorkflow.run, inp, id=production_workflow_id(pid), task_queue=self.main_queue
        )
        for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO, Checkpoint.BROLL, Checkpoint.FINAL):
            await wait_checkpoint(self.client, pid, cp, timeout_s=20)
            await review(self.client, pid, ReviewDecision(cp, True, "ana", edits=edits if cp == "final" else None))
        return pid

    async def platforms(self, pid: str) -> dict[str, str]:
        status = await self.client.get_workflow_handle(shorts_workflow_id(pid)).query("status")
        return dict(status["platforms"])

    async def until(self, pid: str, platform: str, prefix: str, timeout_s: float = 20) -> str:
        deadline = asyncio.get_running_loop().time() + timeout_s
        seen = ""
        while asyncio.get_running_loop().time() < deadline:
            try:
                seen = (await self.platforms(pid)).get(platform, "")
            except Exception:  # the Shorts workflow has not started yet
                seen = ""
            if seen.startswith(prefix):
                return seen
            await asyncio.sleep(0.2)
        raise AssertionError(f"{platform} never reached {prefix!r} (last: {seen!r})")


@pytest.fixture(scope="module")
async def rig(temporal_env: WorkflowEnvironment) -> AsyncIterator[Rig]:
    tag = uuid.uuid4().hex[:8]
    stubs = PlatformStubs()
    stubs.platforms = ["tiktok", "instagram"]
    r = Rig(temporal_env.client, stubs, f"xp-main-{tag}", f"xp-gpu-{tag}")
    main = Worker(r.client, task_queue=r.main_queue, workflows=workflow_classes(), activities=stubs.main())
    gpu = Worker(r.client, task_queue=r.gpu_queue, activities=stubs.gpu())
    async with main, gpu:
        yield r


async def test_each_platform_waits_alone_and_youtube_goes_on(rig: Rig) -> None:
    rig.stubs.fail["tiktok"] = [revoked(), refused()]
    rig.stubs.fail["instagram"] = [cap(2.0)]
    pid = await rig.through_final()
    handle = rig.client.get_workflow_handle(production_workflow_id(pid), result_type=ProductionStatus)

    # TikTok is blocked on its account; Instagram waits for its cap and then posts both Shorts,
    # and YouTube publishes its Shorts meanwhile.
    said = await rig.until(pid, "tiktok", "blocked")
    assert "reconnect" in said
    await rig.until(pid, "instagram", "2/2 posted")
    assert len(rig.stubs.of(pid, "publish")) == 3  # the long-form and both Shorts on YouTube
    assert [p for p in rig.stubs.posted if p[0] == pid] == [(pid, "instagram", 0), (pid, "instagram", 1)]

    # Reconnected: TikTok tries again at once, is refused for good, and waits for a retry alone.
    await signal_platform_reconnected(rig.client, pid, "tiktok")
    said = await rig.until(pid, "tiktok", "needs attention")
    assert "refused the file" in said
    with pytest.raises(NothingToRetry):  # Instagram is done: nothing of it waits
        await retry_platform(rig.client, pid, "instagram")
    assert "refused the file" in await retry_platform(rig.client, pid, "tiktok")

    done: ProductionStatus = await handle.result()
    assert done.state == "completed"
    tiktok = [p for p in rig.stubs.posted if p[0] == pid and p[1] == "tiktok"]
    assert tiktok == [(pid, "tiktok", 0), (pid, "tiktok", 1)]  # each Short once, in order
    tries = [r.index for r in rig.stubs.of(pid, "cross_post") if r.platform == "tiktok"]
    assert tries == [0, 0, 0, 1]  # revoked, refused, posted; then the second Short


async def test_an_unticked_platform_gets_nothing_and_the_edited_caption_is_posted(rig: Rig) -> None:
    pid = await rig.through_final(
        platforms_off=["instagram"], platform_captions={"tiktok": "My own words #sky"}, platform_covers={"tiktok": 4.5}
    )
    done = await rig.client.get_workflow_handle(production_workflow_id(pid), result_type=ProductionStatus).result()
    assert done.state == "completed"
    [planned] = rig.stubs.of(pid, "plan_cross_posts")
    assert planned.platforms_off == ["instagram"]
    posts = rig.stubs.of(pid, "cross_post")
    assert {r.platform for r in posts} == {"tiktok"}
    assert [r.caption for r in posts] == ["My own words #sky", "My own words #sky"]
    # The picked cover frame, inside each Short: the first is 5 s long, the second 4 s (its last frame).
    assert [r.cover_s for r in posts] == [4.5, 3.9]


async def test_platform_edits_are_checked_at_the_checkpoint(rig: Rig) -> None:
    pid = uuid.uuid4().hex[:12]
    inp = ProductionInput(pid, "sky", "science", "Why is the sky blue?", make_shorts=True,
                          main_queue=rig.main_queue, gpu_queue=rig.gpu_queue)  # fmt: skip
    await rig.client.start_workflow(
        ProductionWorkflow.run, inp, id=production_workflow_id(pid), task_queue=rig.main_queue
    )
    for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO, Checkpoint.BROLL):
        await wait_checkpoint(rig.client, pid, cp, timeout_s=20)
        await review(rig.client, pid, ReviewDecision(cp, True, "ana"))
    await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=20)
    from service.client import CheckpointNotOpen

    for edits, said in (
        ({"platforms_off": ["myspace"]}, "unknown platform 'myspace'"),
        ({"platform_captions": {"tiktok": ""}}, "1 to 2200 characters"),
        ({"platform_captions": {"tiktok": "x" * 2201}}, "1 to 2200 characters"),
        ({"platforms_off": "tiktok"}, "platforms_off must list"),
        ({"platform_covers": {"tiktok": -1}}, "from 0 to 180"),
        ({"platform_covers": {"tiktok": "1s"}}, "seconds into the Short"),
        ({"platform_covers": {"vine": 1}}, "unknown platform 'vine'"),
        ({"platform_covers": [1]}, "platform_covers must map"),
    ):
        with pytest.raises(CheckpointNotOpen, match=said):
            await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana", edits=edits))
    await rig.client.get_workflow_handle(production_workflow_id(pid)).cancel()
