"""One way in for every knowledge function: an ``AsyncSession``, a session factory or the Database.

Activities hold the project's ``Database`` object; tests and the CLI may hold a bare
``AsyncSession`` or ``async_sessionmaker``.  :func:`session_scope` accepts any of them, so the
store functions are written once.  When it opens the session itself it also commits; when the
caller passes a session, the caller owns the transaction (we only flush).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


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
