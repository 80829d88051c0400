"""Channel settings, Connect YouTube (web-server flow against the fake Google), calendar and topics over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from api.app import create_app
from api.auth import create_key
from tests.fake_youtube import FakeYouTube
from tubeflow.db import repo
from tubeflow.db.engine import open_database
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings


@pytest.fixture
def google() -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        yield fake


@pytest.fixture
async def http(
    settings: Settings, google: FakeYouTube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Any]]:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)  # the setting below allows the fake's HTTP
    client_file = tmp_path / "web-client.json"
    client_file.write_text(json.dumps(google.client_config("web", ["http://testserver/oauth/callback"])))
    s = settings.with_overrides(
        secret_key=new_key(),
        youtube_client_secrets=str(client_file),
        youtube_base_url=google.base_url,
        oauth_allow_loopback_http=True,  # the fake Google speaks plain HTTP on 127.0.0.1
    )
    db = await open_database(s)
    await repo.create_channel(db, "sky", "science")
    keys = {role: await create_key(db, role, role) for role in ("admin", "editor", "viewer")}
    app = create_app(s, db=db, temporal_client=None)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c, keys, db
    finally:
        await db.close()


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


async def test_settings_patch_validates_and_needs_admin(http: tuple[httpx.AsyncClient, dict[str, str], Any]) -> None:
    c, keys, _db = http
    r = await c.patch("/api/channels/sky", json={"privacy": "public"}, headers=auth(keys, "editor"))
    assert r.status_code == 403
    # Every refused value at once, each problem naming its setting (a form marks that field); nothing saved.
    r = await c.patch(
        "/api/channels/sky", json={"privacy": "secret", "priority": 9, "cadence": True}, headers=auth(keys, "admin")
    )
    assert r.status_code == 422, r.text
    problems = {tuple(p["loc"]): p["msg"] for p in r.json()["detail"]}
    assert problems.keys() == {("body", "privacy"), ("body", "priority")}
    assert "privacy='secret'" in problems[("body", "privacy")] and "unlisted" in problems[("body", "privacy")]
    assert "1 (highest) .. 5" in problems[("body", "priority")]
    r = await c.patch("/api/channels/sky", json={"categry": "27"}, headers=auth(keys, "admin"))
    assert r.status_code == 422 and "unknown channel setting 'categry'" in r.json()["detail"][0]["msg"]
    assert not (await c.get("/api/channels/sky", headers=auth(keys, "viewer"))).json()["settings"]["cadence"]
    r = await c.patch(
        "/api/channels/sky",
        json={"publish_slots": "mon,wed,fri 17:00", "privacy": "public", "priority": 1},
        headers=auth(keys, "admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["publish_slots"] == ["mon,wed,fri 17:00"] and r.json()["settings"]["priority"] == 1
    got = (await c.get("/api/channels/sky", headers=auth(keys, "viewer"))).json()
    assert got["settings"]["privacy"] == "public" and got["youtube"] is None
    assert (await c.patch("/api/channels/nope", json={}, headers=auth(keys, "admin"))).status_code == 404

    r = await c.post("/api/channels/sky/topics", json={"topic": "Why do stars twinkle?"}, headers=auth(keys, "editor"))
    assert r.status_code == 201
    topics = (await c.get("/api/channels/sky/topics", headers=auth(keys, "viewer"))).json()
    assert [t["topic"] for t in topics] == ["Why do stars twinkle?"]
    page = await c.get("/channels/sky", headers=auth(keys, "admin"))
    assert page.status_code == 200 and "Why do stars twinkle?" in page.text and "Connect YouTube" in page.text
    cal = await c.get("/calendar", headers=auth(keys, "viewer"))
    assert cal.status_code == 200 and 'id="calendar"' in cal.text
    assert (await c.get("/api/calendar", headers=auth(keys, "viewer"))).json()["items"] == []


async def test_connect_youtube_web_flow(
    http: tuple[httpx.AsyncClient, dict[str, str], Any], google: FakeYouTube
) -> None:
    c, keys, _db = http
    assert (await c.get("/channels/sky/connect", headers=auth(keys, "editor"))).status_code == 403
    r = await c.get("/channels/sky/connect", headers=auth(keys, "admin"))
    assert r.status_code == 303 and r.headers["location"].startswith(google.base_url + "/o/oauth2/auth")
    google.consent_as = "sky"
    answer = await asyncio.to_thread(httpx.get, r.headers["location"], follow_redirects=False)  # the browser at Google
    back = urlparse(answer.headers["location"])
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert back.path == "/oauth/callback"
    forged = await c.get(f"/oauth/callback?state=forged&code={q['code']}", headers=auth(keys, "admin"))
    assert forged.status_code == 400 and "state" in forged.text
    done = await c.get(f"{back.path}?{back.query}", headers=auth(keys, "admin"))
    assert done.status_code == 303 and done.headers["location"] == "/channels/sky"
    got = (await c.get("/api/channels/sky", headers=auth(keys, "viewer"))).json()
    assert got["youtube"]["youtube_title"] == "Sky Facts" and got["youtube"]["status"] == "connected"
    body = json.dumps(got) + (await c.get("/channels/sky", headers=auth(keys, "admin"))).text
    assert google.accounts["sky"].refresh_token not in body and google.client_secret not in body
    assert "Sky Facts" in body


async def test_a_blocked_production_says_why_and_that_nothing_is_lost(
    http: tuple[httpx.AsyncClient, dict[str, str], Any],
) -> None:
    from tubeflow.contracts import ProductionStatus, Stage, State, StateSnapshot

    c, keys, db = http
    await repo.create_production(db, "sky", "Rainbows", production_id="pblocked")
    status = ProductionStatus(
        production_id="pblocked",
        channel="sky",
        niche="science",
        topic="Rainbows",
        stage=Stage.PUBLISH,
        state=State.BLOCKED,
        progress=93.0,
        detail="waiting for the YouTube quota reset at 2026-12-01T00:00:00-08:00",
        error="YouTube daily API quota exhausted during the upload request",
        updated_at="2026-11-30T23:00:00+00:00",
    )
    await repo.apply_snapshot(db, StateSnapshot(status, "production-pblocked", "r1"))
    page = await c.get("/productions/pblocked", headers=auth(keys, "editor"))
    assert page.status_code == 200 and 'id="blocked"' in page.text
    assert "waiting for the YouTube quota reset" in page.text and "Nothing is lost" in page.text
    listed = await c.get("/api/calendar", headers=auth(keys, "viewer"))
    assert {"id": "pblocked", "channel": "sky", "title": "Rainbows", "state": "blocked"} in listed.json()["pending"]


async def test_calendar_and_reschedule_refuse_times_out_of_range(
    http: tuple[httpx.AsyncClient, dict[str, str], Any],
) -> None:
    c, keys, _db = http
    r = await c.get("/api/calendar?start=9999-12-31T00:00:00&days=366", headers=auth(keys, "viewer"))
    assert r.status_code == 422
    assert (await c.get("/calendar?start=9999-12-31", headers=auth(keys, "viewer"))).status_code == 200
    r = await c.post("/api/productions/p1/schedule", json={"at": "9999-12-31T23:59:59Z"}, headers=auth(keys, "editor"))
    assert r.status_code == 422
    r = await c.post("/api/productions/p1/schedule", json={"at": "2030-01-01T10:00:00"}, headers=auth(keys, "editor"))
    assert r.status_code == 400 and "zone" in r.json()["detail"]


async def test_the_calendar_lists_the_shorts_posts_on_tiktok_and_instagram(
    http: tuple[httpx.AsyncClient, dict[str, str], Any],
) -> None:
    from datetime import UTC, datetime, timedelta

    from tubeflow.db import platform_repo

    c, keys, db = http
    await repo.create_production(db, "sky", "Rainbows", production_id="pxpost")
    await platform_repo.reserve_post(db, "sky", "pxpost", "tiktok", 0, after=datetime.now(UTC) + timedelta(hours=2))
    await platform_repo.reserve_post(db, "sky", "pxpost", "instagram", 0, after=None, status="skipped")
    await platform_repo.update_post(db, "pxpost", "instagram", 0, reason="unticked at the final checkpoint")
    got = (await c.get("/api/calendar?channel=sky", headers=auth(keys, "viewer"))).json()
    assert sorted((p["platform"], p["idx"], p["status"]) for p in got["platform_posts"]) == [
        ("instagram", 0, "skipped"), ("tiktok", 0, "reserved"),
    ]  # fmt: skip
    page = (await c.get("/calendar?channel=sky", headers=auth(keys, "viewer"))).text
    assert (
        page.count('data-platform="tiktok"') == 1 and 'data-platform="instagram"' not in page
    )  # skipped: nothing goes
    assert "Rainbows" in page and "Short&nbsp;1" in page
