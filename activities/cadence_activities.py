"""What one run of a channel's cadence schedule starts (activities.cadence decides)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import CadencePlan


class CadenceActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.plan_cadence_production]

    @activity.defn(name=act.PLAN_CADENCE_PRODUCTION.name)  # two inputs: declared with more_args
    @permanent_errors
    async def plan_cadence_production(self, channel: str, run_id: str) -> CadencePlan:
        from activities.cadence import plan_production

        return await plan_production(self.settings, self.db, channel, run_id)
