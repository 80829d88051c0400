"""What a worker process exports for operators: Temporal SDK metrics plus tubeflow's own.

With ``TUBEFLOW_WORKER_METRICS_PORT`` set, the worker's Temporal runtime serves Prometheus on that
port: the SDK's metrics (task latencies, poll results, slots) and, through the same meter, the
ones the alert rules need from workers: activity attempts and retries (attempt > 1), the age of
the oldest running activity per type (a render stuck past 30 minutes) and the worker's price per
hour (summed over GPU workers: the spend per hour).  Counters carry Prometheus' ``_total`` suffix.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from typing import Any

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

ATTEMPTS = "tubeflow_activity_attempts"
RETRIES = "tubeflow_activity_retries"
OLDEST_RUNNING = "tubeflow_activity_oldest_running_seconds"
PRICE = "tubeflow_worker_price_per_hour"


def metrics_runtime(port: int, host: str = "0.0.0.0") -> Runtime:
    """A Temporal runtime serving Prometheus on ``host:port`` (one per process)."""
    prom = PrometheusConfig(bind_address=f"{host}:{port}", counters_total_suffix=True, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=prom))


class ActivityMetrics(Interceptor):
    """Counts attempts and retries per activity type and tracks what is running, for the gauges."""

    def __init__(self) -> None:
        self.running: dict[int, tuple[str, float]] = {}
        self._ids = itertools.count()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)

    def oldest(self, now: float | None = None) -> dict[str, float]:
        """Seconds the oldest running attempt of each activity type has run."""
        now = time.monotonic() if now is None else now
        out: dict[str, float] = {}
        for kind, started in list(self.running.values()):
            out[kind] = max(out.get(kind, 0.0), now - started)
        return out

    async def export(self, meter: Any, queue: str, every_s: float = 5.0) -> None:
        """Refresh the oldest-running gauge until cancelled; a finished type drops back to 0."""
        gauge = meter.create_gauge_float(OLDEST_RUNNING, "Seconds the oldest running attempt has run")
        seen: set[str] = set()
        while True:
            ages = self.oldest()
            for kind in seen | set(ages):
                gauge.set(round(ages.get(kind, 0.0), 1), {"activity_type": kind, "task_queue": queue})
            seen |= set(ages)
            await asyncio.sleep(every_s)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, root: ActivityMetrics) -> None:
        super().__init__(next)
        self.root = root

    def _begin(self) -> int:
        info = activity.info()
        meter = activity.metric_meter()  # carries namespace, task_queue and activity_type
        meter.create_counter(ATTEMPTS, "Activity attempts started").add(1)
        if info.attempt > 1:
            meter.create_counter(RETRIES, "Activity attempts after the first (retries)").add(1)
        key = next(self.root._ids)
        self.root.running[key] = (info.activity_type, time.monotonic())
        return key

    def execute_activity(self, input: ExecuteActivityInput) -> Any:
        key = self._begin()
        if inspect.iscoroutinefunction(input.fn):

            async def run() -> Any:
                try:
                    return await self.next.execute_activity(input)
                finally:
                    self.root.running.pop(key, None)

            return run()
        try:  # a sync activity: this runs in its thread and must not return an awaitable
            return self.next.execute_activity(input)
        finally:
            self.root.running.pop(key, None)


def set_price(meter: Any, price_per_hour: float, queue: str) -> None:
    meter.create_gauge_float(PRICE, "What this worker costs per hour (USD)").set(price_per_hour, {"task_queue": queue})
