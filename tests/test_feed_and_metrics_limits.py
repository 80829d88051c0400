"""Live streams that wait on change notifications, a per-key stream cap, /metrics behind a token
or its own address and cached between scrapes, one channel-name rule in CLI and API
(issue 16, item 4).  Real app on a real port, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import create_key
from api.testing import free_port, serve
from tests.test_api_events import Feed, snap
from tubeflow.db import repo
from tubeflow.db.engine import Database, open_database
from tubeflow.settings import Settings

pytest_plugins = ["tests.dbfixtures"]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(Settings(home=tmp_path))
    yield database
    await database.close()


async def test_streams_wake_on_changes_not_on_a_poll_timer(tmp_path: Path, db_url: str) -> None:
    settings = Settings(home=tmp_path, database_url=db_url)
    db = await open_database(settings)
    try:
        key = await create_key(db, "watcher", "viewer")
        # The fallback wake-up is 30 s: only a change notification can deliver within the test's second.
        app = create_app(settings, db=db, events_poll_s=30.0)
        async with serve(app) as base, httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=10) as h:
            async with h.stream("GET", "/api/events") as r:
                feed = Feed(r)
                await asyncio.sleep(0.3)  # the stream is waiting
                for n in range(3):
                    started = time.monotonic()
                    await snap(db, f"n{n}", "research")
                    got = await feed.next(timeout_s=5)
                    assert got["data"]["production_id"] == f"n{n}"
                    # Far below the 30 s fallback: only a notification explains it (room left for a loaded machine).
                    assert time.monotonic() - started < 5.0, "the stream was not woken by the change"
    finally:
        await db.close()


async def test_event_streams_per_key_are_capped(tmp_path: Path, db: Database) -> None:
    key = await create_key(db, "tabs", "viewer")
    other = await create_key(db, "other", "viewer")
    app = create_app(Settings(home=tmp_path, events_max_streams_per_key=2), db=db)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as h:
        hk = {"X-API-Key": key}
        async with h.stream("GET", "/api/events", headers=hk) as one, h.stream("GET", "/api/events", headers=hk) as two:
            assert one.status_code == two.status_code == 200
            third = await h.get("/api/events", headers=hk)
            assert third.status_code == 429 and "TUBEFLOW_EVENTS_MAX_STREAMS_PER_KEY" in third.json()["detail"]
            async with h.stream("GET", "/api/events", headers={"X-API-Key": other}) as theirs:
                assert theirs.status_code == 200  # the cap is per key
        # Closed streams give their slots back.
        for _ in range(50):
            if not app.state.tubeflow.streams:
                break
            await asyncio.sleep(0.05)
        async with h.stream("GET", "/api/events", headers=hk, params={"max_s": 0.2}) as again:
            assert again.status_code == 200


async def test_metrics_need_a_token_or_key_and_are_cached(tmp_path: Path, db: Database) -> None:
    key = await create_key(db, "viewer", "viewer")
    app = create_app(Settings(home=tmp_path, metrics_token="s3cret-scrape", metrics_cache_s=3.0), db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        first = await c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert first.status_code == 200 and "tubeflow_productions" in first.text
        await repo.create_channel(db, "c1", "science")
        await snap(db, "m1", "research")
        # Within the cache window the same answer: the new production is not counted yet.
        cached = await c.get("/metrics", headers={"X-API-Key": key})
        assert cached.status_code == 200 and cached.text == first.text
        await asyncio.sleep(3.1)
        fresh = await c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert 'tubeflow_productions{state="running"} 1.0' in fresh.text


async def test_metrics_on_their_own_address(tmp_path: Path, db: Database) -> None:
    port = free_port()
    app = create_app(Settings(home=tmp_path, metrics_bind=f"127.0.0.1:{port}"), db=db)
    key = await create_key(db, "viewer", "viewer")
    async with serve(app) as base, httpx.AsyncClient(timeout=10) as h:
        assert (await h.get(f"{base}/metrics", headers={"X-API-Key": key})).status_code == 404
        r = await h.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200 and "tubeflow_productions" in r.text
        assert (await h.get(f"http://127.0.0.1:{port}/api/channels")).status_code == 404  # nothing else there
    async with httpx.AsyncClient(timeout=2) as h:
        with pytest.raises(httpx.ConnectError):  # the metrics server stopped with the app
            await h.get(f"http://127.0.0.1:{port}/metrics")


async def test_cli_refuses_the_channel_names_the_api_refuses(tmp_path: Path, db: Database) -> None:
    env = {**os.environ, "TUBEFLOW_HOME": str(tmp_path)}
    key = await create_key(db, "root", "admin")
    app = create_app(Settings(home=tmp_path), db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        for bad in ("has space",):  # one CLI process is slow enough; the rule itself is tested in test_hostile_input
            cli = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "cli", "channel", "add", bad, "--niche", "science"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert cli.returncode != 0 and "invalid channel name" in cli.stderr, (bad, cli.stderr)
        for bad in ("has space", "../etc", "<script>"):
            api = await c.post("/api/channels", json={"name": bad, "niche": "science"}, headers={"X-API-Key": key})
            assert api.status_code == 422, json.dumps(api.json())
    assert await repo.list_channels(db) == []
