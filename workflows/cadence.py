"""ChannelCadenceWorkflow: one run of a channel's Temporal Schedule, starting its next production.

The schedule fires the channel's lead time before each publishing slot.  The run asks an activity
for a plan (back-pressure check, a topic from the backlog or the best suggestion, the production
recorded in the database) and starts the ProductionWorkflow as an abandoned child: the production
outlives this short run and waits at its checkpoints for as long as reviewers take.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import Priority, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import PLAN_CADENCE_PRODUCTION
    from tubeflow.contracts import (
        PRODUCTION_WORKFLOW,
        SA_CHANNEL,
        SA_NICHE,
        SA_STAGE,
        CadenceInput,
        CadencePlan,
        production_workflow_id,
    )


@workflow.defn(name="ChannelCadenceWorkflow")
class ChannelCadenceWorkflow:
    @workflow.run
    async def run(self, inp: CadenceInput) -> str:
        d = PLAN_CADENCE_PRODUCTION  # two inputs, so not through workflows.activity_calls.execute
        plan: CadencePlan = await workflow.execute_activity(
            d.name,
            # The run id, not the workflow id: two runs fired within the same second (a manual
            # trigger next to the timer) get the same schedule workflow id, and would share a
            # production id and try to start the same production twice.
            args=[inp.channel, workflow.info().run_id],
            task_queue=inp.main_queue,
            start_to_close_timeout=d.timeout,
            retry_policy=d.retry,
            result_type=d.result,
        )
        if plan.production is None:
            return f"nothing started: {plan.reason}"
        p = plan.production
        await workflow.start_child_workflow(
            PRODUCTION_WORKFLOW,
            p,
            id=production_workflow_id(p.production_id),
            task_queue=p.main_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
            priority=Priority(priority_key=plan.priority),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_CHANNEL), p.channel),
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_NICHE), p.niche),
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_STAGE), "queued"),
                ]
            ),
        )
        return f"started {p.production_id} ({plan.topic_source}): {p.topic}"
