"""NotificationDigestWorkflow: once a day, what waits for review, what was published, what the GPU cost.

Started by a Temporal Schedule (tubeflow/schedules.py) so it runs once a day however many main
workers there are, and an operator can pause or trigger it from the Web UI.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.activity_calls import TaskQueues, execute

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import BUILD_DIGEST, NOTIFY
    from tubeflow.contracts import Notification


@workflow.defn(name="NotificationDigestWorkflow")
class NotificationDigestWorkflow:
    @workflow.run
    async def run(self) -> Notification:
        queue = workflow.info().task_queue  # both activities run on the main queue that owns the schedule
        queues = TaskQueues(main=queue, gpu=queue)
        digest = await execute(BUILD_DIGEST, workflow.now().isoformat(), queues)
        await execute(NOTIFY, digest, queues)
        return digest
