"""One way in for every knowledge function: an ``AsyncSession``, a session factory or the Database.

Activities hold the project's ``Database`` object; tests and the CLI may hold a bare
``AsyncSession`` or ``async_sessionmaker``.  :func:`session_scope` accepts any of them, so the
store functions are written once.  When it opens the session itself it also commits; when the
caller passes a session, the caller owns the transaction (we only flush).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from knowledge.models import POSTGRES_FTS_DDL, SQLITE_FTS_DDL, Coverage, Fact, Learning, Outcome
from tubeflow.db.base import Base

KNOWLEDGE_TABLES = [Fact.__table__, Learning.__table__, Coverage.__table__, Outcome.__table__]
_ready: weakref.WeakSet[Any] = weakref.WeakSet()  # sync engines already checked


@asynccontextmanager
async def session_scope(db: Any) -> AsyncIterator[AsyncSession]:
    """Yield an AsyncSession for ``db`` (session, sessionmaker, engine or the project's Database)."""
    if isinstance(db, AsyncSession):
        yield db
        await db.flush()
        return
    if isinstance(db, AsyncEngine):
        factory: Any = async_sessionmaker(db, expire_on_commit=False)
    elif isinstance(db, async_sessionmaker):
        factory = db
    elif callable(getattr(db, "session", None)):
        async with db.session() as session:
            yield session
            await session.commit()
        return
    else:
        raise TypeError(f"expected an AsyncSession, async_sessionmaker, AsyncEngine or Database, got {type(db)!r}")
    async with factory() as session:
        yield session
        await session.commit()


def _create(conn: Any) -> None:
    Base.metadata.create_all(conn, tables=KNOWLEDGE_TABLES)


async def ensure_knowledge_schema(session: AsyncSession) -> None:
    """Create the knowledge tables and the full-text index if missing (once per engine).

    ``create_all`` normally does this, but a database created before the knowledge module was
    imported lacks them; doing it here keeps research working on such a database.
    """
    key = getattr(session.bind, "sync_engine", None)
    if key is not None and key in _ready:
        return
    conn: AsyncConnection = await session.connection()
    await conn.run_sync(_create)
    dialect = conn.dialect.name
    for stmt in SQLITE_FTS_DDL if dialect == "sqlite" else POSTGRES_FTS_DDL if dialect == "postgresql" else ():
        await conn.execute(text(stmt))
    if dialect == "sqlite":
        # The FTS table may be new over existing rows (an older database): rebuild it from content.
        fts_rows = (await conn.execute(text("SELECT count(*) FROM knowledge_facts_fts_docsize"))).scalar_one()
        fact_rows = (await conn.execute(text("SELECT count(*) FROM knowledge_facts"))).scalar_one()
        if fts_rows != fact_rows:
            await conn.execute(text("INSERT INTO knowledge_facts_fts(knowledge_facts_fts) VALUES ('rebuild')"))
    if key is not None:
        _ready.add(key)
