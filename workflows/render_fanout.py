"""The fan-out render, run inside the calling workflow (ProductionWorkflow, ShortsWorkflow).

One ``render_layout`` activity cuts the timeline once; then every missing segment is its own
``render_segment`` activity on the GPU queue (its own retries and heartbeats, any worker), the
soundtrack is one ``render_soundtrack`` beside them, and ``join_render`` stream-copies the
segments and muxes the soundtrack.  All segments are scheduled at once unless ``concurrency``
bounds them, so the GPU queue's backlog shows how much of the video is left and the autoscaler
adds workers for one long production.  A killed worker costs the segment it was encoding.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_calls import TaskQueues
from workflows.activity_calls import start as start_activity

with workflow.unsafe.imports_passed_through():
    from tubeflow import activity_defs as act
    from tubeflow.activity_defs import ActivityDef
    from tubeflow.contracts import RenderResult
    from tubeflow.keys import segment_key
    from tubeflow.render_contracts import (
        JoinRequest,
        RenderJob,
        SegmentRequest,
        SegmentResult,
        SoundtrackRequest,
    )

A = TypeVar("A")
T = TypeVar("T")
# workflow.patched id guarding every switch from one render activity to the fan-out.
PATCH_RENDER_FANOUT = "render-fanout"
OnSegment = Callable[[int, int], Awaitable[None]]  # (segments finished, segments total)


async def render_fanout(
    job: RenderJob,
    gpu_queue: str,
    retry: RetryPolicy,
    *,
    concurrency: int = 0,
    heartbeat: timedelta = timedelta(seconds=60),
    on_segment: OnSegment | None = None,
) -> RenderResult:
    """Render ``job`` as one activity per segment; returns the joined video's result with summed cost."""

    queues = TaskQueues(main="", gpu=gpu_queue)  # every fan-out activity is a GPU one

    def start(d: ActivityDef[A, T], arg: A) -> workflow.ActivityHandle[T]:
        """A declared GPU activity, with the caller's retry policy and heartbeat."""
        return start_activity(d, arg, queues, retry=retry, heartbeat=heartbeat)

    lay = await start(act.RENDER_LAYOUT, job)
    sound = start(act.RENDER_SOUNDTRACK, SoundtrackRequest(job, lay))
    total = len(lay.segment_frames)
    keys = {i: segment_key(lay.prefix, i) for i in lay.stored}
    queue = [i for i in range(total) if i not in keys]
    limit = concurrency if concurrency > 0 else max(1, len(queue))
    results: list[SegmentResult] = []
    running: list[workflow.ActivityHandle[SegmentResult]] = []
    if on_segment is not None and keys:
        await on_segment(len(keys), total)
    try:
        while queue or running:
            while queue and len(running) < limit:
                running.append(start(act.RENDER_SEGMENT, SegmentRequest(job, lay, queue.pop(0))))
            finished, running = await workflow.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for res in sorted((f.result() for f in finished), key=lambda r: r.index):
                keys[res.index] = res.key
                results.append(res)
            if on_segment is not None:
                await on_segment(len(keys), total)
        soundtrack = await sound
    except BaseException:
        # One segment failed for good (or the workflow is cancelled): stop the others' encodes.
        for handle in (*running, sound):
            handle.cancel()
        raise
    joined = await start(act.JOIN_RENDER, JoinRequest(job, lay, [keys[i] for i in range(total)], soundtrack.key))
    pieces = [lay.gpu_seconds, soundtrack.gpu_seconds, joined.gpu_seconds, *(r.gpu_seconds for r in results)]
    costs = [lay.cost_usd, soundtrack.cost_usd, joined.cost_usd, *(r.cost_usd for r in results)]
    encoded = [r for r in results if r.rendered]
    return dataclasses.replace(
        joined,
        segments_rendered=len(encoded),
        frames_encoded=sum(r.frames for r in encoded),
        encoder=encoded[0].encoder if encoded else joined.encoder,
        gpu_seconds=round(sum(pieces), 2),
        cost_usd=round(sum(costs), 6),
    )
