"""Databases for the knowledge tests: a fresh SQLite file per test, and a throw-away PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.dbfixtures import temporary_postgres_url
from tubeflow.db.engine import Database


@asynccontextmanager
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}")
    try:
        await db.upgrade()
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def postgres_db() -> AsyncIterator[Database]:
    """A database of its own, so other engineers' tables in ``test`` are never touched.

    Skipped where no server answers, failed instead under CI (see tests/dbfixtures.py).
    """
    async with temporary_postgres_url() as url:
        db = Database(url)
        try:
            await db.upgrade()
            yield db
        finally:
            await db.close()
