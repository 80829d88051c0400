"""Schema migrations on SQLite and PostgreSQL: models and revisions agree, old databases upgrade with their rows.

"Old" is the schema ``create_all`` made before migrations existed, frozen as SQL under tests/data/ (dumped
from main at 6e07393 with every model module imported), so the test does not trust the baseline revision
to describe it.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from autoscaler.costs import CostLedger
from cli.main import schema_metadata
from knowledge.coverage import list_coverage
from knowledge.search import rank_facts
from knowledge.store import get_learnings, list_outcomes
from tubeflow.db import migrate, repo
from tubeflow.db.engine import Database, open_database
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.dbfixtures"]  # db_url: an empty database on SQLite and on PostgreSQL

DATA = Path(__file__).parent / "data"
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
KEY = "tfk_before-migrations"


def _differences(conn: Connection, metadata: sa.MetaData) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"include_name": migrate.include_name, "compare_type": True})
    return list(compare_metadata(ctx, metadata))


async def differences(db: Database, metadata: sa.MetaData | None = None) -> list[Any]:
    meta = metadata if metadata is not None else schema_metadata()
    async with db.engine.connect() as conn:
        return list(await conn.run_sync(_differences, meta))


def test_one_head() -> None:
    """Two branches that each added revision N leave two heads: renumber one after rebasing."""
    assert len(migrate.heads()) == 1, f"several migration heads {migrate.heads()}: renumber the newer revision"


async def test_models_and_migrations_agree(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.upgrade()
        assert await differences(db) == []
        # The comparison would see a model change the migrations lack.
        changed = sa.MetaData()
        for table in schema_metadata().tables.values():
            table.to_metadata(changed)
        sa.Table("productions", changed, sa.Column("new_column", sa.Text()), extend_existing=True)
        assert [d[0] for d in await differences(db, changed)] == ["add_column"]
    finally:
        await db.close()


# ------------------------------------------------------------------ a database from before migrations


async def _load_old_schema(db: Database) -> None:
    script = (DATA / f"schema_before_migrations.{'sqlite' if db.dialect == 'sqlite' else 'postgres'}.sql").read_text()
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        if db.dialect == "sqlite":
            await driver.executescript(script)
        else:
            await driver.execute(script)
        await conn.commit()


def _fill(conn: Connection) -> None:
    """One row in every table, written through the reflected old tables (not today's models)."""
    meta = sa.MetaData()
    meta.reflect(conn)
    at = T0.replace(tzinfo=None) if conn.dialect.name == "sqlite" else T0  # how UTCDateTime stored it

    def put(table: str, **values: Any) -> Any:
        key = conn.execute(meta.tables[table].insert().values(**values)).inserted_primary_key
        assert key is not None
        return key[0]

    channel_id = put("channels", name="sky", niche="science", created_at=at, settings={"voice": "joe"})
    put(
        "productions",
        id="p1",
        channel_id=channel_id,
        topic="Why is the sky blue?",
        niche="science",
        workflow_id="production-p1",
        run_id="run-1",
        stage="render",
        state="running",
        progress=55.0,
        checkpoint=None,
        detail="rendering",
        title="Blue skies",
        error=None,
        artifacts={"script": "productions/p1/script.json"},
        outputs={},
        created_at=at,
        updated_at=at,
        finished_at=None,
        snapshot_at=at,
        cost_usd=0.25,
    )
    put(
        "reviews",
        production_id="p1",
        stage="script",
        approved=True,
        reviewer="ana",
        feedback="good",
        attempt=1,
        at=at,
        note="",
    )
    put("assets", production_id="p1", kind="script", key="productions/p1/script.json", created_at=at, meta={"n": 1})
    put("api_keys", name="ci", role="editor", key_hash=repo.hash_api_key(KEY), created_at=at, revoked=False)
    put("events", production_id="p1", kind="stage", payload={"stage": "render"}, at=at)
    put(
        "knowledge_facts",
        niche="science",
        channel=None,
        claim="Rayleigh scattering favours short wavelengths.",
        claim_key="k1",
        source="notes",
        origin="notes",
        topic="why is the sky blue",
        language="en",
        confidence=0.9,
        first_seen=T0,
        last_seen=T0,
        expires_at=None,
    )
    put(
        "knowledge_learnings",
        niche="science",
        channel="sky",
        text="shorter intros",
        origin="review:script",
        weight=1.0,
        created_at=T0,
    )
    put(
        "knowledge_coverage",
        channel="sky",
        niche="science",
        topic="Why is the sky blue?",
        angle="",
        production_id="p1",
        published_at=T0,
    )
    put(
        "knowledge_outcomes",
        production_id="p1",
        channel="sky",
        niche="science",
        result="published",
        detail="",
        recorded_at=T0,
    )
    put(
        "gpu_usage",
        provider="runpod",
        instance_id="pod1",
        workflow_id="production-p1",
        production_id="p1",
        day="2026-11-01",
        seconds=3600.0,
        price_per_hour=0.5,
        cost_usd=0.5,
        updated_at=T0,
    )


async def _assert_everything_is_there(db: Database) -> None:
    p = await repo.get_production(db, "p1")
    assert (p.channel, p.stage, p.progress, p.title, p.created_at) == ("sky", "render", 55.0, "Blue skies", T0)
    assert p.artifacts == {"script": "productions/p1/script.json"} and p.cost_usd == 0.25
    assert (await repo.get_channel(db, "sky")).settings == {"voice": "joe"}
    assert [(r.stage, r.approved, r.at) for r in await repo.list_reviews(db, "p1")] == [("script", True, T0)]
    assert [(a.kind, a.meta) for a in await repo.list_assets(db, "p1")] == [("script", {"n": 1})]
    key = await repo.verify_api_key(db, KEY)
    assert key is not None and key.role == "editor"
    assert [(e.kind, e.payload) for e in await repo.events_since(db, production_id="p1")][0] == (
        "stage",
        {"stage": "render"},
    )
    facts = await rank_facts(db, "science", "sky blue", now=T0)  # through the full-text index
    assert [f.claim for f in facts] == ["Rayleigh scattering favours short wavelengths."]
    assert [lr.text for lr in await get_learnings(db, "science", "sky")] == ["shorter intros"]
    assert [c.topic for c in await list_coverage(db, "sky")] == ["Why is the sky blue?"]
    assert await list_outcomes(db, "p1") == [("published", "")]
    assert await CostLedger(db).production_cost("p1") == pytest.approx(0.5)


async def test_a_database_made_by_create_all_is_upgraded_with_its_rows(db_url: str, tmp_path: Path) -> None:
    old = Database(db_url)
    try:
        await _load_old_schema(old)
        async with old.engine.begin() as conn:
            await conn.run_sync(_fill)
        assert await migrate.current(old.engine) == ()  # no alembic_version: made before migrations
    finally:
        await old.close()

    # Any process starting (here: what the API and workers call) brings it to head.
    db = await open_database(Settings(home=tmp_path, database_url=db_url))
    try:
        assert await migrate.current(db.engine) == migrate.heads()
        await _assert_everything_is_there(db)
        assert await differences(db) == [], "the upgraded old database differs from a new one"
        # New rows still work next to the old ones (sequences, autoincrement, full-text triggers).
        await repo.create_channel(db, "finance", "finance")
        p2 = await repo.create_production(db, "sky", "Why are sunsets red?")
        assert {p.id for p in await repo.list_productions(db)} == {"p1", p2.id}
    finally:
        await db.close()


async def test_a_partial_old_database_gets_the_missing_tables(tmp_path: Path) -> None:
    """A create_all database from a process that never imported knowledge or the autoscaler."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'partial.db'}")
    try:
        await _load_old_schema(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(_fill)
            for table in ("knowledge_facts_fts", "knowledge_facts", "knowledge_learnings", "gpu_usage"):
                await conn.exec_driver_sql(f"DROP TABLE {table}")
        await db.upgrade()
        assert await differences(db) == []
        assert (await repo.get_production(db, "p1")).title == "Blue skies"
        assert await list_outcomes(db, "p1") == [("published", "")]
    finally:
        await db.close()


async def test_old_facts_are_indexed_when_the_full_text_table_is_new(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old-fts.db'}")
    try:
        await _load_old_schema(db)
        async with db.engine.begin() as conn:
            # A database older than the full-text index: no FTS table, no triggers.
            for trigger in ("ai", "ad", "au"):
                await conn.exec_driver_sql(f"DROP TRIGGER knowledge_facts_{trigger}")
            await conn.exec_driver_sql("DROP TABLE knowledge_facts_fts")
            await conn.run_sync(_fill)
        await db.upgrade()
        assert [f.claim for f in await rank_facts(db, "science", "sky blue", now=T0)] == [
            "Rayleigh scattering favours short wavelengths."
        ]
    finally:
        await db.close()


# ------------------------------------------------------------------ who runs it, and concurrency


UPGRADE = "import asyncio, sys; from tubeflow.db.engine import Database; asyncio.run(Database(sys.argv[1]).upgrade())"


async def test_processes_starting_at_once_upgrade_once(db_url: str) -> None:
    """Three processes open a new database together: one upgrades under the database's lock, the
    others wait for it and find nothing to do (on SQLite they also race to switch the file to WAL)."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", UPGRADE, db_url, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    said = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-2000:] for _, err in said]
    db = Database(db_url)
    try:
        assert await migrate.current(db.engine) == migrate.heads()
        assert await differences(db) == []
    finally:
        await db.close()


