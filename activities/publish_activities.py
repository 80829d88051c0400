"""The publish adapter: the video goes out on the channel's calendar (activities.calendar), and a
long-form video's topic is recorded as covered so research stops proposing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import PublishRequest, PublishResult


class PublishActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.publish]

    @implements(act.PUBLISH)
    @permanent_errors
    async def publish(self, req: PublishRequest) -> PublishResult:
        from activities.calendar import publish_on_calendar

        script = self._json(req.script_key)
        result = await publish_on_calendar(self.settings, self.storage, self.db, req, script)
        await self._record_coverage(req, script)
        return result

    async def _record_coverage(self, req: PublishRequest, script: dict[str, Any]) -> None:
        if req.kind != "long":
            return
        from knowledge.coverage import record_coverage

        topic = str(req.extra.get("topic") or script["title"])
        niche = str(req.extra.get("niche") or "")
        await record_coverage(self.db, req.channel, topic, req.production_id, angle=script["title"], niche=niche)
