"""Two channels, two (fake) Google accounts: connect through Google's OAuth libraries, publish each to its own.

The fake (tests/fake_youtube.py) is a local HTTP server speaking Google's OAuth 2.0 (authorization
endpoint with PKCE, code and refresh grants) and the YouTube Data API; the production code talks
to it unchanged: its endpoints come from the OAuth client JSON and TUBEFLOW_YOUTUBE_BASE_URL.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import webbrowser
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from activities.calendar import move_publication, publish_on_calendar
from activities.youtube_connect import WebConnector, connect_installed
from tests.fake_youtube import FakeYouTube
from tests.test_publishers import SCRIPT as PUBLISHER_SCRIPT
from tests.test_publishers import TIMING
from tubeflow.channel_settings import SettingsInvalid, parse_settings, updated
from tubeflow.contracts import PublishRequest
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import open_database
from tubeflow.errors import AccountNeedsReconnect, ConfigError, PermanentError, QuotaExhausted
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

# The publishers' test script and timing; here its description carries a Sources block, which the
# metadata must not repeat.
SCRIPT = {
    **PUBLISHER_SCRIPT,
    "description": "Why is the sky blue?\n\nSources:\n- https://en.wikipedia.org/wiki/Rayleigh_scattering",
}
WORDS = [
    {"word": "Look", "start": 0.1, "end": 0.4},
    {"word": "up.", "start": 0.45, "end": 0.9},
    {"word": "Sunlight", "start": 3.4, "end": 3.9},
    {"word": "scatters.", "start": 4.0, "end": 4.6},
]


class _FollowRedirects(webbrowser.BaseBrowser):
    """A "browser" already signed in at the fake Google: it follows the consent redirect to the loopback."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        threading.Thread(target=httpx.get, args=(url,), kwargs={"follow_redirects": True, "timeout": 10}).start()
        return True


webbrowser.register("tubeflow-test", None, _FollowRedirects("tubeflow-test"))


@pytest.fixture
def google() -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        fake.add_account("money", "Money Matters")
        yield fake


@pytest.fixture
def insecure_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake Google is plain HTTP on 127.0.0.1: TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP (channel_settings)
    # allows it, not a process-wide OAUTHLIB_INSECURE_TRANSPORT.
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Any]:
    database = await open_database(settings)
    try:
        yield database
    finally:
        await database.close()


def store_media(store: LocalStorage, pid: str) -> None:
    store.put_bytes(f"productions/{pid}/video.mp4", os.urandom(300 * 1024), "video/mp4")
    store.put_bytes(f"productions/{pid}/thumb.jpg", b"\xff\xd8\xff\xe0" + os.urandom(500), "image/jpeg")
    store.put_text(f"productions/{pid}/timing-v1.json", TIMING.to_json())
    store.put_text(f"productions/{pid}/words.json", json.dumps(WORDS))


def long_request(pid: str, channel: str) -> PublishRequest:
    return PublishRequest(
        pid, channel, f"productions/{pid}/video.mp4", f"productions/{pid}/thumb.jpg", "s", extra={"duration_s": 48.0}
    )


def channel_settings(google: FakeYouTube, settings: Settings, tmp_path: Path) -> Settings:
    client = tmp_path / "client.json"
    client.write_text(json.dumps(google.client_config("installed")))
    return settings.with_overrides(
        secret_key=new_key(),
        youtube_client_secrets=str(client),
        youtube_base_url=google.base_url,
        oauth_allow_loopback_http=True,
    )


