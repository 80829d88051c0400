"""The live feed: Server-Sent Events from the database's events table, over a real socket.

Snapshots are written with the repository's own ``apply_snapshot`` (what the workflow's
bookkeeping activity calls), so the feed is tested against the rows production code writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from tubeflow.contracts import ProductionStatus, Stage, State, StateSnapshot
from tubeflow.db import repo
from tubeflow.db.engine import Database, open_database
from tubeflow.settings import Settings

pytest_plugins = ["tests.dbfixtures"]  # db_url: SQLite and PostgreSQL
_clock = [0]


async def snap(db: Database, pid: str, stage: str, state: str = "running", progress: float = 0.0, **kw: Any) -> None:
    _clock[0] += 1
    status = ProductionStatus(
        production_id=pid,
        channel="feed",
        niche="science",
        topic=f"topic of {pid}",
        stage=Stage(stage),
        state=State(state),
        progress=progress,
        updated_at=f"2026-03-01T10:{_clock[0] // 60:02d}:{_clock[0] % 60:02d}+00:00",
        **kw,
    )
    assert await repo.apply_snapshot(db, StateSnapshot(status, f"production-{pid}", "run"))


class Feed:
    """Reads an SSE response message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout_s: float = 5.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            msg: dict[str, Any] = {}
            async for line in self.lines:
                if line == "":
                    if "data" in msg:
                        return msg
                    msg = {}
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    msg["data"] = json.loads(value)
                elif field == "id":
                    msg["id"] = int(value)
            raise AssertionError("stream ended")

        return await asyncio.wait_for(read(), timeout_s)


@pytest.fixture
async def served(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[str, Database, str]]:
    """The app on a real port, once on SQLite and once on a fresh PostgreSQL database."""
    settings = Settings(home=tmp_path, database_url=db_url)
    db = await open_database(settings)
    key = await create_key(db, "watcher", "viewer")
    app = create_app(settings, db=db, events_poll_s=0.05)
    async with serve(app) as base:
        yield base, db, key
    await db.close()


async def test_feed_replays_then_streams_live_and_resumes_after_a_reconnect(
    served: tuple[str, Database, str],
) -> None:
    base, db, key = served
    headers = {"X-API-Key": key}
    await snap(db, "p1", "research", progress=2)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        assert (await http.get("/api/events", headers={"X-API-Key": ""})).status_code == 401
        async with http.stream("GET", "/api/events", params={"since": 0}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            feed = Feed(r)
            first = await feed.next()
            assert first["data"]["production_id"] == "p1" and first["data"]["stage"] == "research"
            # Live: a checkpoint opening arrives while connected.
            await snap(db, "p1", "review_script", "waiting", 15, checkpoint="script", title="Sky")
            opened = await feed.next()
            assert opened["id"] > first["id"]
            assert opened["data"]["checkpoint"] == "script" and opened["data"]["state"] == "waiting"
            # Progress inside a stage has no event row; it arrives without an id (not a resume point).
            await snap(db, "p1", "render", progress=43)
            while "id" not in (render := await feed.next()):
                pass  # the progress poll may notice the new stage before the event poll does
            assert render["data"]["stage"] == "render"
            await snap(db, "p1", "render", progress=61.5)
            progress = await feed.next()
            assert "id" not in progress
            assert progress["data"] == {
                "kind": "progress", "production_id": "p1", "stage": "render", "state": "running",
                "progress": 61.5, "detail": "",
            }  # fmt: skip
            last_seen = opened["id"]
        # Meanwhile (disconnected): p1 completes, p2 fails.
        await snap(db, "p1", "done", "completed", 100)
        await snap(db, "p2", "research", "failed", 2, error="no facts")
        # A reconnecting EventSource sends Last-Event-ID (and repeats its original ?since=0).
        resume = {"Last-Event-ID": str(last_seen)}
        async with http.stream("GET", "/api/events", params={"since": 0}, headers=resume) as r:
            feed = Feed(r)
            stages = [(await feed.next())["data"] for _ in range(3)]
        assert [(e["production_id"], e["stage"], e["state"]) for e in stages] == [
            ("p1", "render", "running"),
            ("p1", "done", "completed"),
            ("p2", "research", "failed"),
        ]
        # "Completed while you were away": the outcomes since the last event the reviewer saw.
        missed = (await http.get("/api/events/missed", params={"since": last_seen})).json()
        assert [(e["production_id"], e["state"]) for e in missed["finished"]] == [("p1", "completed"), ("p2", "failed")]
        assert missed["last_id"] == stages[-1]["id"]
        assert (await http.get("/api/events/missed", params={"since": missed["last_id"]})).json()["finished"] == []


async def test_feed_without_since_starts_at_now(served: tuple[str, Database, str]) -> None:
    base, db, key = served
    await snap(db, "old", "research")
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=10) as http:
        async with http.stream("GET", "/api/events") as r:
            feed = Feed(r)
            await asyncio.sleep(0.2)
            await snap(db, "new", "research")
            got = await feed.next()
            assert got["data"]["production_id"] == "new"
        async with http.stream("GET", "/api/events", params={"since": 0, "max_s": 0.3}) as r:
            text = await r.aread()  # max_s closes the stream by itself
        assert b'"production_id":"old"' in text and b'"production_id":"new"' in text
