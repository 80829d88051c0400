"""Serving stored media (Range for players, presigned redirects for S3) and input uploads.

S3 is moto's standalone server over real HTTP: the presigned URLs the API hands out are followed
and PUT to exactly as a browser or client program would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import create_key
from api.fetch import FetchPolicy
from tests.mediagen import color_bars_clip
from tubeflow.db.engine import Database, open_database
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage, S3Storage, Storage

BLOB = bytes(range(256)) * 40  # 10 240 bytes, every offset distinguishable
VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + BLOB  # starts like an MP4, so it is served as one


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(Settings(home=tmp_path))
    yield database
    await database.close()


def client_for(tmp_path: Path, db: Database, storage: Storage, max_bytes: int = 1 << 20) -> httpx.AsyncClient:
    settings = Settings(home=tmp_path, public_base_url="http://testserver")
    app = create_app(settings, db=db, storage=storage, fetch_policy=FetchPolicy(max_bytes=max_bytes))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_local_media_supports_ranges_for_seeking(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    storage.put_bytes("productions/p1/video.mp4", VIDEO)
    key = await create_key(db, "v", "viewer")
    async with client_for(tmp_path, db, storage) as c:
        h = {"X-API-Key": key}
        full = await c.get("/api/media/productions/p1/video.mp4", headers=h)
        assert full.status_code == 200 and full.content == VIDEO
        assert full.headers["content-type"] == "video/mp4" and full.headers["accept-ranges"] == "bytes"
        part = await c.get("/api/media/productions/p1/video.mp4", headers={**h, "Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == VIDEO[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(VIDEO)}"
        tail = await c.get("/api/media/productions/p1/video.mp4", headers={**h, "Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == VIDEO[-100:]
        bad = await c.get("/api/media/productions/p1/video.mp4", headers={**h, "Range": f"bytes={len(VIDEO) + 5}-"})
        assert bad.status_code == 416
        assert (await c.get("/api/media/productions/p1/missing.mp4", headers=h)).status_code == 404
        assert (await c.get("/api/media/productions/p1/video.mp4")).status_code == 401


async def test_local_upload_then_use_as_input(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    key = await create_key(db, "ed", "editor")
    h = {"X-API-Key": key}
    clip = color_bars_clip(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    async with client_for(tmp_path, db, storage, max_bytes=len(clip) + 100) as c:
        r = await c.post("/uploads", json={"filename": "../../My Clip.mp4", "content_type": "video/mp4"}, headers=h)
        assert r.status_code == 201
        up = r.json()
        assert up["key"].startswith("uploads/") and up["key"].endswith("/My_Clip.mp4") and ".." not in up["key"]
        assert up["upload_url"] == f"http://testserver/uploads/{up['key']}"
        put = await c.put(up["upload_url"], content=clip, headers=h)
        assert put.status_code == 201 and storage.get_bytes(up["key"]) == clip
        assert put.json()["content_type"] == "video/mp4"
        too_big = await c.put(up["upload_url"], content=clip + b"x" * 200, headers=h)
        assert too_big.status_code == 413
        assert storage.get_bytes(up["key"]) == clip  # the refused upload did not overwrite it
        assert (await c.put("/uploads/productions/p1/video.mp4", content=b"x", headers=h)).status_code == 400
        # A job may name only what POST /uploads handed out, and only once it exists.
        missing = await c.post(
            "/video/img2vid", json={"url_image": "upload:uploads/nope/a.jpg", "duration": 1}, headers=h
        )
        assert missing.status_code == 400 and "no upload" in missing.json()["detail"]
        outside = await c.post(
            "/video/img2vid", json={"url_image": "upload:productions/p1/video.mp4", "duration": 1}, headers=h
        )
        assert outside.status_code == 400


async def test_s3_media_redirects_to_presigned_urls_and_uploads_go_to_the_bucket(
    tmp_path: Path, db: Database, moto_endpoint: str
) -> None:
    storage = S3Storage(f"tf-{uuid.uuid4().hex[:10]}", endpoint_url=moto_endpoint, cache_dir=tmp_path / "cache")
    storage.ensure_bucket()
    storage.put_bytes("productions/p1/thumb-1.jpg", BLOB, "image/jpeg")
    key = await create_key(db, "ed", "editor")
    h = {"X-API-Key": key}
    async with client_for(tmp_path, db, storage) as c, httpx.AsyncClient(trust_env=False) as outside:
        r = await c.get("/api/media/productions/p1/thumb-1.jpg", headers=h)
        assert r.status_code == 307
        location = r.headers["location"]
        assert location.startswith(moto_endpoint) and "Signature" in location
        fetched = await outside.get(location)
        assert fetched.status_code == 200 and fetched.content == BLOB
        assert (await c.get("/api/media/productions/p1/none.jpg", headers=h)).status_code == 404

        up = (await c.post("/uploads", json={"filename": "srt.srt"}, headers=h)).json()
        assert up["upload_url"].startswith(moto_endpoint) and up["use_as"] == f"upload:{up['key']}"
        put = await outside.put(up["upload_url"], content=b"1\n00:00:00,000 --> 00:00:01,000\nhi\n")
        assert put.status_code == 200
        assert storage.get_bytes(up["key"]).startswith(b"1\n00:00:00,000")
        # With S3 the API's own PUT endpoint is not used.
        assert (await c.put(f"/uploads/{up['key']}", content=b"x", headers=h)).status_code == 400


async def test_a_reviewers_broll_upload_is_probed_before_it_is_stored(tmp_path: Path, db: Database) -> None:
    """The b-roll checkpoint's upload: a clip comes back with its key and poster, anything the render
    could not decode is a 415 saying why, and the JSON body limit does not apply to it."""
    from tests.mediagen import corrupt_file
    from tubeflow.db import repo

    storage = LocalStorage(tmp_path / "storage")
    await repo.create_channel(db, "sky", "science")
    pid = (await repo.create_production(db, "sky", "Why is the sky blue?")).id
    editor, viewer = await create_key(db, "e", "editor"), await create_key(db, "v", "viewer")
    clip = color_bars_clip(tmp_path / "clip.mp4", seconds=2.0, audio=False)
    async with client_for(tmp_path, db, storage, max_bytes=4 << 20) as c:
        h = {"X-API-Key": editor}
        url = f"/api/broll-uploads/{pid}"
        ok = await c.post(url, params={"filename": "my clip.mp4"}, content=clip.read_bytes(), headers=h)
        assert ok.status_code == 201, ok.text
        item = ok.json()["item"]
        assert item["key"].startswith(f"productions/{pid}/broll/upload/") and item["kind"] == "video"
        assert item["source"] == "upload" and item["poster_url"].endswith(".jpg")
        poster = await c.get(item["poster_url"], headers=h)
        assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"

        broken = corrupt_file(tmp_path / "broken.mp4").read_bytes()
        bad = await c.post(url, params={"filename": "broken.mp4"}, content=broken, headers=h)
        assert bad.status_code == 415 and "'broken.mp4'" in bad.json()["detail"]
        words = await c.post(url, params={"filename": "a.txt"}, content=b"hello", headers=h)
        assert words.status_code == 415 and "is not a picture" in words.json()["detail"]
        big = b"\xff\xd8\xff" + bytes(2 << 20)  # over the 1 MiB JSON limit, under the upload limit
        assert (await c.post(url, content=big, headers=h)).status_code == 415  # probed, not cut at 1 MiB
        huge = await c.post(url, content=bytes(5 << 20), headers=h)
        assert huge.status_code == 413 and "limit of 4194304 bytes" in huge.json()["detail"]
        assert (await c.post(url, content=clip.read_bytes(), headers={"X-API-Key": viewer})).status_code == 403
        assert (await c.post("/api/broll-uploads/nope", content=b"x", headers=h)).status_code == 404
    assert len(storage.list(f"productions/{pid}/broll/upload/")) == 1
