"""Hostile request bodies get a 4xx that says why, never a 500 (issue 16, item 1).

Bodies are sent as raw bytes, because the interesting ones (NaN, Infinity, 1e309, a lone
surrogate escape) are what a JSON library refuses to produce but Python's parser accepts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from api.app import create_app
from api.auth import create_key
from api.errors import describe_validation_errors, rpc_answer
from tubeflow.db import repo
from tubeflow.db.engine import Database, open_database
from tubeflow.names import InvalidText, check_channel_name
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage, StorageError, check_key


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(Settings(home=tmp_path))
    yield database
    await database.close()


@pytest.fixture
async def admin(db: Database) -> str:
    return await create_key(db, "root", "admin")


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")  # type: ignore[arg-type]


IMG = '"url_image": "http://example.com/a.jpg"'


@pytest.mark.parametrize(
    "body",
    [
        "{" + IMG + ', "duration": NaN}',
        "{" + IMG + ', "duration": Infinity}',
        "{" + IMG + ', "duration": 1e309}',
        "{" + IMG + ', "duration": 2, "zoom": -Infinity}',
        "{" + IMG + ', "duration": true}',  # a boolean is not the number 1
        "{" + IMG + ', "duration": "2"}',
        "{" + IMG + ', "duration": 2, "priority": "high"}',  # unknown fields are refused, not dropped
        '{"url_image": "http://example.com/\\ud800.jpg", "duration": 2}',
        '{"url_image": "http://example.com/a\\u0000.jpg", "duration": 2}',
        '{"url_image": "' + "x" * 5000 + '", "duration": 2}',
        "[1, 2",
        "null",
    ],
)
async def test_bad_video_job_bodies_are_422_and_never_echoed(
    body: str, tmp_path: Path, db: Database, admin: str
) -> None:
    app = create_app(Settings(home=tmp_path), db=db)
    async with client(app) as c:
        r = await c.post(
            "/video/img2vid", content=body.encode(), headers={"X-API-Key": admin, "Content-Type": "application/json"}
        )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(d) for d in detail)
    assert "x" * 100 not in r.text  # described, not echoed
    assert LocalStorage(tmp_path / "storage").list("jobs") == []  # nothing was fetched or started


async def test_review_bodies_with_surrogates_huge_edits_or_extra_fields(
    tmp_path: Path, db: Database, admin: str
) -> None:
    app = create_app(Settings(home=tmp_path, api_max_body_bytes=1 << 20), db=db)
    h = {"X-API-Key": admin, "Content-Type": "application/json"}
    async with client(app) as c:
        r = await c.post(
            "/api/productions/p1/reject", content=b'{"stage": "script", "feedback": "a\\ud800b"}', headers=h
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "feedback"], r.text
        # 20 MB of edits: refused by the body limit before anything reads it.
        big = json.dumps({"stage": "script", "edits": {"title": "x" * (20 << 20)}})
        r = await c.post("/api/productions/p1/approve", content=big, headers=h)
        assert r.status_code == 413 and "TUBEFLOW_API_MAX_BODY_BYTES" in r.json()["detail"]
        # Under the body limit but over the edits limit: a 422 naming the limit.
        edits = json.dumps({"stage": "script", "edits": {"title": "x" * (300 << 10)}})
        r = await c.post("/api/productions/p1/approve", content=edits, headers=h)
        assert r.status_code == 422 and "limit" in r.json()["detail"][0]["msg"]
        nan = b'{"stage": "script", "edits": {"sections": [{"seconds": NaN}]}}'
        r = await c.post("/api/productions/p1/approve", content=nan, headers=h)
        assert r.status_code == 422 and "finite" in r.text
        # A chunked body (no Content-Length) is counted as it streams.

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"stage": "script", "edits": {"title": "'
            for _ in range(40):
                yield b"y" * 65536
            yield b'"}}'

        r = await c.post("/api/productions/p1/approve", content=chunks(), headers=h)
        assert r.status_code == 413
        # Unknown fields are refused: a "role" on a channel must not be silently dropped.
        r = await c.post("/api/channels", json={"name": "c1", "niche": "science", "role": "admin"}, headers=h)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "role"]
        r = await c.post("/api/productions", json={"channel": "c1", "topic": "t", "force": 1}, headers=h)
        assert r.status_code == 422  # strict booleans
    assert await repo.list_channels(db) == []


async def test_control_characters_in_storage_keys_are_400_everywhere(tmp_path: Path, db: Database, admin: str) -> None:
    app = create_app(Settings(home=tmp_path), db=db)
    h = {"X-API-Key": admin}
    async with client(app) as c:
        for key in ("uploads/a%00b/c.mp4", "uploads/a%1Bb/c.mp4", "uploads/a%7Fb/c.mp4"):
            r = await c.put(f"/uploads/{key}", content=b"x", headers=h)
            assert r.status_code == 400 and "control characters" in r.json()["detail"], (key, r.text)
            r = await c.get(f"/api/media/{key}", headers=h)
            assert r.status_code == 400, (key, r.text)
        # A newline is refused by the URL check before any route (it used to fall through to a 404).
        assert (await c.get("/api/media/a%0Ab/c.mp4", headers=h)).status_code == 400
        r = await c.post("/video/img2vid", json={"url_image": "upload:uploads/a\x00/b.jpg", "duration": 1}, headers=h)
        assert r.status_code in (400, 422), r.text
    store = LocalStorage(tmp_path / "s")
    for bad in ("a\x00b", "a\nb", "a\x7fb", "a\ud800b", "x" * 2000):
        with pytest.raises(StorageError):
            check_key(bad)
        with pytest.raises(StorageError):
            store.exists(bad)
        with pytest.raises(StorageError):
            store.list(bad)
    assert check_key("productions/p1/Música.mp4") == "productions/p1/Música.mp4"


async def test_temporal_unreachable_is_503_with_a_message(tmp_path: Path, db: Database, admin: str) -> None:
    dead = await Client.connect("127.0.0.1:9", lazy=True, retry_config=RetryConfig(max_retries=0))
    await repo.create_channel(db, "c1", "science")
    app = create_app(Settings(home=tmp_path), db=db, temporal_client=dead)
    async with client(app) as c:
        r = await c.post("/api/productions", json={"channel": "c1", "topic": "Why?"}, headers={"X-API-Key": admin})
    assert r.status_code == 503, r.text
    assert "Temporal" in r.json()["detail"] and r.headers["retry-after"]


def test_rpc_errors_map_to_what_they_mean_for_the_caller() -> None:
    too_big = RPCError(
        "grpc: received message larger than max (20971620 vs. 4194304)", RPCStatusCode.RESOURCE_EXHAUSTED, b""
    )
    assert rpc_answer(too_big)[0] == 413
    blob = RPCError("Blob data size exceeds limit.", RPCStatusCode.INVALID_ARGUMENT, b"")
    assert rpc_answer(blob)[0] == 413
    assert rpc_answer(RPCError("namespace rate limit exceeded", RPCStatusCode.RESOURCE_EXHAUSTED, b""))[0] == 503
    assert rpc_answer(RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""))[0] == 404
    assert rpc_answer(RPCError("bad id", RPCStatusCode.INVALID_ARGUMENT, b""))[0] == 400
    status, message, headers = rpc_answer(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""))
    assert status == 503 and "retry" in message and headers["Retry-After"]


def test_validation_errors_are_described_whatever_they_hold() -> None:
    errors = [
        {"loc": ("body", "edits", "k\ud800"), "msg": "bad \ud800", "type": "value_error", "input": float("nan")},
        {"loc": ("body", 3), "msg": "x", "type": "missing", "input": {}},
        {"loc": ("body",), "msg": "y" * 10_000, "type": "string_too_long", "input": "z" * 10_000},
    ]
    described = describe_validation_errors(errors)
    json.dumps(described, allow_nan=False).encode("utf-8")  # always encodable
    assert described[0]["got"].startswith("a number that is not finite") and described[1]["loc"] == ["body", 3]
    assert len(described[2]["msg"]) <= 300 and "z" * 50 not in json.dumps(described)


async def test_channel_names_are_checked_the_same_in_every_entry_point(db: Database) -> None:
    for bad in ("has space", "-leading", "a/b", "a" * 65, "émoji", "tab\tname"):
        with pytest.raises(InvalidText):
            check_channel_name(bad)
        with pytest.raises(InvalidText):
            await repo.create_channel(db, bad, "science")
    assert (await repo.create_channel(db, "ok_name-1.2", "science")).name == "ok_name-1.2"


async def test_a_422_raised_with_a_message_keeps_the_documented_shape(tmp_path: Path, db: Database, admin: str) -> None:
    app = create_app(Settings(home=tmp_path), db=db)
    async with client(app) as c:
        r = await c.get("/api/calendar", params={"start": "0.5"}, headers={"X-API-Key": admin})
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["request"] and "start" in problem["msg"]
