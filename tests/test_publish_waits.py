"""Reviewed work is never thrown away: quota and revoked tokens make publishing wait, then it publishes once.

Full productions through the real dev server, real activities and tiny media, published to the
fake Google/YouTube server.  The only test hook is the clock of the quota ledger: "midnight
Pacific" is made to come seconds after the quota runs out, and the ledger's day turns when the
test says the reset happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import activities.calendar
import activities.youtube
from activities.youtube_connect import connect_installed
from service.client import get_status, signal_reconnected, start_production
from tests.conftest import tiny_settings
from tests.fake_youtube import FakeYouTube
from tests.test_channel_accounts import _FollowRedirects  # noqa: F401  (registers the test browser)
from tests.workflow_helpers import Stack, running_stack, wait_for, wait_for_row
from tubeflow.db import channel_repo, repo
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings

TOPIC = "Why is the sky blue?"


def video_id(st: Any) -> str:
    """The published video id from the status (outputs as a mapping or as a dataclass)."""
    out = st.outputs
    return str(out["video_id"] if isinstance(out, dict) else out.video_id)


@pytest.fixture
def google() -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        fake.consent_as = "sky"
        yield fake


def youtube_settings(tmp_path: Path, google: FakeYouTube) -> Settings:
    """Publishing to the fake Google through the installed-app OAuth client."""
    client_file = tmp_path / "client.json"
    client_file.write_text(json.dumps(google.client_config("installed")))
    return tiny_settings(
        tmp_path,
        secret_key=new_key(),
        youtube_client_secrets=str(client_file),
        youtube_base_url=google.base_url,
        oauth_allow_loopback_http=True,  # the fake Google speaks plain HTTP on 127.0.0.1
    )


async def connected_channel(stack: Stack, settings: Settings) -> None:
    """Channel "sky" connected to the fake account "sky", no checkpoint reviewed by a person."""
    await repo.create_channel(stack.db, "sky", "science")
    await channel_repo.update_settings(stack.db, "sky", {"required_checkpoints": "none"})
    await connect_installed(settings, stack.db, "sky", browser="tubeflow-test")


async def test_quota_then_revoked_token_each_publish_exactly_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, google: FakeYouTube, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = ["day-1"]
    # "Midnight Pacific" 50 s ago, so the workflow's wait (reset + 1 min margin) is about 10 s.
    monkeypatch.setattr(activities.youtube, "next_reset", lambda now: now - timedelta(seconds=50))
    monkeypatch.setattr(activities.calendar, "next_reset", lambda now: now - timedelta(seconds=50))
    monkeypatch.setattr(activities.calendar, "pacific_day", lambda now: day[0])
    settings = youtube_settings(tmp_path, google)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await connected_channel(stack, settings)

        # 1. YouTube says the quota is gone: the production waits (blocked), then publishes once.
        google.quota_exceeded = True
        pid = await start_production(client, stack.db, settings, "sky", TOPIC, make_shorts=False)
        blocked = await wait_for(client, pid, lambda s: s.state == "blocked", 300, "blocked on quota")
        assert blocked.stage == "publish" and "quota" in (blocked.error or "")
        assert "waiting for the YouTube quota reset" in blocked.detail
        # The workflow waits ~10 s blocked: its snapshot records that in the database meanwhile.
        assert (await wait_for_row(stack.db, pid, "blocked", timeout_s=8)).state == "blocked"
        day[0] = "day-2"  # midnight Pacific: the ledger starts a new day and YouTube accepts again
        google.quota_exceeded = False
        done = await wait_for(client, pid, lambda s: s.state == "completed", 120, "published after the reset")
        assert len(google.videos_of("sky")) == 1 and video_id(done) in google.videos

        # 2. The authorization is revoked: the channel needs reconnecting, the production waits for it.
        google.revoke_account("sky")
        pid2 = await start_production(client, stack.db, settings, "sky", "How do rainbows form?", make_shorts=False)
        blocked = await wait_for(client, pid2, lambda s: s.state == "blocked", 300, "blocked on the account")
        assert "reconnect" in blocked.detail and "revoked" in (blocked.error or "")
        account = await channel_repo.get_account(stack.db, "sky")
        assert account is not None and account.status == "reconnect_needed"
        await connect_installed(settings, stack.db, "sky", browser="tubeflow-test")
        for p in await repo.list_productions(stack.db, channel="sky", state="blocked"):
            await signal_reconnected(client, p.id)
        done2 = await wait_for(client, pid2, lambda s: s.state == "completed", 120, "published after reconnecting")
        assert len(google.videos_of("sky")) == 2 and video_id(done2) != video_id(done)
        assert (await get_status(client, pid)).state == "completed"
        entries = await channel_repo.list_publications(stack.db, "sky")
        assert sorted(e.production_id for e in entries) == sorted([pid, pid2])
        # The default privacy: up, private, holding no slot (not "scheduled").
        assert all(e.status == "private" and e.publish_at is None and e.video_id for e in entries)


async def test_other_permanent_upload_error_needs_attention_and_retry_publishes_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, google: FakeYouTube, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YouTube forbids the custom thumbnail (an unverified account): needs_attention; verified, retried, done."""
    from service.client import retry

    settings = youtube_settings(tmp_path, google)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await connected_channel(stack, settings)
        google.forbid_thumbnails = True
        pid = await start_production(client, stack.db, settings, "sky", TOPIC, make_shorts=False)
        stuck = await wait_for(client, pid, lambda s: s.state == "needs_attention", 300, "needs_attention")
        assert stuck.stage == "publish" and "thumbnails" in (stuck.error or "")
        assert len(google.videos_of("sky")) == 1  # the video went up before the thumbnail was refused
        google.forbid_thumbnails = False  # the operator verified the account
        await retry(client, pid, "olga", "verified the phone number")
        done = await wait_for(client, pid, lambda s: s.state == "completed", 120, "published after the retry")
        videos = google.videos_of("sky")
        assert list(videos) == [video_id(done)] and "thumbnail" in videos[video_id(done)]
