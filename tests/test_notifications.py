"""Notifications for real productions: a local webhook receiver verifies the signatures, a Discord-
style channel target and a real local SMTP server (aiosmtpd) get the same events, and a broken
receiver is dead-lettered without touching the productions."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from activities import notify as nt
from api.testing import free_port
from service.client import cancel, review, start_production
from tests.fakehttp import JsonHandler, serve
from tests.test_recovery import niche_with_music
from tests.workflow_helpers import running_stack, wait_for
from tubeflow.contracts import Checkpoint, Notification, ReviewDecision
from tubeflow.db import channel_repo, repo

TOPIC = "Why is the sky blue?"
SECRET = "s3cret-for-tests"


class Receiver(JsonHandler):
    """/hook verifies like a real receiver (and refuses replays); /broken always fails; /discord collects."""

    state: dict[str, Any]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        st = self.state
        with st["lock"]:
            if self.path == "/broken":
                st["broken"] += 1
                self._send(500, {"error": "down"})
                return
            if self.path == "/discord":
                st["discord"].append(json.loads(raw))
                self._send(204, {})
                return
            try:
                nt.verify(SECRET, dict(self.headers), raw)
            except nt.SignatureError as e:
                st["refused"].append(str(e))
                self._send(401, {"error": str(e)})
                return
            delivery = self.headers["X-Tubeflow-Delivery"]
            if delivery in st["seen"]:
                self._send(200, {"duplicate": True})
                return
            st["seen"].add(delivery)
            st["events"].append(json.loads(raw))
            self._send(200, {})


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


def events(state: dict[str, Any], event: str, pid: str = "") -> list[dict[str, Any]]:
    with state["lock"]:
        return [e for e in state["events"] if e["event"] == event and (not pid or e["production_id"] == pid)]


async def wait_event(state: dict[str, Any], event: str, pid: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = events(state, event, pid)
        if got:
            return got[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {event} for {pid}; got {[e['event'] for e in state['events']]}")


def test_signature_verification_refuses_tampering_and_replays() -> None:
    n = Notification("test", "hello", link="https://x/productions/1")
    target = nt.Target("t", "json", "http://unused")
    body = nt.body_for(target, n, "d1")
    headers = nt.headers_for(target, n, body, SECRET, "d1")
    nt.verify(SECRET, headers, body)
    with pytest.raises(nt.SignatureError, match="does not match"):
        nt.verify(SECRET, headers, body.replace(b"hello", b"hullo"))
    with pytest.raises(nt.SignatureError, match="replay"):
        nt.verify(SECRET, headers, body, now=time.time() + 600)
    with pytest.raises(nt.SignatureError, match="does not match"):
        nt.verify("other", headers, body)
    # One scheme for notifications and video job callbacks: the callback verifier accepts it too.
    from tubeflow import signing

    assert signing.verify(SECRET, body, headers[signing.HEADER])
    assert not signing.verify(SECRET, body + b" ", headers[signing.HEADER])
    assert json.loads(nt.body_for(nt.Target("s", "slack", "http://u"), n, "d1")) == {
        "text": "hello\nhttps://x/productions/1"
    }
    assert nt.parse_targets("ops=slack:https://h/1; https://h/2")[1] == nt.Target("hook2", "json", "https://h/2")


async def test_webhooks_and_email_follow_real_productions_and_a_broken_receiver_changes_nothing(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    state: dict[str, Any] = {
        "lock": threading.Lock(), "events": [], "seen": set(), "refused": [], "broken": 0, "discord": [],
    }  # fmt: skip
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with serve(Receiver, state) as base:
            settings, music = niche_with_music(tmp_path, required="[script]")
            settings = settings.with_overrides(
                webhooks=f"audit=json:{base}/hook; down=json:{base}/broken",
                channel_webhooks=f"team=discord:{base}/discord",
                webhook_secret=SECRET,
                review_reminder_hours=2.0 / 3600,  # a reminder after 2 s of waiting
                notify_email="reviewers@example.org",
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                public_base_url="https://tubeflow.example.org",
            )
            client = temporal_env.client
            async with running_stack(client, settings) as stack:
                await repo.create_channel(stack.db, "loud", "science")
                await channel_repo.update_settings(stack.db, "loud", {"webhooks": "team"})
                pid = await start_production(client, stack.db, settings, "loud", TOPIC, make_shorts=False)

                opened = await wait_event(state, "checkpoint_opened", pid)
                assert opened["data"]["checkpoint"] == "script" and "script" in opened["data"]["to_review"]
                assert opened["link"] == f"https://tubeflow.example.org/productions/{pid}"
                reminder = await wait_event(state, "reminder", pid, 60)
                assert reminder["data"]["checkpoint"] == "script" and reminder["data"]["waiting_hours"] > 0
                await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana"))
                published = await wait_event(state, "published", pid, 400)
                assert published["data"]["location"] and "scheduled_at" in published["data"]
                done = await wait_for(client, pid, lambda s: s.state == "completed", 120, "completion")
                assert done.outputs.published == published["data"]["location"]

                # A failure: the niche's music disappears as the next production starts; the first stage
                # that loads the niche fails for good and the production needs attention.
                pid2 = await start_production(
                    client, stack.db, settings, "loud", "How do rainbows form?", make_shorts=False
                )
                music.unlink()
                attention = await wait_event(state, "needs_attention", pid2, 120)
                assert "bed.wav" in attention["summary"]
                await cancel(client, pid2, "test over")
                await wait_for(client, pid2, lambda s: s.state == "cancelled", 60, "cancelled")

                # Every event was signed and accepted; none replayed; the broken receiver was retried
                # and dead-lettered, and nothing else noticed.
                assert state["refused"] == []
                assert state["broken"] >= 5
                # The fifth attempt comes ~30 s after the first (backoff 2, 4, 8, 16 s); a quick production
                # can finish before it, so wait for the dead letter rather than race it.
                dead: list[str] = []
                for _ in range(240):
                    dead = [k for k in stack.storage.list("notifications/dead-letter") if k.endswith(".json")]
                    if dead:
                        break
                    await asyncio.sleep(0.5)
                assert dead
                record = json.loads(stack.storage.get_text(dead[0]))
                assert record["target"] == "down (json)" and "HTTP 500" in record["error"]
                assert "broken" not in json.dumps(record)  # the target's URL is not kept with it
                assert any("ready for review" in m["content"] for m in state["discord"])
                subjects = [m.content.decode() for m in mailbox.messages]
                assert any("ready for review" in s for s in subjects)
    finally:
        smtp.stop()


async def test_the_daily_digest_schedule_lists_waiting_reviews(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from tests.conftest import tiny_settings
    from tubeflow.schedules import digest_schedule_id, ensure_schedules

    state: dict[str, Any] = {
        "lock": threading.Lock(), "events": [], "seen": set(), "refused": [], "broken": 0, "discord": [],
    }  # fmt: skip
    with serve(Receiver, state) as base:
        settings = tiny_settings(tmp_path, webhooks=f"audit=json:{base}/hook", webhook_secret=SECRET)
        client = temporal_env.client
        async with running_stack(client, settings, gpu=False) as stack:
            await repo.create_channel(stack.db, "daily", "science")
            pid = await start_production(client, stack.db, settings, "daily", TOPIC, make_shorts=False)
            await wait_for(client, pid, lambda s: s.checkpoint == "script", 120, "script checkpoint")
            await ensure_schedules(client, settings)
            handle = client.get_schedule_handle(digest_schedule_id(settings))
            desc = await handle.describe()
            assert desc.schedule.spec.calendars[0].hour[0].start == settings.digest_hour_utc
            await handle.trigger()
            digest = await wait_event(state, "digest", "", 60)
            await handle.delete()
            assert [w["id"] for w in digest["data"]["waiting"]] == [pid]
            assert "1 waiting for review" in digest["summary"] and digest["data"]["gpu_cost_usd"] == 0
            await cancel(client, pid, "test over")


def test_notify_test_sends_a_signed_sample_and_says_what_failed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    state: dict[str, Any] = {
        "lock": threading.Lock(), "events": [], "seen": set(), "refused": [], "broken": 0, "discord": [],
    }  # fmt: skip
    with serve(Receiver, state) as base:
        env = {
            **os.environ,
            "TUBEFLOW_HOME": str(tmp_path),
            "TUBEFLOW_WEBHOOKS": f"audit=json:{base}/hook; down=json:{base}/broken",
            "TUBEFLOW_WEBHOOK_SECRET": SECRET,
        }
        out = subprocess.run(
            [sys.executable, "-m", "cli", "notify", "test"], env=env, capture_output=True, text=True, timeout=120
        )
    assert out.returncode == 1, out.stderr
    assert "audit (json): ok" in out.stdout and "down (json): FAILED HTTP 500" in out.stdout
    assert base not in out.stdout  # target URLs are credentials: never printed
    assert [e["event"] for e in state["events"]] == ["test"] and state["refused"] == []
