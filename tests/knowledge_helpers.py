"""Databases for the knowledge tests: a fresh SQLite file per test, and a throw-away PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import knowledge.models  # noqa: F401  (registers the knowledge tables on the shared Base)
from tubeflow.db.base import Base

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _create_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@asynccontextmanager
async def sqlite_db(tmp_path: Path) -> AsyncIterator[async_sessionmaker]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}")
    await _create_all(engine)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def postgres_available() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=2)
        await conn.close()
        return True
    except Exception:
        return False


@asynccontextmanager
async def postgres_db() -> AsyncIterator[async_sessionmaker]:
    """A database of its own, so other engineers' tables in ``test`` are never touched."""
    import asyncpg

    name = f"tubeflow_knowledge_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    try:
        await _create_all(engine)
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