async def test_two_channels_publish_to_their_own_accounts_and_slots(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any, insecure_loopback: None
) -> None:
    s = channel_settings(google, settings, tmp_path)
    store = LocalStorage(tmp_path / "store")
    slots = {"sky": "mon,wed,fri 17:00", "money": "tue,thu 09:30"}
    for name, account in (("sky", "sky"), ("money", "money")):
        await repo.create_channel(db, name, "science")
        await channel_repo.update_settings(
            db,
            name,
            {
                "publish_slots": slots[name],
                "timezone": "Europe/Lisbon",
                "privacy": "public",
                "playlist": f"PL{name}0123456789",
                "default_tags": f"{name}-tag",
            },
        )
        google.consent_as = account
        got = await connect_installed(s, db, name, browser="tubeflow-test")
        assert got.youtube_title == google.accounts[account].title
        assert got.youtube_channel_id == google.accounts[account].channel_id

    # Stored encrypted: the refresh tokens appear nowhere in the database file.
    raw = (s.home / "tubeflow.db").read_bytes() + (s.home / "tubeflow.db-wal").read_bytes()
    for acc in google.accounts.values():
        assert acc.refresh_token.encode() not in raw
    shown = await channel_repo.get_account(db, "sky")
    assert shown is not None and "refresh" not in json.dumps(shown.to_dict())

    now = datetime.now(UTC)
    published: dict[str, list[str]] = {"sky": [], "money": []}
    for i, name in enumerate(["sky", "money", "sky", "money"]):
        pid = f"p{i}{name}"
        await repo.create_production(db, name, f"topic {i}", production_id=pid)
        store_media(store, pid)
        res = await publish_on_calendar(s, store, db, long_request(pid, name), SCRIPT)
        published[name].append(res.video_id)

    for name in ("sky", "money"):
        mine = google.videos_of(name)
        assert sorted(mine) == sorted(published[name])  # each channel on its own account, nothing crossed
        cs = parse_settings((await repo.get_channel(db, name)).settings)
        entries = await channel_repo.list_publications(db, name)
        assert [e.video_id for e in entries] == published[name]
        times = [e.publish_at for e in entries]
        assert times[0] != times[1] and all(t is not None and t > now for t in times)
        for e in entries:
            assert e.publish_at is not None
            local = e.publish_at.astimezone(ZoneInfo(cs.timezone))
            assert (local.hour, local.minute) == ((17, 0) if name == "sky" else (9, 30))
            assert local.strftime("%a").lower() in cs.publish_slots[0]
            video = google.videos[e.video_id]
            status = video["status"]
            assert status["privacyStatus"] == "private" and status["containsSyntheticMedia"] is True
            assert status["publishAt"] == e.publish_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert status["selfDeclaredMadeForKids"] is False
            assert f"{name}-tag" in video["snippet"]["tags"]
            assert video["snippet"]["description"].count("Rayleigh_scattering") == 1  # "Sources" once
            assert "thumbnail" in video
        caps = [c for c in google.captions if c["videoId"] in published[name]]
        assert len(caps) == 2 and all(c["language"] == "en" for c in caps)
        assert "00:00:00,100 --> 00:00:00,900\nLook up." in caps[0]["body"]
        items = [p for p in google.playlist_items if p["account"] == name]
        assert {p["playlistId"] for p in items} == {f"PL{name}0123456789"} and len(items) == 2

    # The ledger counted the documented costs: 4 x (upload 1600 + thumbnail 50 + captions 400 + playlist 50).
    from tubeflow.youtube_quota import pacific_day

    assert await channel_repo.quota_used(db, "fake-project", pacific_day(now)) == 4 * 2100 == google.quota_used

    # Rescheduling goes through videos.update.
    first = (await channel_repo.list_publications(db, "sky"))[0]
    later = (first.publish_at or now) + timedelta(days=30)
    moved = await move_publication(s, db, first.production_id, later)
    assert moved.publish_at == later and google.videos[first.video_id]["status"]["publishAt"] == later.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


