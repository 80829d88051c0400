"""Limits every API replica shares, kept in PostgreSQL: token buckets, open event streams, job slots.

A bucket is one row changed by one atomic upsert (``INSERT … ON CONFLICT … DO UPDATE … RETURNING``),
so two replicas taking from it at once are serialised by the row lock and never both get the last
token.  Counting-then-inserting (open streams, job slots) is a race an upsert can't close, so it runs
under ``pg_advisory_xact_lock`` on the key, released with the transaction.  All times are the
database's clock (epoch seconds): replicas on hosts whose clocks differ still agree.

Only for PostgreSQL: on SQLite (one machine, the default) the API keeps these in process memory.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import cast as as_type

from sqlalchemy import Float, Table, and_, case, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from tubeflow.db.engine import Database
from tubeflow.db.models import JobSlotHoldRow, OpenStreamRow, RateBucketRow


def _table(model: type[object]) -> Table:
    return as_type(Table, model.__table__)  # type: ignore[attr-defined]


PRUNE_EVERY_S = 60.0
_pruned_at: dict[str, float] = {}


def _now() -> ColumnElement[float]:
    # The transaction's start time: one value for every use within a statement or transaction.
    return cast(func.extract("epoch", func.now()), Float)


async def _lock(s: AsyncSession, what: str) -> None:
    await s.execute(select(func.pg_advisory_xact_lock(func.hashtext(what))))


async def take(db: Database, name: str, rate_per_s: float, burst: float, cost: float = 1.0) -> float:
    """Spend ``cost`` tokens of bucket ``name``: 0.0 when allowed, else the seconds until it would be."""
    t = _table(RateBucketRow)
    now = _now()
    refilled = func.least(burst, t.c.tokens + (now - t.c.stamp) * rate_per_s)
    first_ok = burst >= cost
    stmt = (
        pg_insert(t)
        .values(
            name=name,
            tokens=burst - cost if first_ok else burst,
            stamp=now,
            ok=first_ok,
            rate_per_s=rate_per_s,
            burst=burst,
        )  # fmt: skip
        .on_conflict_do_update(
            index_elements=[t.c.name],
            set_={
                "tokens": case((refilled >= cost, refilled - cost), else_=refilled),
                "ok": refilled >= cost,
                "stamp": now,
                "rate_per_s": rate_per_s,
                "burst": burst,
            },
        )
        .returning(t.c.tokens, t.c.ok)
    )
    async with db.session() as s:
        tokens, ok = (await s.execute(stmt)).one()
    await _maybe_prune(db)
    return 0.0 if ok else (cost - float(tokens)) / rate_per_s


async def take_all(db: Database, names: Sequence[str], rate_per_s: float, burst: float, cost: float = 1.0) -> None:
    """Spend from several buckets at once (a wrong key: its client's and its prefix's)."""
    for name in names:
        await take(db, name, rate_per_s, burst, cost)


async def peek(db: Database, names: Sequence[str], cost: float = 1.0) -> float:
    """The longest wait :func:`take` would answer for any of ``names``, spending nothing (0.0 if unknown)."""
    t = _table(RateBucketRow)
    q = select(t.c.tokens, t.c.rate_per_s, t.c.burst, _now() - t.c.stamp).where(t.c.name.in_(list(names)))
    async with db.session() as s:
        rows = (await s.execute(q)).all()
    wait = 0.0
    for tokens, rate, burst, age in rows:
        have = min(float(burst), float(tokens) + max(0.0, float(age)) * float(rate))
        if have < cost:
            wait = max(wait, (cost - have) / float(rate))
    return wait


async def _maybe_prune(db: Database) -> None:
    """Drop buckets that have refilled to full: they answer exactly as a missing one would.

    Anyone can make up a bucket name (a client address, a key prefix), so the table must not grow
    with every name ever seen; once a minute per process is plenty.
    """
    mono = time.monotonic()
    if mono - _pruned_at.get(db.url, -1e9) < PRUNE_EVERY_S:
        return
    _pruned_at[db.url] = mono
    t = _table(RateBucketRow)
    async with db.session() as s:
        await s.execute(delete(t).where(t.c.stamp + (t.c.burst - t.c.tokens) / t.c.rate_per_s < _now()))


# ---------------------------------------------------------------- open event streams


async def open_stream(db: Database, owner: str, stream_id: str, cap: int, ttl_s: float) -> int | None:
    """Count a new stream of ``owner`` unless it already has ``cap`` live ones (then None, else how many)."""
    t = _table(OpenStreamRow)
    async with db.session() as s:
        await _lock(s, f"streams:{owner}")
        await s.execute(delete(t).where(and_(t.c.owner == owner, t.c.expires_at < _now())))
        live = int((await s.execute(select(func.count()).select_from(t).where(t.c.owner == owner))).scalar_one())
        if live >= cap:
            return None
        await s.execute(pg_insert(t).values(id=stream_id, owner=owner, expires_at=_now() + ttl_s))
    return live + 1


async def renew_streams(db: Database, stream_ids: Sequence[str], ttl_s: float) -> None:
    """Keep this process's open streams counted for another ``ttl_s`` (its heartbeat)."""
    if not stream_ids:
        return
    t = _table(OpenStreamRow)
    async with db.session() as s:
        await s.execute(update(t).where(t.c.id.in_(list(stream_ids))).values(expires_at=_now() + ttl_s))


async def close_stream(db: Database, stream_id: str) -> None:
    t = _table(OpenStreamRow)
    async with db.session() as s:
        await s.execute(delete(t).where(t.c.id == stream_id))


# ---------------------------------------------------------------- video job slots


async def reserve_slots(
    db: Database, owner: str, more: int, limit: int, running_ids: Callable[[], Awaitable[set[str]]], pending_s: float
) -> tuple[int, list[int]]:
    """(active, hold ids): ``more`` holds for ``owner``, or no ids when ``active + more`` would pass ``limit``.

    Held under the key's advisory lock through the visibility query, so replicas reserving for the
    same key take turns; a hold not yet bound to a job expires after ``pending_s`` (a replica that
    died mid-request frees its slots then).
    """
    t = _table(JobSlotHoldRow)
    async with db.session() as s:
        await _lock(s, f"slots:{owner}")
        await s.execute(delete(t).where(and_(t.c.owner == owner, t.c.until < _now())))
        held = [str(j) for j in (await s.execute(select(t.c.job_id).where(t.c.owner == owner))).scalars()]
        running = await running_ids()
        active = len(running | {j for j in held if j}) + sum(1 for j in held if not j)
        if active + more > limit:
            return active, []
        ids = [
            int(
                (
                    await s.execute(
                        pg_insert(t).values(owner=owner, job_id="", until=_now() + pending_s).returning(t.c.id)
                    )
                ).scalar_one()
            )  # fmt: skip
            for _ in range(more)
        ]
    return active, ids


async def settle_slots(db: Database, bound: dict[int, str], unused: Sequence[int], visible_within_s: float) -> None:
    """Bind holds to the jobs they became (counted until surely visible) and free the unused ones."""
    t = _table(JobSlotHoldRow)
    async with db.session() as s:
        for hold_id, job_id in bound.items():
            await s.execute(update(t).where(t.c.id == hold_id).values(job_id=job_id, until=_now() + visible_within_s))
        if unused:
            await s.execute(delete(t).where(t.c.id.in_(list(unused))))


async def held_slots(db: Database, owner: str) -> int:
    t = _table(JobSlotHoldRow)
    async with db.session() as s:
        q = select(func.count()).select_from(t).where(and_(t.c.owner == owner, t.c.until >= _now()))
        return int((await s.execute(q)).scalar_one())
