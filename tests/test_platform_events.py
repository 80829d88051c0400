"""A Short on TikTok and Instagram tells people: the production's event feed and notifications.

The real cross-posting activity code (activities/cross_posting.py) against the local fakes of
TikTok and Instagram, a real SQLite database and storage, and a local webhook receiver that
verifies signatures (tests/test_notifications.py's).  The channel's time zone is Asia/Kolkata
(UTC+5:30), so a time left in UTC would show.  The workflow side (the Shorts workflow calling
this activity) is tested in tests/test_platform_publishing.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from activities import platform_events
from activities.cross_posting import cross_post
from activities.platform_connect import connect_loopback
from tests.conftest import tiny_settings
from tests.fake_instagram import FakeInstagram
from tests.fake_tiktok import FakeTikTok
from tests.mediagen import color_bars_clip
from tests.test_notifications import SECRET, events
from tests.test_platform_publishing import consent, instagram, receiver, tiktok  # noqa: F401 (fixtures)
from tubeflow.contracts import CrossPostRequest
from tubeflow.db import channel_repo, platform_repo, repo
from tubeflow.db.engine import Database, open_database
from tubeflow.errors import AccountNeedsReconnect, PermanentError, PostingCapReached
from tubeflow.events import EventKind
from tubeflow.keys import ProductionKeys
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage

TOPIC = "Why is the sky blue?"
TZ = "Asia/Kolkata"
SCRIPT = {"title": "Sky", "description": "Why the sky is blue.", "tags": ["sky", "light"]}


@dataclass
class Rig:
    settings: Settings
    db: Database
    storage: Storage
    state: dict[str, Any]  # what the receiver got
    pid: str

    def req(self, platform: str, index: int) -> CrossPostRequest:
        return CrossPostRequest(
            self.pid, "sky", platform, index, ProductionKeys(self.pid).short(index), "", f"Short {index + 1}"
        )

    async def post(self, platform: str, index: int) -> Any:
        return await cross_post(self.settings, self.storage, self.db, self.req(platform, index), SCRIPT)

    async def feed(self, kind: EventKind | None = None) -> list[dict[str, Any]]:
        """The production's platform events, as the live feed flattens them."""
        out = []
        for e in await repo.events_since(self.db, production_id=self.pid):
            if e.kind.startswith("platform_") and (kind is None or e.kind == kind):
                out.append({**e.payload, "kind": e.kind})
        return out

    def told(self, event: str) -> list[dict[str, Any]]:
        return events(self.state, event, self.pid)

    def discord(self) -> list[str]:
        with self.state["lock"]:
            return [str(m["content"]) for m in self.state["discord"]]