async def test_quota_budget_and_revoked_account_stop_publishing_without_duplicates(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any, insecure_loopback: None
) -> None:
    s = channel_settings(google, settings, tmp_path).with_overrides(youtube_daily_quota=2500)
    store = LocalStorage(tmp_path / "store")
    await repo.create_channel(db, "sky", "science")
    google.consent_as = "sky"
    await connect_installed(s, db, "sky", browser="tubeflow-test")
    for pid in ("q1", "q2"):
        await repo.create_production(db, "sky", pid, production_id=pid)
        store_media(store, pid)
    await publish_on_calendar(s, store, db, long_request("q1", "sky"), SCRIPT)
    before = google.quota_used
    with pytest.raises(QuotaExhausted) as err:  # 2050 + 2050 > 2500: refused before any call
        await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)
    assert google.quota_used == before and len(google.videos_of("sky")) == 1
    assert datetime.fromisoformat(err.value.reset_at) > datetime.now(UTC)

    # YouTube saying "quota exceeded" anyway (another client on the project) also waits for the reset.
    s = s.with_overrides(youtube_daily_quota=100_000)
    google.quota_exceeded = True
    with pytest.raises(QuotaExhausted):
        await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)
    google.quota_exceeded = False

    # A revoked authorization: the channel is marked, the publish refuses until reconnected.
    async with db.session() as session:  # the ledger's day is over: the quota was reset
        from sqlalchemy import delete

        from tubeflow.db.models import QuotaUsageRow

        await session.execute(delete(QuotaUsageRow))
    google.revoke_account("sky")
    with pytest.raises(AccountNeedsReconnect):
        await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)
    account = await channel_repo.get_account(db, "sky")
    assert account is not None and account.status == "reconnect_needed" and "revoked" in account.reason
    events = [e for e in await repo.events_since(db) if e.kind == "account_reconnect_needed"]
    assert [e.payload["channel"] for e in events] == ["sky"]  # the notification hook point, once
    with pytest.raises(AccountNeedsReconnect, match="tubeflow channel connect sky"):
        await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)
    await connect_installed(s, db, "sky", browser="tubeflow-test")
    await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)
    await publish_on_calendar(s, store, db, long_request("q2", "sky"), SCRIPT)  # a retried activity
    assert len(google.videos_of("sky")) == 2  # q1 and q2, each exactly once


async def test_connecting_refuses_without_a_secret_key(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any
) -> None:
    s = channel_settings(google, settings, tmp_path).with_overrides(secret_key="")
    await repo.create_channel(db, "sky", "science")
    with pytest.raises(ConfigError, match="TUBEFLOW_SECRET_KEY is not set"):
        await connect_installed(s, db, "sky", browser="tubeflow-test")
    assert google.token_grants == 0 and await channel_repo.get_account(db, "sky") is None


async def test_web_flow_checks_state_and_pkce(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any, insecure_loopback: None
) -> None:
    client = tmp_path / "web.json"
    client.write_text(json.dumps(google.client_config("web", ["http://127.0.0.1:8000/oauth/callback"])))
    s = settings.with_overrides(
        secret_key=new_key(),
        youtube_client_secrets=str(client),
        youtube_base_url=google.base_url,
        oauth_allow_loopback_http=True,
    )
    await repo.create_channel(db, "money", "science")
    connector = WebConnector(s)
    url = connector.start("money", "http://127.0.0.1:8000/oauth/callback")
    google.consent_as = "money"
    answer = await asyncio.to_thread(httpx.get, url, follow_redirects=False)
    assert answer.status_code == 302
    from urllib.parse import parse_qs, urlparse

    # Refused for what it is (any error mentioning "state" passed before, a crash in the OAuth library too).
    refused_state = "does not match a Connect YouTube request"
    q = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}
    with pytest.raises(PermanentError, match=refused_state):
        await connector.finish(db, "forged-state", q["code"])
    altered = q["state"][:-6] + ("A" if q["state"][-6] != "A" else "B") + q["state"][-5:]
    with pytest.raises(PermanentError, match=refused_state):
        await connector.finish(db, altered, q["code"])
    other_key = WebConnector(s.with_overrides(secret_key=new_key()))
    with pytest.raises(PermanentError, match=refused_state):
        await other_key.finish(db, q["state"], q["code"])
    assert "verifier" not in q["state"] and "money" not in q["state"], "what the state carries is sealed"
    # Another API replica (a new connector, nothing shared but the key) finishes the flow.
    replica = WebConnector(s)
    account = await replica.finish(db, q["state"], q["code"])
    assert account.youtube_title == "Money Matters"
    with pytest.raises(PermanentError, match=refused_state):  # a state is good once
        await replica.finish(db, q["state"], q["code"])


