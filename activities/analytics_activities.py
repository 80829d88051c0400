"""The daily analytics collection of one channel: YouTube (activities.youtube_analytics), the Shorts
on TikTok and Instagram (activities.platform_analytics), and what the niche learns from it
(knowledge.performance).  Extending the activity rather than the workflow keeps
ChannelAnalyticsWorkflow's histories replaying unchanged."""

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

        from activities.platform_analytics import collect_platforms
        from activities.youtube_analytics import collect_channel

        # The platforms first: they never raise, so an error YouTube's read raises (Temporal retries
        # it) cannot cost the day's TikTok and Instagram figures; a retry rereads them (upserts).
        platforms = await collect_platforms(self.settings, self.db, inp.channel)
        got = await collect_channel(self.settings, self.db, inp.channel)
        if (got.status == "ok" and got.videos) or any(p.rows for p in platforms):
            from knowledge.performance import learn_from_channel

            await learn_from_channel(self.db, self.storage, inp.channel)
        return AnalyticsOutcome(**asdict(got), platforms=platforms)
