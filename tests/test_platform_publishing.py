"""One channel on YouTube, TikTok and Instagram: one production, every video on every platform once.

A real production through the dev server, the real workers, tiny real media, and three local
fakes of the platforms (tests/fake_youtube.py, fake_tiktok.py, fake_instagram.py) that keep every
post; the production clients talk to them through the documented base-URL settings.  On the way:
the TikTok account is revoked (TikTok blocks until it is reconnected, while YouTube and Instagram
go on) and Instagram's daily cap is full (it waits; once the day resets, `tubeflow retry
--platform instagram` posts at once).  The last test SIGKILLs a worker process in the middle of a
TikTok chunked upload: Temporal retries the post on another worker, it resumes, and TikTok has one post.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.platform_connect import connect_loopback
from service.client import signal_platform_reconnected, start_production
from tests.conftest import tiny_settings
from tests.fake_instagram import FakeInstagram
from tests.fake_tiktok import FakeTikTok
from tests.fake_youtube import FakeYouTube
from tests.fakehttp import serve
from tests.test_cli import cli_env, tubeflow
from tests.test_notifications import Receiver
from tests.test_publish_waits import connected_channel, google, youtube_settings  # noqa: F401 (fixture)
from tests.workflow_helpers import running_stack, wait_for
from tubeflow.db import platform_repo, repo
from tubeflow.db.engine import Database
from tubeflow.db.records import PlatformPost
from tubeflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

TOPIC = "Why is the sky blue?"


@pytest.fixture
def tiktok() -> Iterator[FakeTikTok]:
    with FakeTikTok() as fake:
        yield fake


@pytest.fixture
def instagram() -> Iterator[FakeInstagram]:
    with FakeInstagram() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[tuple[str, dict[str, Any]]]:
    """A local webhook receiver (tests/test_notifications.py's): its base URL and what it got."""
    state: dict[str, Any] = {
        "lock": threading.Lock(), "events": [], "seen": set(), "refused": [], "broken": 0, "discord": [],
    }  # fmt: skip
    with serve(Receiver, state) as base:
        yield base, state


def three_platforms(tmp_path: Path, yt: FakeYouTube, tt: FakeTikTok, ig: FakeInstagram) -> Settings:
    return youtube_settings(tmp_path, yt).with_overrides(
        tiktok_client_key=tt.client_key,
        tiktok_client_secret=tt.client_secret,
        tiktok_base_url=tt.base_url,
        tiktok_auth_url=tt.auth_url,
        facebook_app_id=ig.app_id,
        facebook_app_secret=ig.app_secret,
        instagram_graph_url=ig.graph_url,
        instagram_upload_url=ig.upload_url,
        facebook_auth_url=ig.auth_url,
    )


def consent(url: str) -> None:
    """The person clicks Allow: the fake's consent page redirects to tubeflow's loopback listener."""
    answer = httpx.get(url, follow_redirects=True, timeout=30)
    assert answer.status_code == 200, answer.text


async def posts(db: Database, platform: str) -> list[PlatformPost]:
    return sorted((p for p in await platform_repo.list_posts(db, "sky") if p.platform == platform), key=lambda p: p.idx)


async def until_posts(
    db: Database, platform: str, statuses: set[str], timeout_s: float = 240, every: bool = True
) -> list[PlatformPost]:
    """The platform's posts once every one (``every``) or any one is in ``statuses``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    seen: list[PlatformPost] = []
    while asyncio.get_running_loop().time() < deadline:
        seen = await posts(db, platform)
        hits = [p.status in statuses for p in seen]
        if seen and (all(hits) if every else any(hits)):
            return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"{platform} posts never all in {statuses}: {[(p.idx, p.status, p.reason) for p in seen]}")


async def test_one_production_reaches_youtube_tiktok_and_instagram_each_once(
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    google: FakeYouTube,  # noqa: F811
    tiktok: FakeTikTok,
    instagram: FakeInstagram,
    receiver: tuple[str, dict[str, Any]],
) -> None:
    hook, told = receiver
    settings = three_platforms(tmp_path, google, tiktok, instagram).with_overrides(
        webhooks=f"team=discord:{hook}/discord"
    )
    client = temporal_env.client
    env = cli_env(settings, client.service_client.config.target_host)
    async with running_stack(client, settings) as stack:
        await connected_channel(stack, settings)  # "sky" on the fake YouTube, no checkpoint reviewed
        tt = await connect_loopback(settings, stack.db, "sky", "tiktok", open_browser=False, on_url=consent)
        ig = await connect_loopback(settings, stack.db, "sky", "instagram", open_browser=False, on_url=consent)
        assert (tt.account_name, ig.account_name) == ("@tubeflow_demo", "tubeflow_demo")
        # Nothing the API or the database hands out carries a token.
        shown = json.dumps([a.to_dict() for a in await platform_repo.list_accounts(stack.db, "sky")])
        assert "act." not in shown and "EAA" not in shown

        tiktok.revoke()  # the person removed the app on TikTok
        instagram.quota_used = instagram.daily_cap  # 50 API posts in the last 24 hours already

        pid = await start_production(client, stack.db, settings, "sky", TOPIC, make_shorts=True)

        # YouTube publishes the long-form and both Shorts; TikTok waits for a reconnect, Instagram for its cap.
        # Each platform posts the Shorts in order: the first waits, the second is still only reserved.
        first, second = await until_posts(stack.db, "tiktok", {"reconnect_needed"}, every=False)
        assert (first.status, second.status) == ("reconnect_needed", "reserved")
        assert "tubeflow channel connect sky --platform tiktok" in first.reason
        assert (await platform_repo.get_account(stack.db, "sky", "tiktok")).status == "reconnect_needed"  # type: ignore[union-attr]
        first, second = await until_posts(stack.db, "instagram", {"waiting"}, every=False)
        assert (first.status, second.status) == ("waiting", "reserved")
        assert "50 of 50 posts in 24 h" in first.reason
        # (The production's own outputs list the Shorts once every platform is done.)
        for _ in range(600):
            if len(google.videos_of("sky")) == 3:
                break
            await asyncio.sleep(0.5)
        assert len(google.videos_of("sky")) == 3, "the long-form and both Shorts on YouTube"
        assert tiktok.posts() == [] and instagram.posts() == []

        # The day resets on Instagram; the operator tries now instead of waiting for the timer.
        instagram.quota_used = 0
        r = await tubeflow(env, "retry", pid, "--platform", "instagram")
        assert r.returncode == 0 and "instagram tries again now" in r.stdout, r.stdout + r.stderr
        reels = await until_posts(stack.db, "instagram", {"published"})
        assert len(instagram.posts()) == 2 and {p.idx for p in reels} == {0, 1}
        assert all(m.params.get("is_ai_generated") == "true" for m in instagram.posts())

        # TikTok reconnected: the production continues there and posts each Short once.
        await connect_loopback(settings, stack.db, "sky", "tiktok", open_browser=False, on_url=consent)
        assert await signal_platform_reconnected(client, pid, "tiktok")
        done = await wait_for(client, pid, lambda s: s.state == "completed", 300, "completion")
        assert len(tiktok.posts()) == 2 and len(tiktok.inits()) == 2
        assert all(p.post_info["is_aigc"] for p in tiktok.posts())
        assert all(p.post_info["privacy_level"] == "SELF_ONLY" for p in tiktok.posts())  # a private channel
        assert len(google.videos_of("sky")) == 3 and len(instagram.posts()) == 2  # nothing posted twice
        assert done.outputs.shorts and len(done.outputs.shorts) == 2

        # The calendar lists every platform's posts.
        r = await tubeflow(env, "calendar", "sky", "--json")
        assert r.returncode == 0, r.stderr
        entries = json.loads(r.stdout)
        by_platform = {e["platform"]: sum(1 for x in entries if x["platform"] == e["platform"]) for e in entries}
        assert by_platform == {"youtube": 3, "tiktok": 2, "instagram": 2}
        assert {e["status"] for e in entries if e["platform"] != "youtube"} == {"published"}

        # The production's event feed and the team's channel said each step once, in words.
        feed = [
            e
            for e in await repo.events_since(stack.db, production_id=pid, limit=1000)
            if e.kind.startswith("platform_")
        ]
        assert Counter(e.kind for e in feed) == {"platform_blocked": 1, "platform_waiting": 1, "platform_published": 4}
        with told["lock"]:
            said = [str(m["content"]) for m in told["discord"] if "Short " in str(m["content"])]
        assert len(said) == 6, said
        assert sum("published to TikTok at" in m and "(UTC), private, no public link" in m for m in said) == 2
        assert sum("published to Instagram at" in m and ": https://" in m for m in said) == 2
        assert any("waits for the TikTok account to be reconnected" in m for m in said)
        assert any("waits for the Instagram daily cap until" in m for m in said)


def worker_process(env: WorkflowEnvironment, queue: str, environ: dict[str, str]) -> subprocess.Popen[str]:
    """A real worker process (tests/post_one_short.py) serving ``cross_post`` on ``queue``, once it is polling."""
    target = env.client.service_client.config.target_host
    args = [sys.executable, "-m", "tests.post_one_short", target, env.client.namespace, queue]
    proc = subprocess.Popen(args, env=environ, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "the worker did not start"
    return proc


async def test_a_worker_killed_mid_upload_resumes_and_tiktok_has_it_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, tiktok: FakeTikTok
) -> None:
    """A worker process SIGKILLed while TikTok holds its upload after the first chunk: Temporal sees
    the heartbeat stop, a second worker gets the retry, resumes the same publish, and TikTok has one post."""
    from tests.mediagen import color_bars_clip
    from tests.post_one_short import PostOneShort
    from tubeflow.contracts import CrossPostRequest
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database
    from tubeflow.keys import ProductionKeys
    from tubeflow.secret_box import new_key
    from tubeflow.storage import open_storage

    settings = tiny_settings(
        tmp_path, secret_key=new_key(), tiktok_client_key=tiktok.client_key,
        tiktok_client_secret=tiktok.client_secret, tiktok_base_url=tiktok.base_url, tiktok_auth_url=tiktok.auth_url,
        tiktok_chunk_bytes=40_000,
    )  # fmt: skip
    tiktok.min_chunk = 16 * 1024
    db = await open_database(settings)
    storage = open_storage(settings)
    workers: list[subprocess.Popen[str]] = []
    try:
        await repo.create_channel(db, "sky", "science")
        await connect_loopback(settings, db, "sky", "tiktok", open_browser=False, on_url=consent)
        await platform_repo.reserve_post(db, "sky", "p1", "tiktok", 0, after=None)
        clip = color_bars_clip(tmp_path / "short.mp4", seconds=3.0, width=180, height=320)
        storage.put_file("productions/p1/shorts/short-0.mp4", clip)
        assert clip.stat().st_size > 3 * 40_000  # several chunks
        script_key = ProductionKeys("p1").script(1)
        storage.put_bytes(script_key, json.dumps({"title": "Sky", "tags": ["sky"]}).encode())
        req = CrossPostRequest(
            "p1", "sky", "tiktok", 0, "productions/p1/shorts/short-0.mp4", script_key, "Sky", cover_s=2.0
        )
        env = {**os.environ, "TUBEFLOW_HOME": str(settings.home), "TUBEFLOW_SECRET_KEY": settings.secret_key,
               "TUBEFLOW_TIKTOK_CLIENT_KEY": tiktok.client_key, "TUBEFLOW_TIKTOK_CLIENT_SECRET": tiktok.client_secret,
               "TUBEFLOW_TIKTOK_BASE_URL": tiktok.base_url, "TUBEFLOW_TIKTOK_CHUNK_BYTES": "40000"}  # fmt: skip
        queue = f"post-once-{uuid.uuid4().hex[:8]}"
        client = temporal_env.client

        # The first worker is SIGKILLed as soon as TikTok holds the first chunk.
        tiktok.hold_after_chunks = 1
        workers.append(await asyncio.to_thread(worker_process, temporal_env, queue, env))
        handle = await client.start_workflow(PostOneShort.run, req, id=f"post-{queue}", task_queue=queue)
        try:
            assert await asyncio.to_thread(tiktok.chunk_held.wait, 60), "the upload never reached chunk 2"
            workers[0].send_signal(signal.SIGKILL)
            await asyncio.to_thread(workers[0].wait, 10)
        finally:
            tiktok.hold_after_chunks = None
            tiktok.release_held()
        assert workers[0].returncode == -signal.SIGKILL
        [begun] = tiktok.inits()
        assert 0 < len(begun.data) < begun.size and tiktok.posts() == []

        # Another worker: Temporal retries the post there once the heartbeat stops, and it resumes.
        workers.append(await asyncio.to_thread(worker_process, temporal_env, queue, env))
        done = await asyncio.wait_for(handle.result(), timeout=120)
        assert len(tiktok.inits()) == 1 and len(tiktok.posts()) == 1
        assert done.post_id and begun.post_info["video_cover_timestamp_ms"] == 2000  # the reviewer's cover
        attempts = [
            e.activity_task_started_event_attributes.attempt
            async for e in handle.fetch_history_events()
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert attempts == [2], "the killed attempt timed out on its heartbeat; the second finished it"
        [row] = await platform_repo.list_posts(db, "sky")
        assert row.status == "published" and row.post_id == done.post_id

        # Posting it again (a retry after a lost answer) finds it published and asks TikTok nothing.
        calls = len(tiktok.log)
        again = await client.execute_workflow(PostOneShort.run, req, id=f"post-{queue}-again", task_queue=queue)
        assert again.post_id == done.post_id and len(tiktok.log) == calls and len(tiktok.posts()) == 1
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await db.close()
