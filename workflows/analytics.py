"""ChannelAnalyticsWorkflow: one daily run of a channel's analytics Schedule, collecting what YouTube reports.

Small on purpose: one activity reads and stores; a channel that cannot be read (no scope, account
revoked, quota spent) comes back as an outcome with a status, not as a failed workflow, so the
Schedule's history shows what happened and the next day tries again.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.activity_calls import TaskQueues, execute

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import COLLECT_CHANNEL_ANALYTICS
    from tubeflow.contracts import AnalyticsInput, AnalyticsOutcome


@workflow.defn(name="ChannelAnalyticsWorkflow")
class ChannelAnalyticsWorkflow:
    @workflow.run
    async def run(self, inp: AnalyticsInput) -> AnalyticsOutcome:
        return await execute(COLLECT_CHANNEL_ANALYTICS, inp, TaskQueues(main=workflow.info().task_queue, gpu=""))
