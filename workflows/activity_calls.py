"""The one way workflows run activities: through their declarations in tubeflow.activity_defs.

The declaration supplies name, result type, timeouts and retry policy; the caller supplies the
input (checked against the declared type by mypy) and the queue names, which travel in the
workflow input because workflow code must not read the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import ActivityDef, Queue

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class TaskQueues:
    main: str
    gpu: str

    def of(self, queue: Queue) -> str:
        return self.main if queue is Queue.MAIN else self.gpu


async def execute(
    act: ActivityDef[A, R],
    arg: A,
    queues: TaskQueues,
    *,
    start_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
) -> R:
    """Run ``act`` on its queue with its declared policy; returns its declared result.

    ``start_to_close``/``heartbeat`` override the declared ones where the input sets them (video jobs).
    """
    args = [arg] if act.takes_input else []
    result = await workflow.execute_activity(
        act.name,
        args=args,
        task_queue=queues.of(act.queue),
        start_to_close_timeout=start_to_close or act.timeout,
        heartbeat_timeout=heartbeat or act.heartbeat,
        retry_policy=act.retry,
        result_type=act.result,
    )
    return cast(R, result)  # decoded as act.result by the data converter


def start(
    act: ActivityDef[A, R],
    arg: A,
    queues: TaskQueues,
    *,
    retry: RetryPolicy | None = None,
    heartbeat: timedelta | None = None,
) -> workflow.ActivityHandle[R]:
    """Start ``act`` without waiting (notifications, fan-out segments); same policy as
    :func:`execute` unless the caller's ``retry``/``heartbeat`` replace it.  The handle resolves to
    the declared result."""
    return cast(
        workflow.ActivityHandle[R],
        workflow.start_activity(
            act.name,
            args=[arg] if act.takes_input else [],
            task_queue=queues.of(act.queue),
            start_to_close_timeout=act.timeout,
            heartbeat_timeout=heartbeat or act.heartbeat,
            retry_policy=retry or act.retry,
            result_type=act.result,
        ),
    )
