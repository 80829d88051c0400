"""Channel priority holds on a contended queue: Temporal task-queue priority, inherited by activities.

Production workflows are started with ``Priority(priority_key=<channel priority>)`` and their
activities inherit it.  Here work of a low-priority channel (key 5) is queued first, then work of
a high-priority channel (key 1), with no worker polling; one worker with a single slot then
drains the queue.  Measured: the order the activities ran in.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.common import Priority
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

ran: list[str] = []


async def _all_scheduled(handles: list[WorkflowHandle[Any, Any]]) -> None:
    """Waits (not a fixed sleep: a busy CI box is slow) until every workflow has its activity queued."""
    from tests.workflow_helpers import wait_until  # here: the workflow sandbox re-imports this module

    async def queued() -> bool:
        return all([len((await h.describe()).raw_description.pending_activities) for h in handles])

    await wait_until(queued, 60, "every workflow's activity to be queued", step=0.1)


@activity.defn(name="priority_probe")
async def probe(label: str) -> str:
    ran.append(label)
    await asyncio.sleep(0.05)
    return label


@workflow.defn(name="PriorityProbeWorkflow")
class ProbeWorkflow:
    @workflow.run
    async def run(self, label: str, gpu_queue: str) -> str:
        result: str = await workflow.execute_activity(
            "priority_probe", label, task_queue=gpu_queue, start_to_close_timeout=timedelta(seconds=30)
        )
        return result


async def test_high_priority_channel_runs_first_on_a_contended_queue(temporal_env: WorkflowEnvironment) -> None:
    client = temporal_env.client
    tag = uuid.uuid4().hex[:8]
    main_q, gpu_q = f"prio-main-{tag}", f"prio-gpu-{tag}"
    ran.clear()
    handles: list[WorkflowHandle[Any, Any]] = []
    async with Worker(client, task_queue=main_q, workflows=[ProbeWorkflow]):
        for label, key in [*((f"low-{i}", 5) for i in range(4)), *((f"high-{i}", 1) for i in range(4))]:
            handles.append(
                await client.start_workflow(
                    ProbeWorkflow.run,
                    args=[label, gpu_q],
                    id=f"prio-{tag}-{label}",
                    task_queue=main_q,
                    priority=Priority(priority_key=key),
                )
            )
        # Every activity task is scheduled and waiting before the GPU worker appears.
        await _all_scheduled(handles)
        async with Worker(client, task_queue=gpu_q, activities=[probe], max_concurrent_activities=1):
            await asyncio.gather(*(h.result() for h in handles))
    assert sorted(ran[:4]) == [f"high-{i}" for i in range(4)], ran
    assert sorted(ran[4:]) == [f"low-{i}" for i in range(4)], ran