async def test_upgrades_in_one_process_take_turns(db_url: str) -> None:
    """Alembic's running context lives in module globals: two upgrades on one event loop wait for each other."""
    dbs = [Database(db_url) for _ in range(3)]
    try:
        await asyncio.gather(*(d.upgrade() for d in dbs))
        assert await migrate.current(dbs[0].engine) == migrate.heads()
    finally:
        for d in dbs:
            await d.close()


async def test_without_auto_migrate_a_process_refuses_an_old_database(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_auto_migrate=False)
    with pytest.raises(ConfigError, match="run `tubeflow db upgrade`"):
        await open_database(settings)
    explicit = Database(settings.resolved_database_url())
    try:
        assert await migrate.upgrade(explicit.engine) == ()  # what `tubeflow db upgrade` does
    finally:
        await explicit.close()
    db = await open_database(settings)
    await db.close()


async def test_sqlite_table_rebuilds_keep_child_rows(tmp_path: Path) -> None:
    """Batch mode copies and drops a table; with foreign keys on, dropping productions would cascade."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    try:
        await db.upgrade()
        await repo.create_channel(db, "sky", "science")
        p = await repo.create_production(db, "sky", "Why is the sky blue?")
        await repo.add_asset(db, p.id, "script", f"productions/{p.id}/script.json")

        def rebuild_productions(conn: Connection) -> None:
            with Operations(MigrationContext.configure(conn)).batch_alter_table(
                "productions", recreate="always"
            ) as batch:
                batch.add_column(sa.Column("extra", sa.Text(), nullable=True))

        await migrate.run_in_transaction(db.engine, rebuild_productions, lock=True)
        assert [a.kind for a in await repo.list_assets(db, p.id)] == ["script"]
        async with db.session() as s:  # and foreign keys are back on afterwards
            assert (await s.execute(sa.text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.close()


def test_tubeflow_db_upgrade_and_current_from_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TUBEFLOW_HOME": str(tmp_path)}

    def tubeflow(*args: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "cli", "db", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
        return " ".join(r.stdout.split())

    head = ",".join(migrate.heads())
    assert tubeflow("current") == f"database none code {head}"
    assert f"upgraded from none to {head}" in tubeflow("upgrade")
    assert f"already at {head}" in tubeflow("upgrade")
    assert tubeflow("current") == f"database {head} code {head}"


async def test_a_new_database_switches_to_wal_while_another_connection_holds_it(tmp_path: Path) -> None:
    """Switching a file to WAL fails at once while another connection holds it, busy timeout or not
    (what processes opening a new database together hit); the connect retries until it is let go."""
    import sqlite3
    import threading

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE t (x)")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await db.close()
        holder.close()
