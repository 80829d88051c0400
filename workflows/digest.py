"""NotificationDigestWorkflow: once a day, what waits for review, what was published, what the GPU cost.

Started by a Temporal Schedule (tubeflow/schedules.py) so it runs once a day however many main
workers there are, and an operator can pause or trigger it from the Web UI.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import CPU_RETRY
    from tubeflow.contracts import NOTIFY_ATTEMPTS, Notification


@workflow.defn(name="NotificationDigestWorkflow")
class NotificationDigestWorkflow:
    @workflow.run
    async def run(self) -> Notification:
        queue = workflow.info().task_queue
        digest: Notification = await workflow.execute_activity(
            "build_digest",
            workflow.now().isoformat(),
            task_queue=queue,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=CPU_RETRY,
            result_type=Notification,
        )
        await workflow.execute_activity(
            "notify",
            digest,
            task_queue=queue,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=NOTIFY_ATTEMPTS),
        )
        return digest
