"""ShortsWorkflow: 1-3 vertical Shorts cut from an approved long-form production.

Started as a child of ProductionWorkflow after the long-form is published.  The seeds ask for
no checkpoint here: the material was already approved in the long-form review, so Shorts are
rendered and published directly.  Each Short is rendered like the long-form, one activity per
segment (workflows/render_fanout.py), all Shorts at once, then published in order; a failure
redoes nothing already stored.  Histories from before the fan-out keep the one-activity path.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.activity_calls import TaskQueues, execute
from workflows.render_fanout import PATCH_RENDER_FANOUT, render_fanout

with workflow.unsafe.imports_passed_through():
    from tubeflow import activity_defs as act
    from tubeflow.contracts import (
        SHORTS_WORKFLOW,
        SIGNAL_PLATFORM_RECONNECTED,
        SIGNAL_PLATFORM_RETRY,
        CrossPostPlanRequest,
        CrossPostRequest,
        CrossPostResult,
        CrossPostSlot,
        PublishRequest,
        PublishResult,
        RenderResult,
        ShortsInput,
        ShortSpec,
        ShortsPlan,
        ShortsResult,
    )
    from tubeflow.job_contracts import ShortRequest
    from tubeflow.keys import ProductionKeys
    from tubeflow.quality_report import QualityReport, QualityRequest, render_boxes
    from tubeflow.render_contracts import RenderJob
    from workflows.production import (
        PATCH_PUBLISH_WAITS,
        QUOTA_RESET_MARGIN,
        WAITABLE_ERRORS,
        quota_reset_time,
    )

# Each Short is measured after its render (its quality report, in the production's status) before
# it is published.  Reported, not held: Shorts have no checkpoint and are cut from the approved video.
PATCH_SHORTS_QUALITY = "shorts-quality-report"
# The Shorts also go to the channel's TikTok and Instagram accounts, each platform on its own: its
# slots (durable timers: neither API schedules), its cap and reconnect waits, its failures.
PATCH_CROSS_POST = "shorts-cross-post"
RECONNECT_POLL = timedelta(minutes=30)  # a reconnect also signals; the poll covers one made elsewhere


@workflow.defn(name=SHORTS_WORKFLOW)
class ShortsWorkflow:
    def __init__(self) -> None:
        self._done: list[str] = []
        self._total = 0
        self._platforms: dict[str, str] = {}  # platform -> what it is doing, for people
        self._cross_posts: list[CrossPostResult] = []
        self._reconnected: set[str] = set()
        self._retries: set[str] = set()

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        return {"total": self._total, "done": len(self._done), "published": self._done, "platforms": self._platforms}

    @workflow.signal(name=SIGNAL_PLATFORM_RECONNECTED)
    def platform_reconnected(self, platform: str) -> None:
        self._reconnected.add(platform)

    @workflow.signal(name=SIGNAL_PLATFORM_RETRY)
    def platform_retry(self, platform: str) -> None:
        self._retries.add(platform)

    @workflow.run
    async def run(self, inp: ShortsInput) -> ShortsResult:
        queues = TaskQueues(main=workflow.info().task_queue, gpu=inp.gpu_queue)
        plan = await execute(act.PLAN_SHORTS, inp, queues)
        self._total = len(plan.specs)
        if workflow.patched(PATCH_RENDER_FANOUT):
            return await self._fan_out(inp, plan, queues)
        keys: list[str] = []
        gpu_seconds = cost = 0.0
        for spec in plan.specs:
            rendered = await execute(
                act.RENDER_SHORT,
                ShortRequest(
                    production_id=inp.production_id,
                    plan_key=inp.plan_key,
                    audio_key=inp.audio_key,
                    words_key=inp.words_key,
                    niche=inp.niche,
                    start_s=spec.start,
                    end_s=spec.end,
                    output_key=ProductionKeys(inp.production_id).short(spec.index),
                    reframe=plan.reframe,
                ),
                queues,
            )
            keys.append(rendered.video_key)
            gpu_seconds += rendered.gpu_seconds
            cost += rendered.cost_usd
            await self._publish_short(inp, spec, rendered.video_key, queues)
        return ShortsResult(
            short_keys=keys, published=list(self._done), gpu_seconds=round(gpu_seconds, 2), cost_usd=round(cost, 6)
        )

    async def _publish_short(self, inp: ShortsInput, spec: ShortSpec, video_key: str, queues: TaskQueues) -> None:
        """Publish one rendered Short with its spec's metadata; it then counts as done in the status."""
        req = PublishRequest(
            inp.production_id,
            inp.channel,
            video_key,
            inp.thumbnail_key,
            inp.script_key,
            kind="short",
            extra={"index": spec.index, "title": spec.title, "start": spec.start, "end": spec.end},
        )
        published = await self._publish(req, queues)
        self._done.append(published.location)

    async def _publish(self, req: PublishRequest, queues: TaskQueues) -> PublishResult:
        """Publish one Short; YouTube's quota or a revoked account makes it wait, never fail.

        The quota waits for its reset (sent by the activity); a revoked account is tried again
        every half hour (nothing is called on YouTube while the channel is marked "reconnect
        needed", so the wait costs no quota) until someone reconnects it.
        """
        while True:
            try:
                return await execute(act.PUBLISH, req, queues)
            except ActivityError as e:
                cause = e.cause
                if (
                    not isinstance(cause, ApplicationError)
                    or cause.type not in WAITABLE_ERRORS
                    or not workflow.patched(PATCH_PUBLISH_WAITS)
                ):
                    raise
                if cause.type == "QuotaExhausted":
                    wait = quota_reset_time(cause, workflow.now()) + QUOTA_RESET_MARGIN - workflow.now()
                else:
                    wait = timedelta(minutes=30)
                await workflow.sleep(max(wait, timedelta(seconds=1)))

    async def _fan_out(self, inp: ShortsInput, plan: ShortsPlan, queues: TaskQueues) -> ShortsResult:
        jobs = [
            RenderJob(
                inp.production_id,
                inp.plan_key,
                inp.audio_key,
                inp.words_key,
                inp.niche,
                ProductionKeys(inp.production_id).short(spec.index),
                start_s=spec.start,
                end_s=spec.end,
                reframe=plan.reframe,
            )  # fmt: skip
            for spec in plan.specs
        ]
        renders = await asyncio.gather(
            *(render_fanout(job, inp.gpu_queue, act.GPU_RETRY, concurrency=inp.render_fanout) for job in jobs)
        )
        reports: list[QualityReport] = []
        measured_s = measured_usd = 0.0
        if workflow.patched(PATCH_SHORTS_QUALITY):
            measured = await asyncio.gather(
                *(
                    execute(act.MEASURE_QUALITY, self._quality_request(inp, spec, rendered), queues)
                    for spec, rendered in zip(plan.specs, renders, strict=True)
                )
            )
            reports = [m.report for m in measured]
            measured_s, measured_usd = sum(m.gpu_seconds for m in measured), sum(m.cost_usd for m in measured)

        async def on_youtube() -> None:
            for spec, rendered in zip(plan.specs, renders, strict=True):
                await self._publish_short(inp, spec, rendered.video_key, queues)

        if workflow.patched(PATCH_CROSS_POST):
            cross = await execute(
                act.PLAN_CROSS_POSTS,
                CrossPostPlanRequest(
                    inp.production_id, inp.channel, plan.specs, list(inp.platforms_off), dict(inp.platform_captions)
                ),
                queues,
            )
            videos = {
                spec.index: (r.video_key, spec.title, spec.end - spec.start)
                for spec, r in zip(plan.specs, renders, strict=True)
            }
            await asyncio.gather(
                on_youtube(),
                *(
                    self._cross_post(inp, platform, [s for s in cross.slots if s.platform == platform], videos, queues)
                    for platform in cross.platforms
                ),
            )
        else:
            await on_youtube()
        return ShortsResult(
            short_keys=[r.video_key for r in renders],
            published=list(self._done),
            gpu_seconds=round(sum(r.gpu_seconds for r in renders) + measured_s, 2),
            cost_usd=round(sum(r.cost_usd for r in renders) + measured_usd, 6),
            quality=reports,
            cross_posts=list(self._cross_posts),
        )

    async def _cross_post(
        self,
        inp: ShortsInput,
        platform: str,
        slots: list[CrossPostSlot],
        videos: dict[int, tuple[str, str, float]],
        queues: TaskQueues,
    ) -> None:
        """One platform's Shorts in order, each at its slot; its waits and failures hold only this platform."""
        for done, slot in enumerate(slots):
            if slot.at:
                wait = datetime.fromisoformat(slot.at) - workflow.now()
                if wait > timedelta(0):
                    self._platforms[platform] = f"{done}/{len(slots)} posted; next at its slot {slot.at}"
                    await workflow.sleep(wait)
            video_key, title, length = videos[slot.index]
            cover = min(inp.platform_covers.get(platform, 1.0), max(0.0, length - 0.1))  # a frame of this Short
            req = CrossPostRequest(
                inp.production_id, inp.channel, platform, slot.index, video_key, inp.script_key, title,
                inp.platform_captions.get(platform, ""), cover_s=round(cover, 3),
            )  # fmt: skip
            self._platforms[platform] = f"{done}/{len(slots)} posted; posting Short {slot.index + 1}"
            self._cross_posts.append(await self._post_until_done(req, queues))
        self._platforms[platform] = f"{len(slots)}/{len(slots)} posted"

    async def _post_until_done(self, req: CrossPostRequest, queues: TaskQueues) -> CrossPostResult:
        """Post one Short on one platform; a cap waits for its time, a revoked account for a reconnect,
        a failure for good for ``platform_retry`` (``tubeflow retry ID --platform P``).  Never fails."""
        platform = req.platform
        while True:
            try:
                return await execute(act.CROSS_POST, req, queues)
            except ActivityError as e:
                cause = e.cause
                kind = cause.type if isinstance(cause, ApplicationError) else ""
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or e)
                self._retries.discard(platform)
                self._reconnected.discard(platform)
                woken = lambda: platform in self._retries or platform in self._reconnected  # noqa: E731
                if kind == "PostingCapReached" and isinstance(cause, ApplicationError):
                    # ``retry`` tries once now (the cap was raised or the day reset); else the timer.
                    until = quota_reset_time(cause, workflow.now())
                    self._platforms[platform] = f"waiting: {message}"
                    wait: timedelta | None = max(until - workflow.now(), timedelta(seconds=1))
                elif kind == "AccountNeedsReconnect":
                    # The activity asks nothing of the platform while the account is marked, so the poll is free.
                    self._platforms[platform] = f"blocked: {message}"
                    wait = RECONNECT_POLL
                else:
                    self._platforms[platform] = f"needs attention: {message}"
                    wait = None  # failed for good: only ``tubeflow retry ID --platform P`` continues it
                try:
                    await workflow.wait_condition(woken, timeout=wait)
                except TimeoutError:
                    pass
                self._platforms[platform] = f"trying Short {req.index + 1} again"

    @staticmethod
    def _quality_request(inp: ShortsInput, spec: ShortSpec, rendered: RenderResult) -> QualityRequest:
        return QualityRequest(
            inp.production_id, f"short-{spec.index}", rendered.video_key, inp.plan_key,
            ProductionKeys(inp.production_id).short_quality_report(spec.index), inp.niche, inp.quality,
            render_boxes(rendered), start_s=spec.start, end_s=spec.end,
        )  # fmt: skip
