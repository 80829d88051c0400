"""KnowledgeMaintenanceWorkflow: expire old facts and merge duplicates, started by a Schedule.

A Temporal Schedule (not cron in a worker) so that it runs exactly once per period however many
main workers there are, shows up in the Web UI, and can be paused or triggered by an operator.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.production import CPU_RETRY


@workflow.defn(name="KnowledgeMaintenanceWorkflow")
class KnowledgeMaintenanceWorkflow:
    @workflow.run
    async def run(self) -> dict[str, int]:
        return await workflow.execute_activity(
            "consolidate_knowledge",
            task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=CPU_RETRY,
            result_type=dict,
        )
