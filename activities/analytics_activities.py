"""The daily analytics collection of one channel (activities.youtube_analytics), and what the
niche learns from it (knowledge.performance)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import AnalyticsInput, AnalyticsOutcome


class AnalyticsActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.collect_channel_analytics]

    @implements(act.COLLECT_CHANNEL_ANALYTICS)
    @permanent_errors
    async def collect_channel_analytics(self, inp: AnalyticsInput) -> AnalyticsOutcome:
        from dataclasses import asdict

        from activities.youtube_analytics import collect_channel

        got = await collect_channel(self.settings, self.db, inp.channel)
        if got.status == "ok" and got.videos:
            from knowledge.performance import learn_from_channel

            await learn_from_channel(self.db, self.storage, inp.channel)
        return AnalyticsOutcome(**asdict(got))
