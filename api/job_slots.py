"""Per-key video job slots that hold under concurrent requests.

Counting a key's running jobs in Temporal's visibility and then starting one is a race: a burst of
simultaneous ``POST /video/*`` all see the same count, and visibility lists a new workflow only
after a moment.  So each request reserves its slots under a lock before fetching inputs;
a reservation stays counted until the job it became is surely visible (``visible_within_s``) and
is dropped at once when the request fails.  Running jobs and fresh reservations are counted by
job id, so a job is never counted twice.

On SQLite (one machine) reservations live in this API process.  On PostgreSQL they are rows of
``job_slot_holds`` reserved under an advisory lock per key (:mod:`tubeflow.db.limits`), so a burst
spread over several API replicas still starts exactly the limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tubeflow.db import limits
from tubeflow.db.engine import Database

PENDING_S = 600.0  # a shared hold not yet bound to a job (inputs still fetching) is freed after this


class SlotsFull(Exception):
    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} active of {limit}")
        self.active = active
        self.limit = limit


@dataclass
class _Hold:
    job_id: str = ""  # "" while the request is still fetching its inputs
    until: float = math.inf


@dataclass
class Reservation:
    """The slots one request holds; ``started`` binds one to the job that was started."""

    holds: list[_Hold]
    visible_within_s: float
    clock: Callable[[], float]
    _next: int = field(default=0)

    def started(self, job_id: str) -> None:
        if self._next < len(self.holds):
            hold = self.holds[self._next]
            hold.job_id, hold.until = job_id, self.clock() + self.visible_within_s
            self._next += 1


class JobSlots:
    def __init__(self, visible_within_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.visible_within_s = visible_within_s
        self.clock = clock
        self._holds: dict[str, list[_Hold]] = {}
        # One lock for every key: its section is one visibility query, and a per-key lock table
        # would be one more thing to bound.
        self._lock = asyncio.Lock()

    def held(self, owner: str) -> int:
        return len(self._holds.get(owner, []))

    @asynccontextmanager
    async def reserve(
        self,
        owner: str,
        more: int,
        limit: int,
        running_ids: Callable[[], Awaitable[set[str]]],
        shared: Database | None = None,
    ) -> AsyncIterator[Reservation]:
        """Hold ``more`` slots for the block, or raise :class:`SlotsFull`; unused ones are freed after.

        With ``shared`` (a PostgreSQL database) the holds are that database's, seen by every replica."""
        if shared is not None:
            async with self._reserve_shared(shared, owner, more, limit, running_ids) as r:
                yield r
            return
        async with self._lock:
            now = self.clock()
            holds = [h for h in self._holds.get(owner, []) if h.until > now]
            running = await running_ids()
            active = len(running | {h.job_id for h in holds if h.job_id}) + sum(1 for h in holds if not h.job_id)
            if active + more > limit:
                self._keep(owner, holds)
                raise SlotsFull(active, limit)
            mine = [_Hold() for _ in range(more)]
            self._keep(owner, holds + mine)
        reservation = Reservation(mine, self.visible_within_s, self.clock)
        try:
            yield reservation
        finally:
            unused = {id(h) for h in mine if not h.job_id}
            if unused:
                self._keep(owner, [h for h in self._holds.get(owner, []) if id(h) not in unused])

    @asynccontextmanager
    async def _reserve_shared(
        self, db: Database, owner: str, more: int, limit: int, running_ids: Callable[[], Awaitable[set[str]]]
    ) -> AsyncIterator[Reservation]:
        active, ids = await limits.reserve_slots(db, owner, more, limit, running_ids, PENDING_S)
        if not ids:
            raise SlotsFull(active, limit)
        # Pending holds count until settled, so binding them to their jobs once the block ends is safe.
        reservation = Reservation([_Hold() for _ in ids], self.visible_within_s, self.clock)
        try:
            yield reservation
        finally:
            bound = {i: h.job_id for i, h in zip(ids, reservation.holds, strict=True) if h.job_id}
            unused = [i for i, h in zip(ids, reservation.holds, strict=True) if not h.job_id]
            await limits.settle_slots(db, bound, unused, self.visible_within_s)

    def _keep(self, owner: str, holds: list[_Hold]) -> None:
        if holds:
            self._holds[owner] = holds
        else:  # no table that grows with every key ever seen
            self._holds.pop(owner, None)