@pytest.fixture
async def rig(
    tmp_path: Path,
    tiktok: FakeTikTok,  # noqa: F811
    instagram: FakeInstagram,  # noqa: F811
    receiver: tuple[str, dict[str, Any]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Rig]:
    base, state = receiver
    settings = tiny_settings(
        tmp_path, secret_key=new_key(),
        tiktok_client_key=tiktok.client_key, tiktok_client_secret=tiktok.client_secret,
        tiktok_base_url=tiktok.base_url, tiktok_auth_url=tiktok.auth_url,
        facebook_app_id=instagram.app_id, facebook_app_secret=instagram.app_secret,
        instagram_graph_url=instagram.graph_url, instagram_upload_url=instagram.upload_url,
        facebook_auth_url=instagram.auth_url,
        webhooks=f"audit=json:{base}/hook; team=discord:{base}/discord", webhook_secret=SECRET,
        public_base_url="https://tubeflow.example.org",
    )  # fmt: skip
    instagram.processing_polls = 0
    monkeypatch.setattr(platform_events, "FIRST_PAUSE_S", 0.01)
    db = await open_database(settings)
    storage = open_storage(settings)
    try:
        await repo.create_channel(db, "sky", "science")
        await channel_repo.update_settings(db, "sky", {"timezone": TZ})
        await connect_loopback(settings, db, "sky", "tiktok", open_browser=False, on_url=consent)
        await connect_loopback(settings, db, "sky", "instagram", open_browser=False, on_url=consent)
        pid = (await repo.create_production(db, "sky", TOPIC)).id
        clip = color_bars_clip(tmp_path / "short.mp4", seconds=2.0, width=180, height=320)
        for i in (0, 1):
            storage.put_file(ProductionKeys(pid).short(i), clip)
            for platform in ("tiktok", "instagram"):
                await platform_repo.reserve_post(db, "sky", pid, platform, i, after=None)
        yield Rig(settings, db, storage, state, pid)
    finally:
        await db.close()


def local_hhmm(at: datetime) -> str:
    return at.astimezone(ZoneInfo(TZ)).strftime("%H:%M")


async def test_a_post_is_told_once_in_the_channels_time_zone_with_its_link(rig: Rig) -> None:
    await rig.post("tiktok", 0)  # a private channel: SELF_ONLY, TikTok gives no public post id
    await rig.post("instagram", 0)
    tt = next(p for p in await platform_repo.list_posts(rig.db, "sky") if p.platform == "tiktok" and p.idx == 0)
    ig = next(p for p in await platform_repo.list_posts(rig.db, "sky") if p.platform == "instagram" and p.idx == 0)
    assert tt.posted_at and ig.posted_at and ig.location.startswith("https://") and tt.location == ""
    assert local_hhmm(tt.posted_at) != tt.posted_at.astimezone(UTC).strftime("%H:%M")  # UTC+5:30 shows

    feed = await rig.feed(EventKind.PLATFORM_PUBLISHED)
    assert [(e["platform"], e["index"]) for e in feed] == [("tiktok", 0), ("instagram", 0)]
    assert (
        feed[0]["summary"]
        == f"Short 1 published to TikTok at {local_hhmm(tt.posted_at)} ({TZ}), private, no public link"
    )
    assert feed[0]["private"] is True and feed[0]["location"] == ""
    assert feed[1]["summary"] == f"Short 1 published to Instagram at {local_hhmm(ig.posted_at)} ({TZ}): {ig.location}"
    assert not {"stage", "state", "progress", "detail"} & set(feed[0]), "would move the dashboard's stage bar"

    # The signed JSON webhook and the Discord channel: the sentence, and the dashboard's page.
    [hook_tt] = rig.told("platform_published")[:1]
    assert hook_tt["summary"] == f"{TOPIC}: {feed[0]['summary']}"
    assert hook_tt["link"] == f"https://tubeflow.example.org/productions/{rig.pid}"
    assert hook_tt["data"]["platform"] == "tiktok" and hook_tt["data"]["timezone"] == TZ
    assert rig.discord()[1] == f"{TOPIC}: {feed[1]['summary']}\nhttps://tubeflow.example.org/productions/{rig.pid}"

    # The activity run again (Temporal retrying it) finds the post published: nothing new is told.
    await rig.post("tiktok", 0)
    assert len(await rig.feed()) == 2 and len(rig.told("platform_published")) == 2


async def test_waits_are_told_when_they_begin_and_failures_every_time(rig: Rig, tiktok: FakeTikTok) -> None:  # noqa: F811
    tiktok.daily_cap = 0  # TikTok says spam_risk_too_many_posts
    for _ in range(2):
        with pytest.raises(PostingCapReached):
            await rig.post("tiktok", 0)
    [waiting] = await rig.feed(EventKind.PLATFORM_WAITING)
    assert waiting["until"] and waiting["reason"]
    until = datetime.fromisoformat(waiting["until"]).astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")
    assert waiting["summary"].startswith(f"Short 1 waits for the TikTok daily cap until {until} ({TZ}): ")
    assert len(rig.told("platform_waiting")) == 1, "the second try hit the same cap: no news"

    # The account is revoked: blocked once, however often the workflow's half-hourly poll asks.
    tiktok.daily_cap = None
    tiktok.revoke()
    for _ in range(3):
        with pytest.raises(AccountNeedsReconnect):
            await rig.post("tiktok", 0)
    [blocked] = await rig.feed(EventKind.PLATFORM_BLOCKED)
    assert "tubeflow channel connect sky --platform tiktok" in blocked["summary"]
    assert len(rig.told("platform_blocked")) == 1

    # Instagram disconnected: each try is a failure a person retried, each is told.
    await platform_repo.remove_account(rig.db, "sky", "instagram")
    for _ in range(2):
        with pytest.raises(PermanentError):
            await rig.post("instagram", 1)
    attention = await rig.feed(EventKind.PLATFORM_NEEDS_ATTENTION)
    assert [e["index"] for e in attention] == [1, 1]
    assert attention[0]["summary"].startswith("Short 2 on Instagram needs attention: channel 'sky' has no Instagram")
    assert len(rig.told("platform_needs_attention")) == 2
    assert any(m.startswith(f"{TOPIC}: Short 2 on Instagram needs attention") for m in rig.discord())


async def test_a_broken_receiver_is_dead_lettered_and_the_post_stands(
    rig: Rig,
    receiver: tuple[str, Any],  # noqa: F811
) -> None:
    base, state = receiver
    rig.settings = rig.settings.with_overrides(webhooks=f"down=json:{base}/broken")
    result = await rig.post("instagram", 1)
    assert result.post_id
    [post] = [p for p in await platform_repo.list_posts(rig.db, "sky") if p.platform == "instagram" and p.idx == 1]
    assert post.status == "published"
    assert state["broken"] == platform_events.DELIVERY_TRIES
    letters = [k for k in rig.storage.list("notifications/dead-letter/") if k.endswith(".json")]
    [letter] = [json.loads(rig.storage.get_text(k)) for k in letters]
    assert letter["event"] == "platform_published" and letter["target"] == "down (json)"
