"""The cross-posting adapter: a production's Shorts on TikTok and Instagram (activities.cross_posting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import CrossPostPlan, CrossPostPlanRequest, CrossPostRequest, CrossPostResult


class CrossPostActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.plan_cross_posts, self.cross_post]

    @implements(act.PLAN_CROSS_POSTS)
    @permanent_errors
    async def plan_cross_posts(self, req: CrossPostPlanRequest) -> CrossPostPlan:
        from activities.cross_posting import plan_cross_posts

        return await plan_cross_posts(self.db, req)

    @implements(act.CROSS_POST)
    @permanent_errors
    async def cross_post(self, req: CrossPostRequest) -> CrossPostResult:
        from activities.cross_posting import cross_post

        return await cross_post(
            self.settings, self.storage, self.db, req, self._json(req.script_key), heartbeat=activity.heartbeat
        )
