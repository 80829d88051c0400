"""How long a new video job will wait for a GPU worker, and how long it will then run.

The formula (README, "Wait estimate"):

    run_s(op)  = expected output seconds / speed(op)             (speed: output s per GPU s)
    job_s      = mean GPU seconds of recent jobs (any operation)
    workers    = GPU workers polling the queue (Temporal's poller list: up, or just started)
    backlog    = GPU activities waiting in the queue (DescribeTaskQueue stats)
    wait_s     = COLD_START_S + backlog * job_s                   when no worker is up
               = (backlog / workers) * job_s + (job_s / 2 if backlog else 0)   otherwise

A backlog only forms when every worker is busy, so a waiting job also waits, on average, half
a job for the next free worker.  ``speed`` and ``job_s`` start from the defaults below and are
replaced by the first measurement and then an exponentially weighted mean of what finished jobs
measured (their GPU seconds and output duration), as this API process sees them complete.  The
estimate is taken just before the job is started, so the backlog is the work ahead of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from temporalio.client import Client

from service.backlog import describe_backlog
from tubeflow.errors import TransientError

# Before any job has been measured: 320x180..1080p libx264 on a small CPU box, deliberately
# pessimistic (an estimate that is too short is worse for a client than one too long).
DEFAULT_SPEED = {"caption": 1.0, "img2vid": 2.0, "addaudio": 10.0}
DEFAULT_JOB_S = 30.0
COLD_START_S = 120.0  # a GPU worker launched by the autoscaler, until it polls
WEIGHT = 0.3  # of each new measurement in the running means


@dataclass
class Estimate:
    wait_s: float
    run_s: float
    backlog: int
    workers: int


class SpeedBook:
    """Per-operation speed and mean job time, measured from completed jobs (each counted once)."""

    def __init__(self) -> None:
        self.speed = dict(DEFAULT_SPEED)
        self.job_s = DEFAULT_JOB_S
        self._seen: set[str] = set()
        self._measured_ops: set[str] = set()
        self._lock = threading.Lock()

    def record(self, job_id: str, op: str, output_s: float, gpu_s: float) -> None:
        if gpu_s <= 0 or output_s <= 0:
            return
        with self._lock:
            if job_id in self._seen:
                return
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen.add(job_id)
            first = not self._measured_ops
            speed = output_s / gpu_s
            # The first measurement replaces a default outright: the defaults are guesses, not data.
            old = self.speed.get(op, speed) if op in self._measured_ops else speed
            self._measured_ops.add(op)
            self.speed[op] = (1 - WEIGHT) * old + WEIGHT * speed
            self.job_s = gpu_s if first else (1 - WEIGHT) * self.job_s + WEIGHT * gpu_s

    def run_s(self, op: str, output_s: float) -> float:
        return output_s / max(self.speed.get(op, 1.0), 1e-3)


BOOK = SpeedBook()


def wait_formula(backlog: int, workers: int, job_s: float) -> float:
    if workers <= 0:
        return COLD_START_S + backlog * job_s
    return backlog / workers * job_s + (job_s / 2 if backlog else 0.0)


async def estimate(client: Client, queue: str, op: str, output_s: float, book: SpeedBook = BOOK) -> Estimate:
    """The estimate for one new job; the queue is read once (one cheap DescribeTaskQueue)."""
    try:
        obs = await describe_backlog(client, client.namespace, queue)
        backlog, workers = obs.backlog_count, len(obs.pollers)
    except TransientError:
        backlog, workers = 0, 0  # unknown: assume a cold start rather than claim "now"
    return Estimate(
        wait_s=round(wait_formula(backlog, workers, book.job_s), 1),
        run_s=round(book.run_s(op, output_s), 1),
        backlog=backlog,
        workers=workers,
    )
