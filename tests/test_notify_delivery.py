"""Notification delivery and the daily digest as plain modules: no Temporal, a local receiver and
a SQLite database.  The ``notify`` activity only hands delivery the attempt and its heartbeat."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.digest import build_digest
from activities.notify_delivery import NotificationDelivery
from tests.fakehttp import JsonHandler, serve
from tubeflow.contracts import NOTIFY_ATTEMPTS, Notification
from tubeflow.db import repo
from tubeflow.db.engine import Database, open_database
from tubeflow.errors import TransientError
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

LOG = logging.getLogger("test")


class Hooks(JsonHandler):
    """/ok counts deliveries; /down always fails."""

    state: dict[str, Any]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.state["lock"]:
            self.state[self.path] = self.state.get(self.path, 0) + 1
        self._send(200 if self.path == "/ok" else 500, {})


def _delivery(tmp_path: Path, base: str) -> tuple[NotificationDelivery, LocalStorage]:
    s = Settings(home=tmp_path, webhooks=f"ok=json:{base}/ok; down=json:{base}/down", webhook_secret="k")
    store = LocalStorage(tmp_path / "st")
    return NotificationDelivery(s, store, db=None), store  # type: ignore[arg-type]  # no channel: no lookup


def _dead_letters(store: LocalStorage) -> list[dict[str, Any]]:
    keys = [k for k in store.list("notifications/dead-letter") if k.endswith(".json")]
    return [json.loads(store.get_text(k)) for k in keys]


async def test_a_retry_skips_what_was_delivered_and_the_last_attempt_dead_letters(tmp_path: Path) -> None:
    state: dict[str, Any] = {"lock": threading.Lock()}
    beats: list[dict[str, str]] = []
    with serve(Hooks, state) as base:
        delivery, store = _delivery(tmp_path, base)
        n = Notification("failed", "it broke", link="/productions/p1", at="2026-12-07T09:00:00+00:00")
        with pytest.raises(TransientError, match="down"):
            await delivery.deliver(n, 1, None, beats.append, LOG)
        assert state == {"lock": state["lock"], "/ok": 1, "/down": 1}
        assert beats[-1]["ok (json)"] == "200" and "_id" in beats[-1]
        assert _dead_letters(store) == []  # not before the last attempt

        out = await delivery.deliver(n, NOTIFY_ATTEMPTS, beats[-1], beats.append, LOG)
    assert state["/ok"] == 1 and state["/down"] == 2  # the delivered target is not sent twice
    assert beats[-1]["_id"] == beats[0]["_id"]  # one delivery id across attempts: receivers dedupe on it
    assert out["ok (json)"] == "200" and out["down (json)"].startswith("dead letter: HTTP 500")
    [letter] = _dead_letters(store)
    assert letter["target"] == "down (json)" and letter["attempts"] == NOTIFY_ATTEMPTS
    assert letter["notification"]["link"].endswith("/productions/p1")
    assert json.loads(letter["body"])["event"] == "failed"


async def test_a_misconfigured_target_is_dead_lettered_at_once(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, webhooks="broken-spec")
    store = LocalStorage(tmp_path / "st")
    delivery = NotificationDelivery(s, store, db=None)  # type: ignore[arg-type]
    out = await delivery.deliver(Notification("test", "x"), 1, None, lambda _: None, LOG)
    assert list(out) == ["configuration"] and out["configuration"].startswith("dead letter: ")
    assert [d["target"] for d in _dead_letters(store)] == ["configuration"]


async def _db(tmp_path: Path) -> Database:
    return await open_database(Settings(home=tmp_path))


async def test_the_digest_lists_waiting_reviews_and_the_last_days_cost(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        await repo.create_channel(db, "sky", "science")
        waiting = await repo.create_production(db, "sky", "Why is the sky blue?")
        old = await repo.create_production(db, "sky", "Old news")
        fresh = await repo.create_production(db, "sky", "Fresh news")
        now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
        async with db.session() as s:
            from tubeflow.db.models import ProductionRow

            w = await s.get(ProductionRow, waiting.id)
            assert w is not None
            w.state, w.checkpoint = "waiting", "script"
            for pid, ago, cost in ((old.id, 3, 5.0), (fresh.id, 0.5, 1.25)):
                row = await s.get(ProductionRow, pid)
                assert row is not None
                row.state, row.title, row.cost_usd = "completed", f"T {pid}", cost
                row.finished_at = now - timedelta(days=ago)
                row.outputs = {"cost_usd": cost / 5, "published": f"outbox/{pid}"}
        digest = await build_digest(db, now.isoformat())
    finally:
        await db.close()
    assert digest.event == "digest" and digest.link == "/review" and digest.at == now.isoformat()
    assert digest.data["waiting"] == [{"id": waiting.id, "channel": "sky", "topic": "Why is the sky blue?",
                                       "checkpoint": "script"}]  # fmt: skip
    assert [p["id"] for p in digest.data["published"]] == [fresh.id]  # the one from three days ago is out
    assert digest.data["cost_usd"] == 1.25 and digest.data["gpu_cost_usd"] == 0.25
    assert digest.summary == (
        "tubeflow daily: 1 waiting for review, 0 need attention, 1 published in the last day, spent $1.25 (GPU $0.25)"
    )
