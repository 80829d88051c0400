"""Database fixtures for any test: ``database`` runs the test on SQLite and on the local PostgreSQL.

Use them by listing this module in a test module's ``pytest_plugins = ["tests.dbfixtures"]`` (importing
the fixtures by name works too, but trips ruff's F811).  Each PostgreSQL test gets a database of its own
(``tubeflow_test_<random>``, dropped afterwards), so parallel runs and leftover tables from an
aborted run cannot collide; its URL is an ordinary ``postgresql+asyncpg://`` URL, so it can also be
handed to worker subprocesses through ``TUBEFLOW_DATABASE_URL``.

``TUBEFLOW_TEST_POSTGRES`` overrides the admin DSN (default ``postgresql://postgres@127.0.0.1:5432/test``).
Where no server answers, a PostgreSQL test is skipped on a developer's machine but fails under CI (the
``CI`` environment variable set, as every CI service sets it): there a skip would quietly drop the whole
PostgreSQL path from the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tubeflow.db.engine import Database

ADMIN_DSN = os.environ.get("TUBEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def postgres_unreachable(error: BaseException) -> NoReturn:
    """Skip this test (fail it under CI), saying how to give the tests a server."""
    how = (
        "start one there (e.g. `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust "
        "-e POSTGRES_DB=test postgres:16`) or set TUBEFLOW_TEST_POSTGRES to an admin DSN "
        "(postgresql://USER[:PASSWORD]@HOST:PORT/DB) of a server the tests may create databases on"
    )
    if under_ci():
        pytest.fail(f"CI is set and PostgreSQL is unreachable at {ADMIN_DSN} ({error}): {how}", pytrace=False)
    pytest.skip(f"PostgreSQL is unreachable at {ADMIN_DSN} ({error}); {how}")


async def _admin_connection() -> asyncpg.Connection:
    """Connect as the admin, or skip the test (fail it under CI) when no PostgreSQL server answers."""
    try:
        return await asyncpg.connect(ADMIN_DSN, timeout=5)
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as e:
        postgres_unreachable(e)


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
    """A URL to an empty PostgreSQL database only (skipped, or failed under CI, when the server is unreachable)."""
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
