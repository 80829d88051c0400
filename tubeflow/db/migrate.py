"""Schema migrations: Alembic revisions shipped inside the package, applied under a lock.

Who runs them: :func:`tubeflow.db.engine.open_database`, i.e. every process at start (API, workers,
CLI, ``tubeflow dev``, the autoscaler), unless ``TUBEFLOW_DATABASE_AUTO_MIGRATE=false``; then only
``tubeflow db upgrade`` does, and a process finding the database behind refuses to start.  Several
processes starting at once are safe: the upgrade runs in one transaction that first takes a lock
(``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so the second one waits and
then finds nothing to do.  A database made by ``create_all`` before migrations existed has no
``alembic_version`` table; the baseline revision creates only what is missing, so it is upgraded in
place with its rows.

On SQLite, foreign keys are switched off for the upgrade (``PRAGMA foreign_keys`` cannot change inside
a transaction): Alembic's batch mode rebuilds a table by copy-and-drop, and dropping ``productions``
with foreign keys on would cascade-delete every review and asset.  ``PRAGMA foreign_key_check`` runs
before commit instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tubeflow.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# Any constant: serialises upgrades between processes starting at once on PostgreSQL.
PG_MIGRATION_LOCK = 0x7475626566  # "tubef"
# Objects made with raw SQL that no model describes (SQLite FTS5 table and its shadow tables, the
# PostgreSQL GIN expression index); autogenerate must neither drop nor "add" them.
RAW_SQL_PREFIX = "knowledge_facts_fts"


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """Autogenerate filter shared by env.py and the tests."""
    if name is None:
        return True
    if type_ in ("table", "index") and name.startswith(RAW_SQL_PREFIX):
        return False
    return name != VERSION_TABLE


def alembic_config(connection: Connection | None = None, metadata: MetaData | None = None) -> Config:
    """A Config pointing at the packaged migrations; no alembic.ini needed (an installed wheel has none)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    cfg.attributes["target_metadata"] = metadata
    return cfg


def heads() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _sqlite_foreign_keys(conn: Connection, on: bool) -> None:
    # On the DBAPI connection: through SQLAlchemy the statement would autobegin a transaction, and
    # SQLite ignores this pragma inside one.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def run_in_transaction(engine: AsyncEngine, fn: Callable[[Connection], Any], *, lock: bool) -> Any:
    """Coroutine running ``fn`` on a sync connection inside one locked transaction."""

    async def go() -> Any:
        async with engine.connect() as conn:
            sqlite = engine.dialect.name == "sqlite"
            if sqlite and lock:
                await conn.run_sync(_sqlite_foreign_keys, False)
            try:
                async with conn.begin():  # BEGIN IMMEDIATE on SQLite: the write lock, up front
                    if lock and engine.dialect.name == "postgresql":
                        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
                    result = await conn.run_sync(fn)
                    if sqlite and lock:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            raise ConfigError(f"the upgrade would leave rows with missing parents: {broken[:5]}")
                    return result
            finally:
                if sqlite and lock:
                    await conn.run_sync(_sqlite_foreign_keys, True)

    return go()


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _alembic_turn() -> asyncio.Lock:
    """One upgrade at a time within a process: Alembic keeps its running context in module globals
    (``alembic.context``, ``alembic.op``), and two upgrades interleaving on one event loop (several
    databases, or one opened twice) would swap them under each other.  Between processes the
    database lock serialises."""
    loop = asyncio.get_running_loop()
    if loop not in _turns:
        _turns[loop] = asyncio.Lock()
    return _turns[loop]


def _name(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


async def current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is at (empty for a new database or one made by ``create_all``)."""
    return tuple(await run_in_transaction(engine, current_revisions, lock=False))


async def upgrade(engine: AsyncEngine, target: str = "head") -> tuple[str, ...]:
    """Bring the schema to ``target``; returns the revisions before.  Idempotent and concurrency-safe."""

    def run(conn: Connection) -> tuple[str, ...]:
        before = current_revisions(conn)
        command.upgrade(alembic_config(conn), target)
        return before

    async with _alembic_turn():
        before: tuple[str, ...] = await run_in_transaction(engine, run, lock=True)
    if set(before) != set(heads()):
        log.info("database %s upgraded from %s to %s", _name(engine), ",".join(before) or "nothing", target)
    return before


async def check_at_head(engine: AsyncEngine) -> None:
    """Refuse a database behind this code (auto-migrate off); only warn when it is ahead (a rolling deploy)."""
    have = set(await current(engine))
    want = set(heads())
    if have == want:
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if have and not have <= known:
        log.warning(
            "database %s is at %s, newer than this code (%s)", _name(engine), ",".join(sorted(have)), ",".join(want)
        )
        return
    raise ConfigError(
        f"the database {_name(engine)} is at revision {','.join(sorted(have)) or 'none'}, this code needs "
        f"{','.join(sorted(want))}: run `tubeflow db upgrade` (TUBEFLOW_DATABASE_AUTO_MIGRATE is off)"
    )


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002...: two branches adding the same number show up as two heads."""
    numbers = [
        int(m.group(1)) for p in (MIGRATIONS_DIR / "versions").glob("*.py") if (m := re.match(r"(\d+)_", p.name))
    ]
    return f"{max(numbers, default=0) + 1:04d}"


def render_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Write our column types as the plain types they store, so a revision never imports model code."""
    from tubeflow.db.types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


async def write_revision(engine: AsyncEngine, metadata: MetaData, message: str) -> Path:
    """Autogenerate the next revision from the difference between ``db`` (at head) and ``metadata``."""

    def run(conn: Connection) -> Path:
        script = command.revision(alembic_config(conn, metadata), message, autogenerate=True, rev_id=next_revision_id())
        if script is None or isinstance(script, list):
            raise ConfigError("alembic wrote no single revision")
        return Path(script.path)

    path: Path = await run_in_transaction(engine, run, lock=False)
    return path
