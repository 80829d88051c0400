"""Wake the live feed when the events or productions tables change, instead of polling them.

Each /api/events stream used to query the database every half second, whatever happened: many
open dashboards meant a steady load for nothing.  Now one source per API process watches for
changes and wakes the waiting streams, which then query once:

- PostgreSQL: ``LISTEN tubeflow_changes``.  Triggers (migration 0005) ``NOTIFY`` on every insert
  into ``events`` and update of ``productions``, whichever process writes (workers, CLI, API).
- SQLite: the database file and its WAL change on every commit by any process; two ``stat``
  calls every 0.2 s notice that without touching the database.

The source runs only while some stream waits.  Streams also wake on their own after a fallback
interval, so a lost notification costs latency, never an update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger("tubeflow.api.notify")
CHANNEL = "tubeflow_changes"
FILE_POLL_S = 0.2


class ChangeNotifier:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.generation = 0  # moves on every change seen; a stream compares it before and after a query
        self._waiters: set[asyncio.Future[None]] = set()
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None

    def fire(self) -> None:
        self.generation += 1
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_result(None)

    async def wait(self, seen: int, within_s: float) -> bool:
        """Until the generation moves past ``seen`` (True) or ``within_s`` passes (False)."""
        if self.generation != seen:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, within_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(fut)

    @contextlib.asynccontextmanager
    async def subscribed(self) -> AsyncIterator[None]:
        """Keep the change source running while the block runs."""
        self._subscribers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="tubeflow-change-notifier")
        try:
            yield
        finally:
            self._subscribers -= 1
            if self._subscribers == 0 and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _watch(self) -> None:
        url = make_url(self.db_url)
        try:
            if url.get_backend_name() == "postgresql":
                await self._listen_postgres(url)
            elif url.database and url.database != ":memory:":
                await self._watch_file(Path(url.database))
        except asyncio.CancelledError:
            raise
        except Exception:  # streams still wake on their fallback interval
            log.exception("change notifications stopped")

    async def _watch_file(self, path: Path) -> None:
        def stamp() -> tuple[Any, ...]:
            out: list[Any] = []
            for p in (path, Path(f"{path}-wal")):
                try:
                    st = os.stat(p)
                    out += [st.st_mtime_ns, st.st_size]
                except FileNotFoundError:
                    out += [None, None]
            return tuple(out)

        last = stamp()
        while True:
            await asyncio.sleep(FILE_POLL_S)
            now = stamp()
            if now != last:
                last = now
                self.fire()

    async def _listen_postgres(self, url: Any) -> None:
        import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, lambda *_args: self.fire())
                self.fire()  # anything that changed while not listening
                await lost.wait()
            except (OSError, asyncpg.PostgresError, TimeoutError) as e:
                log.warning("LISTEN %s failed (%s); retrying in 2 s", CHANNEL, e)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(2)
