"""A one-activity workflow and the worker process that serves it, for SIGKILLing a real worker
in the middle of a post (test_platform_publishing).

The ShortsWorkflow reaches ``cross_post`` only after two renders; this workflow calls the same
activity, through the same adapter, with a heartbeat timeout short enough for a test, so what
is tested is Temporal noticing a dead worker and another worker finishing the post.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tubeflow import activity_defs as act
    from tubeflow.contracts import CrossPostRequest, CrossPostResult

HEARTBEAT = timedelta(seconds=12)  # the adapter beats every 5 s while a chunk is in flight


@workflow.defn(name="PostOneShort")
class PostOneShort:
    @workflow.run
    async def run(self, req: CrossPostRequest) -> CrossPostResult:
        result: CrossPostResult = await workflow.execute_activity(
            act.CROSS_POST.name,
            req,
            result_type=CrossPostResult,
            start_to_close_timeout=timedelta(minutes=3),
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=4),
        )
        return result


async def serve(target: str, namespace: str, queue: str) -> None:
    """A worker with the real cross-posting adapter, configured from the environment (TUBEFLOW_*)."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    import activities.tiktok
    from activities.cross_post_activities import CrossPostActivities
    from tubeflow.db.engine import open_database
    from tubeflow.settings import Settings
    from tubeflow.storage import open_storage

    activities.tiktok.MIN_CHUNK = 16 * 1024  # the fake takes small chunks, so a tiny clip goes up in several
    settings = Settings.from_env()
    db = await open_database(settings)
    client = await Client.connect(target, namespace=namespace)
    adapter = CrossPostActivities(settings, open_storage(settings), db)
    async with Worker(client, task_queue=queue, workflows=[PostOneShort], activities=adapter.all()):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:4]))
