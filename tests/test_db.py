"""The repository API on SQLite and on the local PostgreSQL (each test runs on both)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tubeflow.contracts import (
    Artifacts,
    Checkpoint,
    Outputs,
    ProductionStatus,
    ReviewLog,
    ReviewRecord,
    Stage,
    State,
    StateSnapshot,
    checkpoint_named,
)
from tubeflow.db import repo
from tubeflow.db.engine import Database, open_database
from tubeflow.db.models import ApiKeyRow, ReviewRow
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings

pytest_plugins = ["tests.dbfixtures"]  # the database and db_url fixtures, on SQLite and PostgreSQL

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ci", "outcome"), [(None, pytest.skip.Exception), ("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
async def test_an_unreachable_postgres_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    """A planted unreachable server: skipped on a laptop, a failure that says how to reach one when CI is set."""
    from tests import dbfixtures  # the plugin pytest loaded (importing it at the top defeats its assert rewriting)
    from tests.test_restarts import free_port

    monkeypatch.setattr(dbfixtures, "ADMIN_DSN", f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome) as caught:
        async with dbfixtures.temporary_postgres_url():
            raise AssertionError("connected to a server that is not there")
    assert "PostgreSQL is unreachable at postgresql://postgres@127.0.0.1:" in str(caught.value)
    assert "TUBEFLOW_TEST_POSTGRES" in str(caught.value) and "docker run" in str(caught.value)
    assert ("CI is set" in str(caught.value)) == (ci == "true")


def at(seconds: float) -> str:
    """Workflow time as the workflow writes it (``workflow.now().isoformat()``)."""
    return (T0 + timedelta(seconds=seconds)).isoformat()


def snapshot(
    pid: str, stage: str, state: str = "running", t: float = 0, channel: str = "sky", **kw: object
) -> StateSnapshot:
    status = ProductionStatus(
        production_id=pid,
        channel=channel,
        niche="science",
        topic="Why is the sky blue?",
        stage=Stage(stage),
        state=State(state),
        progress=float(kw.pop("progress", 10.0)),  # type: ignore[arg-type]
        updated_at=at(t),
        **kw,  # type: ignore[arg-type]
    )
    return StateSnapshot(status, f"production-{pid}", "run-1")


def review(pid: str, stage: str, approved: bool, attempt: int, t: float, feedback: str = "") -> ReviewLog:
    return ReviewLog(pid, ReviewRecord(checkpoint_named(stage), approved, "ana", feedback, at(t), attempt))


# ---------------------------------------------------------------- engine


async def test_upgrade_is_idempotent_and_keeps_rows(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await database.upgrade()
    await database.upgrade()
    assert [c.name for c in await repo.list_channels(database)] == ["sky"]


async def test_open_database_from_settings(db_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url="" if db_url.startswith("sqlite") else db_url)
    db = await open_database(settings)
    try:
        if db.dialect == "sqlite":
            # The default lives under home, whose folder did not exist yet.
            assert db.url == f"sqlite+aiosqlite:///{tmp_path / 'home' / 'tubeflow.db'}"
            assert (tmp_path / "home" / "tubeflow.db").is_file()
            async with db.session() as s:
                assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
                assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        else:
            assert db.dialect == "postgresql"
        await repo.create_channel(db, "sky", "science")
    finally:
        await db.close()
    # A second process opening the same database sees the same data.
    again = await open_database(settings)
    try:
        assert [c.name for c in await repo.list_channels(again)] == ["sky"]
    finally:
        await again.close()


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.session() as s:
            s.add(ReviewRow(production_id="missing", stage="script", approved=True, attempt=1, at=T0))


async def test_session_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.session() as s:
            s.add(ApiKeyRow(name="k", role="viewer", key_hash="0" * 64, revoked=False))
            await s.flush()
            raise RuntimeError("boom")
    assert await repo.list_api_keys(database) == []


def test_bad_database_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        Database("not a url")
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        Database("mysql+aiomysql://u@localhost/db")


async def test_unreachable_postgres_is_transient(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(home=tmp_path, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    with pytest.raises(TransientError, match="cannot reach the database"):
        await open_database(settings)


async def test_missing_postgres_database_is_a_config_error(postgres_url: str, tmp_path: Path) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/tubeflow_no_such_db"
    with pytest.raises(ConfigError, match="cannot open the database"):
        await open_database(Settings(home=tmp_path, database_url=missing))


# ---------------------------------------------------------------- channels


async def test_channels_create_list_and_errors(database: Database) -> None:
    made = await repo.create_channel(database, "sky", "science", {"voice": "joe"})
    await repo.create_channel(database, "money", "financas")
    assert made.name == "sky" and made.niche == "science" and made.settings == {"voice": "joe"}
    assert made.created_at.tzinfo is not None
    assert [(c.name, c.niche) for c in await repo.list_channels(database)] == [
        ("money", "financas"),
        ("sky", "science"),
    ]
    assert (await repo.get_channel(database, "sky")).settings == {"voice": "joe"}

    with pytest.raises(repo.AlreadyExistsError, match="channel 'sky' already exists"):
        await repo.create_channel(database, "sky", "history")
    assert (await repo.get_channel(database, "sky")).niche == "science"  # the original is untouched

    with pytest.raises(repo.NotFoundError) as info:
        await repo.get_channel(database, "nope")
    assert isinstance(info.value, PermanentError)
    assert "unknown channel 'nope'" in str(info.value)
    assert "tubeflow channel add nope --niche" in str(info.value)

    with pytest.raises(PermanentError, match="cannot be empty"):
        await repo.create_channel(database, "  ", "science")


# ---------------------------------------------------------------- productions


async def test_create_production_and_unknown_channel(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    p = await repo.create_production(database, "sky", "Why is the sky blue?", "wf-1")
    assert (p.channel, p.niche, p.workflow_id, p.stage, p.state, p.progress, p.cost_usd) == (
        "sky",
        "science",
        "wf-1",
        "queued",
        "running",
        0.0,
        0.0,
    )
    assert len(p.id) == 12
    assert await repo.get_production(database, p.id) == p
    named = await repo.create_production(database, production_id="abc123", channel="sky", topic="Rainbows")
    assert named.id == "abc123" and named.workflow_id == "production-abc123"
    with pytest.raises(repo.AlreadyExistsError):
        await repo.create_production(database, production_id="abc123", channel="sky", topic="Again")

    with pytest.raises(repo.NotFoundError, match="unknown channel 'nope'"):
        await repo.create_production(database, "nope", "Anything")
    with pytest.raises(repo.NotFoundError, match="unknown production 'zzz'"):
        await repo.get_production(database, "zzz")
    assert await repo.count_productions(database) == 2


async def test_snapshot_upsert_ignores_older_snapshots(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    p = await repo.create_production(database, production_id="p1", channel="sky", topic="Why is the sky blue?")

    assert await repo.apply_snapshot(database, snapshot("p1", "research", t=1, progress=2))
    newer = snapshot(
        "p1",
        "review_script",
        "waiting",
        t=5,
        progress=15,
        checkpoint=Checkpoint.SCRIPT,
        title="The Blue Sky",
        artifacts=Artifacts(script="productions/p1/script-v1.json"),
    )
    assert await repo.apply_snapshot(database, newer)
    # A retried activity delivers an older snapshot late: it must not roll the row back.
    assert not await repo.apply_snapshot(database, snapshot("p1", "script", t=3, progress=8))
    # Same workflow time (one workflow task), earlier stage: also stale.
    assert not await repo.apply_snapshot(database, snapshot("p1", "script", t=5, progress=8))
    # The exact same snapshot again (a retry) is harmless.
    assert await repo.apply_snapshot(database, newer)

    row = await repo.get_production(database, "p1")
    assert (row.stage, row.state, row.checkpoint, row.progress, row.title) == (
        "review_script",
        "waiting",
        "script",
        15.0,
        "The Blue Sky",
    )
    assert row.artifacts == {"script": "productions/p1/script-v1.json"}
    assert (row.workflow_id, row.run_id) == ("production-p1", "run-1")
    assert row.updated_at == T0 + timedelta(seconds=5)
    assert row.created_at == p.created_at and row.finished_at is None

    done = snapshot("p1", "done", "completed", t=9, progress=100, outputs=Outputs(published="sky/p1"))
    assert await repo.apply_snapshot(database, done)
    row = await repo.get_production(database, "p1")
    assert row.finished_at == T0 + timedelta(seconds=9) and row.outputs == {"published": "sky/p1"}
    assert not await repo.apply_snapshot(database, newer)  # nothing reopens a finished production


async def test_snapshot_events_only_on_stage_or_state_change(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    await repo.apply_snapshot(database, snapshot("p1", "render", t=1, progress=43))
    await repo.apply_snapshot(database, snapshot("p1", "render", t=2, progress=60))  # progress only
    await repo.apply_snapshot(database, snapshot("p1", "render", "failed", t=3, progress=60, error="ffmpeg died"))
    events = await repo.events_since(database, production_id="p1")
    assert [e.kind for e in events] == ["created", "stage", "stage"]
    assert events[1].payload["previous_stage"] == "queued" and events[1].payload["stage"] == "render"
    assert events[2].payload["state"] == "failed" and events[2].payload["error"] == "ffmpeg died"


async def test_snapshot_for_unseen_production_creates_it(database: Database) -> None:
    # A workflow started by another client: the row and even the channel are created from the snapshot.
    assert await repo.apply_snapshot(database, snapshot("p9", "research", t=1, channel="elsewhere"))
    row = await repo.get_production(database, "p9")
    assert (row.channel, row.niche, row.topic, row.stage) == (
        "elsewhere",
        "science",
        "Why is the sky blue?",
        "research",
    )
    assert (await repo.get_channel(database, "elsewhere")).niche == "science"


async def test_concurrent_snapshots_from_two_processes(database: Database, db_url: str) -> None:
    """Two engines on one database (worker and API processes) writing at once lose nothing."""
    other = Database(db_url)
    try:
        await repo.create_channel(database, "sky", "science")
        for i in range(4):
            await repo.create_production(database, production_id=f"p{i}", channel="sky", topic=f"topic {i}")
        jobs = []
        for t in range(1, 6):
            for i in range(4):
                jobs.append(
                    repo.apply_snapshot(
                        database if (i + t) % 2 else other, snapshot(f"p{i}", "render", t=t, progress=t * 10)
                    )
                )
        results = await asyncio.gather(*jobs)
        assert all(isinstance(r, bool) for r in results)
        for i in range(4):
            assert (await repo.get_production(other, f"p{i}")).progress == 50.0
    finally:
        await other.close()


async def test_list_productions_filters_and_pages(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_channel(database, "past", "history")
    ids = []
    for i, ch in enumerate(["sky", "past", "sky", "sky", "past"]):
        ids.append((await repo.create_production(database, production_id=f"p{i}", channel=ch, topic=f"t{i}")).id)
    await repo.apply_snapshot(database, snapshot("p0", "done", "completed", t=1, channel="sky"))
    await repo.apply_snapshot(database, snapshot("p2", "review_script", "waiting", t=1, channel="sky"))
    await repo.apply_snapshot(database, snapshot("p4", "review_script", "waiting", t=1, channel="past"))

    async def ids_of(**kw: object) -> list[str]:
        return [p.id for p in await repo.list_productions(database, **kw)]  # type: ignore[arg-type]

    assert await ids_of() == ["p4", "p3", "p2", "p1", "p0"]  # newest first
    assert await ids_of(channel="sky") == ["p3", "p2", "p0"]
    assert await ids_of(state="waiting") == ["p4", "p2"]
    assert await ids_of(stage="review_script", channel="past") == ["p4"]
    assert await ids_of(state="completed") == ["p0"]
    assert await ids_of(channel="nobody") == []
    assert await ids_of(limit=2) == ["p4", "p3"]
    assert await ids_of(limit=2, offset=2) == ["p2", "p1"]
    assert await ids_of(limit=2, offset=10) == []
    # The review queue's order: the longest-waiting first, and a page holds the oldest, not the newest reversed.
    assert await ids_of(oldest_first=True, limit=2) == ["p0", "p1"]
    assert await ids_of(oldest_first=True, limit=2, offset=2) == ["p2", "p3"]
    assert await repo.count_productions(database) == 5
    assert await repo.count_productions(database, channel="sky", state="running") == 1
    with pytest.raises(PermanentError, match="limit must be"):
        await repo.list_productions(database, limit=0)
    with pytest.raises(PermanentError, match="offset"):
        await repo.list_productions(database, offset=-1)


async def test_add_cost(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    assert await repo.add_cost(database, "p1", 0.25) == 0.25
    assert await repo.add_cost(database, "p1", 1.5) == 1.75
    assert (await repo.get_production(database, "p1")).cost_usd == 1.75
    with pytest.raises(repo.NotFoundError):
        await repo.add_cost(database, "nope", 1.0)


# ---------------------------------------------------------------- reviews and assets


async def test_record_review_is_idempotent(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    reject = review("p1", "script", False, 1, t=10, feedback="Mention Rayleigh")
    assert await repo.record_review(database, reject)
    assert not await repo.record_review(database, reject)  # the activity was retried
    # Retries racing each other still store one row.
    assert sum(await asyncio.gather(*[repo.record_review(database, reject) for _ in range(5)])) == 0
    # Same stage and attempt at another moment is another decision.
    assert await repo.record_review(database, review("p1", "script", True, 2, t=20))
    assert await repo.record_review(database, review("p1", "audio", True, 1, t=30))
    # Stored in decision order even when recorded out of order.
    assert await repo.record_review(database, review("p1", "script", False, 1, t=5, feedback="earlier"))

    got = await repo.list_reviews(database, "p1")
    assert [(r.stage, r.approved, r.attempt, r.feedback) for r in got] == [
        ("script", False, 1, "earlier"),
        ("script", False, 1, "Mention Rayleigh"),
        ("script", True, 2, ""),
        ("audio", True, 1, ""),
    ]
    assert got[1].at == T0 + timedelta(seconds=10) and got[1].reviewer == "ana"
    assert [
        e.payload["stage"] for e in await repo.events_since(database, production_id="p1") if e.kind == "review"
    ] == [
        "script",
        "script",
        "audio",
        "script",
    ]
    assert await repo.list_reviews(database, "other") == []
    with pytest.raises(repo.NotFoundError, match="unknown production 'ghost'"):
        await repo.record_review(database, review("ghost", "script", True, 1, t=1))


async def test_review_time_zones_are_normalised(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    utc = ReviewLog("p1", ReviewRecord(Checkpoint.SCRIPT, True, "ana", "", "2025-03-01T12:00:00+00:00", 1))
    same_moment = ReviewLog("p1", ReviewRecord(Checkpoint.SCRIPT, True, "ana", "", "2025-03-01T14:00:00+02:00", 1))
    assert await repo.record_review(database, utc)
    assert not await repo.record_review(database, same_moment)
    assert (await repo.list_reviews(database, "p1"))[0].at == T0


async def test_assets(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    a = await repo.add_asset(database, "p1", "script", "productions/p1/script-v1.json", {"words": 120})
    await repo.add_asset(database, "p1", "audio", "productions/p1/voice-v1.wav")
    again = await repo.add_asset(database, "p1", "script", "productions/p1/script-v1.json", {"words": 130})
    assert again.id == a.id and again.meta == {"words": 130}
    assert [x.key for x in await repo.list_assets(database, "p1")] == [
        "productions/p1/script-v1.json",
        "productions/p1/voice-v1.wav",
    ]
    assert [x.kind for x in await repo.list_assets(database, "p1", kind="audio")] == ["audio"]
    with pytest.raises(repo.NotFoundError):
        await repo.add_asset(database, "ghost", "script", "k")


# ---------------------------------------------------------------- events


async def test_events_since_id_time_and_production(database: Database) -> None:
    first = await repo.append_event(database, "system", {"msg": "started"})
    await repo.create_channel(database, "sky", "science")
    await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    await repo.create_production(database, production_id="p2", channel="sky", topic="u")
    events = await repo.events_since(database)
    assert [(e.kind, e.production_id) for e in events] == [("system", None), ("created", "p1"), ("created", "p2")]
    assert [e.id for e in await repo.events_since(database, first.id)] == [e.id for e in events[1:]]
    assert [e.production_id for e in await repo.events_since(database, events[1].id)] == ["p2"]
    assert [e.production_id for e in await repo.events_since(database, production_id="p1")] == ["p1"]
    assert await repo.events_since(database, datetime.now(UTC) + timedelta(seconds=1)) == []
    assert len(await repo.events_since(database, first.at - timedelta(seconds=1))) == 3
    assert len(await repo.events_since(database, limit=2)) == 2
    assert events[1].to_dict()["payload"] == {"channel": "sky", "topic": "t"}
    assert isinstance(events[1].to_dict()["at"], str)


# ---------------------------------------------------------------- API keys


async def test_api_keys(database: Database) -> None:
    plaintext, key = await repo.create_api_key(database, "ci", "editor")
    assert plaintext.startswith("tfk_") and len(plaintext) > 40
    assert (key.name, key.role, key.revoked, key.last_used_at) == ("ci", "editor", False, None)
    async with database.session() as s:
        stored = (await s.execute(select(ApiKeyRow))).scalars().all()
    assert [r.key_hash for r in stored] == [hashlib.sha256(plaintext.encode()).hexdigest()]
    assert all(plaintext not in str(v) for r in stored for v in vars(r).values())

    found = await repo.verify_api_key(database, plaintext)
    assert found is not None and found.id == key.id and found.last_used_at is not None
    assert await repo.verify_api_key(database, plaintext + "x") is None
    assert await repo.verify_api_key(database, "") is None

    other, _ = await repo.create_api_key(database, "viewer-key", "viewer")
    assert other != plaintext
    revoked = await repo.revoke_api_key(database, key.id)
    assert revoked.revoked
    assert await repo.verify_api_key(database, plaintext) is None
    assert await repo.verify_api_key(database, other) is not None
    assert [k.name for k in await repo.list_api_keys(database)] == ["ci", "viewer-key"]

    with pytest.raises(PermanentError, match="role must be one of viewer, editor, admin"):
        await repo.create_api_key(database, "x", "root")
    with pytest.raises(repo.NotFoundError):
        await repo.revoke_api_key(database, 9999)
    assert repo.role_allows("admin", "editor") and repo.role_allows("editor", "editor")
    assert not repo.role_allows("viewer", "editor") and not repo.role_allows("root", "viewer")


async def test_records_are_json_serialisable(database: Database) -> None:
    import json

    await repo.create_channel(database, "sky", "science")
    p = await repo.create_production(database, production_id="p1", channel="sky", topic="t")
    await repo.record_review(database, review("p1", "script", True, 1, t=1))
    payload = json.dumps(
        [
            p.to_dict(),
            (await repo.list_reviews(database, "p1"))[0].to_dict(),
            (await repo.list_channels(database))[0].to_dict(),
        ]
    )
    assert '"channel": "sky"' in payload and '"at": "2025-03-01T12:00:01+00:00"' in payload


def test_every_room_takes_the_typed_database() -> None:
    """One persistence convention: a ``Database`` parameter is typed as such, never ``Any``."""
    import re

    root = Path(__file__).resolve().parent.parent
    rooms = (
        "tubeflow",
        "niches",
        "knowledge",
        "activities",
        "gpu_activities",
        "workflows",
        "service",
        "api",
        "autoscaler",
    )
    untyped = re.compile(r"\bdb: Any\b")
    found = [
        f"{path.relative_to(root)}:{n}"
        for room in rooms
        for path in sorted((root / room).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if untyped.search(line)
    ]
    assert not found, "type these as tubeflow.db.engine.Database: " + ", ".join(found)