async def test_shorts_follow_their_video_at_the_channel_spacing(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any, insecure_loopback: None
) -> None:
    s = channel_settings(google, settings, tmp_path)
    store = LocalStorage(tmp_path / "store")
    await repo.create_channel(db, "sky", "science")
    await channel_repo.update_settings(
        db, "sky", {"publish_slots": "sat 10:00", "privacy": "public", "shorts_spacing_hours": "6"}
    )
    google.consent_as = "sky"
    await connect_installed(s, db, "sky", browser="tubeflow-test")
    await repo.create_production(db, "sky", "t", production_id="ps")
    store_media(store, "ps")
    await publish_on_calendar(s, store, db, long_request("ps", "sky"), SCRIPT)
    for i in (0, 1):
        store.put_bytes(f"productions/ps/shorts/short-{i}.mp4", os.urandom(1000), "video/mp4")
        short = PublishRequest(
            "ps", "sky", f"productions/ps/shorts/short-{i}.mp4", "", "s", kind="short",
            extra={"index": i, "title": f"Short {i}", "start": 3.0, "end": 33.0},
        )  # fmt: skip
        await publish_on_calendar(s, store, db, short, SCRIPT)
    long, *shorts = await channel_repo.list_publications(db, "sky")
    assert long.kind == "long" and long.publish_at is not None
    assert [p.publish_at for p in shorts] == [long.publish_at + timedelta(hours=6 * (i + 1)) for i in (0, 1)]
    for p in shorts:
        status = google.videos[p.video_id]["status"]
        assert status["publishAt"] == (p.publish_at or long.publish_at).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert google.videos[p.video_id]["snippet"]["title"].endswith("#shorts")
    assert not [c for c in google.captions if c["videoId"] in {p.video_id for p in shorts}]  # burned in instead


async def test_the_global_credentials_file_still_serves_a_channel_without_an_account(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any
) -> None:
    creds = google.credentials_file(tmp_path / "creds.json")
    s = settings.with_overrides(publisher="youtube", youtube_credentials=str(creds), youtube_base_url=google.base_url)
    store = LocalStorage(tmp_path / "store")
    await repo.create_channel(db, "solo", "science")
    await repo.create_production(db, "solo", "t", production_id="pg")
    store_media(store, "pg")
    res = await publish_on_calendar(s, store, db, long_request("pg", "solo"), SCRIPT)
    assert list(google.videos_of("default")) == [res.video_id]
    from tubeflow.youtube_quota import pacific_day

    assert await channel_repo.quota_used(db, "default", pacific_day(datetime.now(UTC))) == 2050


async def test_a_private_channel_with_slots_is_not_called_scheduled(
    google: FakeYouTube, settings: Settings, tmp_path: Path, db: Any, insecure_loopback: None
) -> None:
    """The private-slots trap: YouTube gets no publishAt for a private upload, so nothing holds a slot."""
    from sqlalchemy import update

    from tubeflow.db.models import ChannelRow

    with pytest.raises(SettingsInvalid, match="publish_slots needs privacy=public"):
        updated({}, {"publish_slots": "sat 10:00"})
    with pytest.raises(SettingsInvalid, match="publish_slots needs privacy=public"):
        updated({"publish_slots": ["sat 10:00"], "privacy": "public"}, {"privacy": "unlisted"})
    s = channel_settings(google, settings, tmp_path).with_overrides(youtube_daily_quota=100_000)
    store = LocalStorage(tmp_path / "store")
    await repo.create_channel(db, "quiet", "science")
    # Stored before slots needed privacy=public: the combination must still publish honestly.
    async with db.session() as session:
        await session.execute(
            update(ChannelRow).where(ChannelRow.name == "quiet").values(settings={"publish_slots": ["sat 10:00"]})
        )
    google.consent_as = "sky"
    await connect_installed(s, db, "quiet", browser="tubeflow-test")
    for pid in ("pq1", "pq2"):
        await repo.create_production(db, "quiet", "t", production_id=pid)
        store_media(store, pid)
        await publish_on_calendar(s, store, db, long_request(pid, "quiet"), SCRIPT)
        for i in (0, 1):
            store.put_bytes(f"productions/{pid}/shorts/short-{i}.mp4", os.urandom(1000), "video/mp4")
            short = PublishRequest(
                pid, "quiet", f"productions/{pid}/shorts/short-{i}.mp4", "", "s", kind="short",
                extra={"index": i, "title": f"Short {i}", "start": 3.0, "end": 33.0},
            )  # fmt: skip
            await publish_on_calendar(s, store, db, short, SCRIPT)
    pubs = await channel_repo.list_publications(db, "quiet")
    assert len(pubs) == 6
    for p in pubs:
        assert p.publish_at is None, f"{p.kind} {p.idx} of {p.production_id} holds a slot it will never use"
        assert p.status == "private"
        assert "publishAt" not in google.videos[p.video_id]["status"]
