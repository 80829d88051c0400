"""Opening the database: one async engine, sessions as units of work, the schema migrated on open.

SQLite (the offline default) is shared by separate processes (workers, API, CLI), so every
connection turns on WAL (readers never block the writer), foreign keys, and a busy timeout, and
every transaction starts with ``BEGIN IMMEDIATE``: a read-then-write transaction then waits for
the write lock up front instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

import tubeflow.db.models  # noqa: F401  (registers the tables on Base.metadata)
from tubeflow.errors import ConfigError, TransientError
from tubeflow.settings import Settings

SQLITE_BUSY_TIMEOUT_S = 30


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event decide when a transaction starts (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA foreign_keys = ON")
    _wal(cur)
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _wal(cur: Any) -> None:
    """WAL is kept in the file, and switching to it fails at once ("database is locked", no busy wait)
    while another connection is open: processes opening a new database together retry instead."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cur.execute("PRAGMA journal_mode")
            if str(cur.fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An async engine plus a session factory; pass it to every function in :mod:`tubeflow.db.repo`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as e:
            raise ConfigError(f"TUBEFLOW_DATABASE_URL {url!r} is not a database URL: {e}") from e
        self.url = url
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:"):
                # One shared connection, or every session would see its own empty database.
                kwargs["poolclass"] = StaticPool
            else:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        elif self.dialect == "postgresql":
            kwargs["pool_pre_ping"] = True
        else:
            raise ConfigError(
                f"unsupported database {self.dialect!r} in {url!r}: use sqlite+aiosqlite:///path.db "
                "or postgresql+asyncpg://user:pass@host/db"
            )
        try:
            self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        except Exception as e:  # a missing driver, e.g. postgresql:// without +asyncpg
            raise ConfigError(f"cannot use database URL {url!r}: {e}") from e
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def upgrade(self) -> None:
        """Apply the schema migrations this code ships; safe to call again and from several processes at once."""
        from tubeflow.db.migrate import upgrade

        await upgrade(self.engine)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends normally, rolled back on an exception."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def close(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


async def open_database(settings: Settings) -> Database:
    """The configured database with its schema up to date (every process starts here).

    With ``TUBEFLOW_DATABASE_AUTO_MIGRATE`` on (the default) it applies missing migrations; off, it
    only checks and refuses a database that ``tubeflow db upgrade`` has not brought up to date.
    """
    from tubeflow.db.migrate import check_at_head

    db = Database(settings.resolved_database_url())
    try:
        if settings.database_auto_migrate:
            await db.upgrade()
        else:
            await check_at_head(db.engine)
    except ConfigError:
        await db.close()
        raise
    except Exception as e:
        await db.close()
        if _is_connection_problem(e):
            raise TransientError(f"cannot reach the database at {db!r}: {e}; is the server running?") from e
        raise ConfigError(f"cannot open the database at {db!r}: {e}") from e
    return db


def _is_connection_problem(exc: BaseException) -> bool:
    """A refused or timed-out connection is worth retrying; a wrong database name or password is not."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | TimeoutError):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False
