"""KnowledgeMaintenanceWorkflow: expire old facts and merge duplicates, started by a Schedule.

A Temporal Schedule (not cron in a worker) so that it runs exactly once per period however many
main workers there are, shows up in the Web UI, and can be paused or triggered by an operator.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.activity_calls import TaskQueues, execute

with workflow.unsafe.imports_passed_through():
    from tubeflow import activity_defs as act


@workflow.defn(name="KnowledgeMaintenanceWorkflow")
class KnowledgeMaintenanceWorkflow:
    @workflow.run
    async def run(self) -> dict[str, int]:
        return await execute(act.CONSOLIDATE_KNOWLEDGE, None, TaskQueues(main=workflow.info().task_queue, gpu=""))
