"""Helpers for driving real productions in tests: workers in-process, polling the status query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from temporalio.client import Client

from service.client import get_status
from service.worker import build_gpu_worker, build_main_worker
from tubeflow.contracts import ProductionStatus
from tubeflow.db.engine import Database
from tubeflow.db.records import Production
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage


@dataclass
class Stack:
    client: Client
    settings: Settings
    storage: Storage
    db: Database


@asynccontextmanager
async def running_stack(
    client: Client, settings: Settings, *, main: bool = True, gpu: bool = True
) -> AsyncIterator[Stack]:
    from tubeflow.db.engine import open_database

    storage = open_storage(settings)
    db = await open_database(settings)
    workers = []
    if main:
        workers.append(build_main_worker(client, settings, storage, db))
    if gpu:
        workers.append(build_gpu_worker(client, settings, storage))
    try:
        for w in workers:
            await w.__aenter__()
        yield Stack(client, settings, storage, db)
    finally:
        for w in reversed(workers):
            await w.__aexit__(None, None, None)
        await db.close()


async def wait_for(
    client: Client,
    production_id: str,
    predicate: Callable[[ProductionStatus], bool],
    timeout_s: float = 120,
    what: str = "condition",
) -> ProductionStatus:
    deadline = time.monotonic() + timeout_s
    st: ProductionStatus | None = None
    while time.monotonic() < deadline:
        try:
            st = await get_status(client, production_id)
        except Exception:  # the first workflow task may not have run yet
            st = None
        if st is not None:
            if predicate(st):
                return st
            if st.state in ("failed", "cancelled", "completed") and not predicate(st):
                raise AssertionError(f"production ended ({st.state}: {st.error}) before {what}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last status: {st}")


async def wait_checkpoint(
    client: Client, production_id: str, checkpoint: str, attempt: int = 1, timeout_s: float = 180
) -> ProductionStatus:
    return await wait_for(
        client,
        production_id,
        lambda s: s.checkpoint == checkpoint and s.attempts.get(checkpoint) == attempt,
        timeout_s,
        f"checkpoint {checkpoint} attempt {attempt}",
    )


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str, step: float = 0.2) -> None:
    """Polls ``predicate`` until it holds; an AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def wait_for_row(db: Database, production_id: str, state: str, timeout_s: float = 10.0) -> Production:
    """The production's database row once it says ``state``.  The row follows the workflow through
    its snapshot activity, a moment after the status query changed: read it right away and a busy
    (or very quick) machine sees the state before."""
    from tubeflow.db import repo

    async def there() -> bool:
        return (await repo.get_production(db, production_id)).state == state

    await wait_until(there, timeout_s, f"production {production_id}'s row to say {state}", step=0.1)
    return await repo.get_production(db, production_id)
