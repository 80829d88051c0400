"""Notification adapters: ``notify`` (one event to every target, retried by Temporal, never failing
the production) over :mod:`activities.notify_delivery`, and ``build_digest`` over
:mod:`activities.digest`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.contracts import Notification


class NotifyActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.notify, self.build_digest]

    @implements(act.NOTIFY)
    async def notify(self, n: Notification) -> dict[str, str]:
        """Targets delivered by an earlier attempt are in the heartbeat and skipped; on the last
        attempt whatever still fails is written as a dead letter and the activity succeeds."""
        from activities.notify_delivery import NotificationDelivery

        info = activity.info()
        progress = info.heartbeat_details[0] if info.heartbeat_details else None
        delivery = NotificationDelivery(self.settings, self.storage, self.db)
        return await delivery.deliver(n, info.attempt, progress, activity.heartbeat, activity.logger)

    @implements(act.BUILD_DIGEST)
    async def build_digest(self, now_iso: str) -> Notification:
        from activities.digest import build_digest

        return await build_digest(self.db, now_iso)
