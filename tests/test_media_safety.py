"""Stored and uploaded files are served so none can run as a page on our origin (issue 16, item 2).

An editor who uploads an ``.html`` or ``.svg`` with a script must not be able to make a reviewer's
browser run it with the reviewer's session: uploads are probed and refused unless they are media a
job can use, and whatever is in storage is typed by its bytes, media inline, the rest a download,
always with ``nosniff`` and a sandboxing CSP.  Upload slots belong to the key that asked for them,
under a per-key quota.  S3 is moto's real HTTP server: presigned URLs carry the same type and
disposition.
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
from tests.mediagen import color_bars_clip, still_image, tone_wav
from tubeflow.db.engine import Database, open_database
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage, S3Storage, Storage

SCRIPT_HTML = b"<!doctype html><html><body><script>fetch('/api/channels',{method:'POST'})</script></body></html>"
SCRIPT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
XHTML = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'
SRT = b"1\n00:00:00,000 --> 00:00:01,000\nHello\n"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(Settings(home=tmp_path))
    yield database
    await database.close()


def app_for(tmp_path: Path, db: Database, storage: Storage, **settings: object) -> object:
    s = Settings(home=tmp_path, public_base_url="https://tubeflow.example", **settings)  # type: ignore[arg-type]
    return create_app(s, db=db, storage=storage, fetch_policy=FetchPolicy(max_bytes=4 << 20))


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")  # type: ignore[arg-type]


def local_path(url: str) -> str:
    assert url.startswith("https://tubeflow.example/")
    return url[len("https://tubeflow.example") :]


async def test_script_uploads_are_refused_and_real_media_accepted(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    h = {"X-API-Key": await create_key(db, "mallory", "editor")}
    media = {
        "clip.mp4": color_bars_clip(tmp_path / "clip.mp4", seconds=1.0).read_bytes(),
        "still.png": still_image(tmp_path / "still.png").read_bytes(),
        "tone.wav": tone_wav(tmp_path / "tone.wav").read_bytes(),
        "subs.srt": SRT,
    }
    async with client(app_for(tmp_path, db, storage)) as c:
        for name, body in [
            ("x.html", SCRIPT_HTML),
            ("x.svg", SCRIPT_SVG),
            ("x.xhtml", XHTML),
            ("fake.mp4", SCRIPT_HTML),
        ]:
            up = (await c.post("/uploads", json={"filename": name, "content_type": "video/mp4"}, headers=h)).json()
            r = await c.put(local_path(up["upload_url"]), content=body, headers=h)
            assert r.status_code == 415, (name, r.text)
            assert "not audio, video" in r.json()["detail"]
            assert not storage.exists(up["key"])
        for name, body in media.items():
            up = (await c.post("/uploads", json={"filename": name}, headers=h)).json()
            r = await c.put(local_path(up["upload_url"]), content=body, headers=h)
            assert r.status_code == 201, (name, r.text)
        assert {k.rsplit("/", 1)[1] for k in storage.list("uploads")} == set(media)


async def test_stored_files_are_typed_by_their_bytes_and_only_media_is_inline(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    storage.put_bytes("jobs/j1/image.jpg", SCRIPT_HTML)  # an HTML body under a media name
    storage.put_bytes("jobs/j1/pic.svg", SCRIPT_SVG)
    storage.put_bytes("productions/p1/script-v1.json", b'{"title": "<script>alert(1)</script>"}')
    storage.put_file("productions/p1/thumb.png", still_image(tmp_path / "t.png"))
    storage.put_file("productions/p1/narration.wav", tone_wav(tmp_path / "n.wav"))
    h = {"X-API-Key": await create_key(db, "rita", "viewer")}
    async with client(app_for(tmp_path, db, storage)) as c:
        downloads = [
            ("jobs/j1/image.jpg", "application/octet-stream"),
            ("jobs/j1/pic.svg", "application/octet-stream"),
            ("productions/p1/script-v1.json", "application/json"),
        ]
        for key, ctype in downloads:
            r = await c.get(f"/api/media/{key}", headers=h)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].split(";")[0] == ctype, key
            assert r.headers["content-disposition"].startswith("attachment"), key
            assert r.headers["x-content-type-options"] == "nosniff"
            csp = r.headers["content-security-policy"]
            assert "sandbox" in csp and "default-src 'none'" in csp
        for key, ctype in [("productions/p1/thumb.png", "image/png"), ("productions/p1/narration.wav", "audio/wav")]:
            r = await c.get(f"/api/media/{key}", headers=h)
            assert r.headers["content-type"] == ctype and r.headers["content-disposition"] == "inline", key
            assert "sandbox" in r.headers["content-security-policy"]
        # Every dashboard page carries the page policy: only our own script, no inline script, no framing.
        page = await c.get("/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp and page.headers["x-content-type-options"] == "nosniff"


async def test_upload_slots_belong_to_their_key_and_have_a_quota(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    alice = {"X-API-Key": await create_key(db, "alice", "editor")}
    bob = {"X-API-Key": await create_key(db, "bob", "editor")}
    png = still_image(tmp_path / "s.png").read_bytes()
    app = app_for(tmp_path, db, storage, upload_quota_files=2, upload_quota_bytes=len(png) + 10)
    async with client(app) as c:
        up = (await c.post("/uploads", json={"filename": "a.png"}, headers=alice)).json()
        assert (await c.put(local_path(up["upload_url"]), content=png, headers=bob)).status_code == 403
        made_up = f"/uploads/uploads/{uuid.uuid4().hex}/x.png"  # a key nobody issued
        assert (await c.put(made_up, content=png, headers=alice)).status_code == 404
        assert (await c.put(local_path(up["upload_url"]), content=png, headers=alice)).status_code == 201
        job = {"url_image": up["use_as"], "duration": 1}
        r = await c.post("/video/img2vid", json=job, headers=bob)
        assert r.status_code == 403 and "another key" in r.json()["detail"]
        # Quota: bytes over 24 h, then files.
        second = (await c.post("/uploads", json={"filename": "b.png"}, headers=alice)).json()
        r = await c.put(local_path(second["upload_url"]), content=png, headers=alice)
        assert r.status_code == 413 and "quota" in r.json()["detail"]
        r = await c.post("/uploads", json={"filename": "c.png"}, headers=alice)
        assert r.status_code == 429 and "TUBEFLOW_UPLOAD_QUOTA_FILES" in r.json()["detail"]
        assert (await c.post("/uploads", json={"filename": "c.png"}, headers=bob)).status_code == 201  # per key


async def test_absolute_urls_come_from_the_public_base_url_not_the_host_header(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "storage")
    h = {"X-API-Key": await create_key(db, "ed", "editor"), "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    async with client(app_for(tmp_path, db, storage)) as c:
        up = (await c.post("/uploads", json={"filename": "a.png"}, headers=h)).json()
    assert up["upload_url"].startswith("https://tubeflow.example/uploads/uploads/")
    assert Settings(api_host="0.0.0.0", api_port=9000).resolved_public_base_url() == "http://0.0.0.0:9000"


async def test_s3_presigned_media_carries_the_sniffed_type_and_uploads_are_probed(
    tmp_path: Path, db: Database, moto_endpoint: str
) -> None:
    storage = S3Storage(f"tf-{uuid.uuid4().hex[:10]}", endpoint_url=moto_endpoint, cache_dir=tmp_path / "cache")
    storage.ensure_bucket()
    storage.put_bytes("jobs/j1/image.jpg", SCRIPT_HTML, "text/html")  # the bucket's own type is a lie
    storage.put_file("productions/p1/thumb.png", still_image(tmp_path / "t.png"), "image/png")
    h = {"X-API-Key": await create_key(db, "ed", "editor")}
    async with client(app_for(tmp_path, db, storage)) as c, httpx.AsyncClient(trust_env=False) as outside:
        r = await c.get("/api/media/jobs/j1/image.jpg", headers=h)
        assert r.status_code == 307
        got = await outside.get(r.headers["location"])
        assert got.status_code == 200 and got.content == SCRIPT_HTML
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment")
        r = await c.get("/api/media/productions/p1/thumb.png", headers=h)
        got = await outside.get(r.headers["location"])
        assert got.headers["content-type"] == "image/png" and got.headers["content-disposition"] == "inline"

        # A presigned upload skips the API, so it is probed when a job names it.
        up = (await c.post("/uploads", json={"filename": "x.png"}, headers=h)).json()
        assert (await outside.put(up["upload_url"], content=SCRIPT_SVG)).status_code == 200
        r = await c.post("/video/img2vid", json={"url_image": up["use_as"], "duration": 1}, headers=h)
        assert r.status_code == 415, r.text
