"""Per-key video job slots without Temporal: a burst, a failed request, expiry, no double counting."""

from __future__ import annotations

import asyncio

import pytest

from api.job_slots import JobSlots, SlotsFull


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_gets_exactly_the_limit() -> None:
    slots = JobSlots()
    visible: set[str] = set()  # visibility that lags: nothing started shows up during the burst

    async def running() -> set[str]:
        await asyncio.sleep(0.01)  # a visibility query takes time; others arrive meanwhile
        return set(visible)

    async def request(i: int) -> str:
        try:
            async with slots.reserve("key-a", 1, 3, running) as r:
                await asyncio.sleep(0.02)  # fetching inputs
                r.started(f"job-{i}")
                return "started"
        except SlotsFull:
            return "refused"

    answers = await asyncio.gather(*(request(i) for i in range(10)))
    assert answers.count("started") == 3 and answers.count("refused") == 7
    assert slots.held("key-a") == 3
    assert slots.held("key-b") == 0  # other keys are not affected


async def test_failed_requests_free_their_slots_and_started_jobs_count_once() -> None:
    clock = Clock()
    slots = JobSlots(visible_within_s=10, clock=clock)
    visible: set[str] = set()

    async def running() -> set[str]:
        return set(visible)

    with pytest.raises(RuntimeError):
        async with slots.reserve("k", 2, 2, running):
            raise RuntimeError("the input could not be fetched")
    assert slots.held("k") == 0

    async with slots.reserve("k", 2, 3, running) as r:  # a batch of two; one item is refused
        r.started("j1")
    assert slots.held("k") == 1
    visible.add("j1")  # now visible as well as held: still one job
    async with slots.reserve("k", 2, 3, running) as r:
        r.started("j2")
        r.started("j3")
    with pytest.raises(SlotsFull) as full:
        async with slots.reserve("k", 1, 3, running):
            pass
    assert full.value.active == 3

    clock.now += 11  # past the visibility window: only what Temporal lists still counts
    visible.discard("j1")  # j1 finished
    async with slots.reserve("k", 3, 3, running):
        pass
    assert slots.held("k") == 0
