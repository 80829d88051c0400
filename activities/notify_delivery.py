"""Delivering one notification to every target across retries, and dead-lettering what never arrives.

A plain module (no Temporal): the ``notify`` activity hands it the attempt number, the progress
its last attempt heartbeated and a function to heartbeat with.  Targets an earlier attempt
delivered are skipped, so a retry never sends twice; before the last attempt a failure raises
:class:`~tubeflow.errors.TransientError` (retry), on the last one whatever still fails is written
as a dead letter and the delivery succeeds: a notification never fails a production.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from activities import notify as nt
from tubeflow.contracts import NOTIFY_ATTEMPTS, Notification
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError, TransientError
from tubeflow.keys import dead_letter
from tubeflow.settings import Settings
from tubeflow.storage import Storage

Heartbeat = Callable[[dict[str, str]], None]


class NotificationDelivery:
    def __init__(self, settings: Settings, storage: Storage, db: Database) -> None:
        self.settings = settings
        self.storage = storage
        self.db = db

    async def deliver(
        self,
        n: Notification,
        attempt: int,
        progress: Any,
        heartbeat: Heartbeat,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> dict[str, str]:
        """What each target answered (``"dead letter: …"`` for those given up on).

        ``progress`` is what ``heartbeat`` was last given (``{"_id": delivery id, target: detail}``),
        or anything else on a first attempt.
        """
        from tubeflow.channel_settings import parse_settings
        from tubeflow.db import repo

        state: dict[str, str] = dict(progress) if isinstance(progress, dict) else {}
        delivery_id = state.pop("_id", "") or nt.new_delivery_id()
        n.link = nt.absolute_link(self.settings, n.link)
        if n.event == "published" and n.production_id and "scheduled_at" not in n.data:
            n.data["scheduled_at"] = await self._scheduled_at(n.production_id)
        failed: dict[str, tuple[str, bytes]] = {}
        try:
            names: list[str] = []
            if n.channel:
                try:
                    names = parse_settings((await repo.get_channel(self.db, n.channel)).settings).webhooks
                except repo.NotFoundError:
                    names = []
            targets = nt.targets_for(self.settings, names)
        except PermanentError as e:  # misconfigured: nothing can deliver it, keep it and say why
            targets = []
            failed["configuration"] = (str(e), b"")
        for t in targets:
            if str(t) in state:
                continue
            out = await asyncio.to_thread(nt.deliver, t, n, self.settings.webhook_secret, delivery_id)
            if out.ok:
                state[str(t)] = out.detail
            else:
                failed[str(t)] = (out.detail, nt.body_for(t, n, delivery_id))
        if self.settings.notify_email and self.settings.smtp_host and "e-mail" not in state:
            out = await asyncio.to_thread(nt.send_email, self.settings, n)
            if out.ok:
                state["e-mail"] = out.detail
            else:
                failed["e-mail"] = (out.detail, nt.text_of(n).encode())
        heartbeat({"_id": delivery_id, **state})
        if failed and attempt < NOTIFY_ATTEMPTS and "configuration" not in failed:
            raise TransientError(f"notification {n.event} not delivered to {', '.join(failed)}; retrying")
        for target, (error, body) in failed.items():
            record = {"target": target, "error": error, "event": n.event, "attempts": attempt,
                      "notification": asdict(n), "body": body.decode("utf-8", "replace")}  # fmt: skip
            key = dead_letter(n.at or datetime.now(UTC).isoformat(), f"{delivery_id}-{len(state)}-{target}")
            self.storage.put_text(key, json.dumps(record, indent=1, default=str), "application/json")
            log.warning("notification %s to %s dead-lettered: %s", n.event, target, error)
        return {**state, **{t: f"dead letter: {e}" for t, (e, _) in failed.items()}}

    async def _scheduled_at(self, production_id: str) -> str | None:
        """When the video goes public (the channel's calendar slot), None when it was published at once."""
        from tubeflow.db import channel_repo

        try:
            pub = await channel_repo.get_publication(self.db, production_id)
        except PermanentError:
            return None
        return pub.publish_at.isoformat() if pub.publish_at else None
