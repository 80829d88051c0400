"""Database fixtures for any test: ``database`` runs the test on SQLite and on the local PostgreSQL.

Use them by listing this module in a test module's ``pytest_plugins = ["tests.dbfixtures"]`` (importing
the fixtures by name works too, but trips ruff's F811).  Each PostgreSQL test gets a database of its own
(``tubeflow_test_<random>``, dropped afterwards), so parallel runs and leftover tables from an
aborted run cannot collide; its URL is an ordinary ``postgresql+asyncpg://`` URL, so it can also be
handed to worker subprocesses through ``TUBEFLOW_DATABASE_URL``.

``TUBEFLOW_TEST_POSTGRES`` overrides the admin DSN (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tubeflow.db.engine import Database

ADMIN_DSN = os.environ.get("TUBEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _admin_connection() -> asyncpg.Connection:
    """Connect as the admin, or skip the test when no PostgreSQL server answers."""
    try:
        return await asyncpg.connect(ADMIN_DSN, timeout=5)
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as e:
        pytest.skip(f"PostgreSQL is unreachable at {ADMIN_DSN} ({e}); set TUBEFLOW_TEST_POSTGRES to test it")


@asynccontextmanager
async def temporary_postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for the duration of the block, dropped afterwards."""
    name = f"tubeflow_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(ADMIN_DSN).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin = await _admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'tubeflow-test.db'}"


@pytest_asyncio.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database, once for SQLite (a file under tmp_path) and once for PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async with temporary_postgres_url() as url:
        yield url


@pytest_asyncio.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A URL to an empty PostgreSQL database only (skipped when the server is unreachable)."""
    async with temporary_postgres_url() as url:
        yield url


@pytest_asyncio.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A ready :class:`Database` (migrated to head) on each backend."""
    db = Database(db_url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.close()
