"""ChannelAnalyticsWorkflow: one daily run of a channel's analytics Schedule, collecting what YouTube reports.

Small on purpose: one activity reads and stores; a channel that cannot be read (no scope, account
revoked, quota spent) comes back as an outcome with a status, not as a failed workflow, so the
Schedule's history shows what happened and the next day tries again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tubeflow.contracts import AnalyticsInput, AnalyticsOutcome

COLLECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=6,
    non_retryable_error_types=["PermanentError", "ConfigError", "NotFoundError"],
)


@workflow.defn(name="ChannelAnalyticsWorkflow")
class ChannelAnalyticsWorkflow:
    @workflow.run
    async def run(self, inp: AnalyticsInput) -> AnalyticsOutcome:
        return await workflow.execute_activity(
            "collect_channel_analytics",
            inp,
            task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(minutes=20),
            retry_policy=COLLECT_RETRY,
            result_type=AnalyticsOutcome,
        )
