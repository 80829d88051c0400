"""Prometheus metrics: the autoscaler's own, and the app-level ones the API serves on /metrics.

One :class:`TubeflowMetrics` per registry.  Processes use :func:`default_metrics` (the global
registry); tests build their own registry so counts do not leak between them.  Rates that
Prometheus can compute (jobs per hour) are exported both as counters, for
``rate()``, and as gauges over a sliding hour, for dashboards without PromQL.
"""

from __future__ import annotations

import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

WORKER_STATES = ("starting", "idle", "busy", "stopping")
HOUR_S = 3600.0


class TubeflowMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # Queue and workers (the autoscaler sets these each tick; the API may refresh the backlog too).
        self.backlog = Gauge("tubeflow_gpu_queue_backlog", "GPU activity tasks waiting for a worker", registry=r)
        self.backlog_age = Gauge(
            "tubeflow_gpu_queue_backlog_age_seconds", "Age of the oldest waiting GPU task", registry=r
        )
        self.workers = Gauge("tubeflow_gpu_workers", "GPU workers by state", ["state"], registry=r)
        for state in WORKER_STATES:
            self.workers.labels(state=state)
        self.desired = Gauge("tubeflow_autoscaler_desired_workers", "Worker count the policy wants", registry=r)
        self.decisions = Counter(
            "tubeflow_autoscaler_decisions", "Scaling decisions by action and cause", ["action", "cause"], registry=r
        )
        self.launches = Counter(
            "tubeflow_autoscaler_launches", "Launch attempts by outcome", ["provider", "outcome"], registry=r
        )
        self.terminations = Counter(
            "tubeflow_autoscaler_terminations", "Instances stopped, by why", ["provider", "why"], registry=r
        )
        # Jobs and renders.
        self.jobs = Counter("tubeflow_jobs_completed", "Finished jobs (productions, video jobs)", ["kind"], registry=r)
        self.jobs_per_hour = Gauge("tubeflow_jobs_per_hour", "Jobs finished in the last hour", registry=r)
        self.render_ratio = Histogram(
            "tubeflow_render_seconds_per_video_minute",
            "Render wall seconds per minute of finished video",
            buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
            registry=r,
        )
        # Activity attempts and retries are counted where they happen: each worker's metrics port
        # (service/observability.py, TUBEFLOW_WORKER_METRICS_PORT).
        # Money.
        self.gpu_cost = Counter("tubeflow_gpu_cost_usd", "GPU instance cost accrued", ["provider"], registry=r)
        self.cost_per_video = Histogram(
            "tubeflow_cost_per_video_usd",
            "GPU cost of each finished video",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=r,
        )
        self.last_cost_per_video = Gauge("tubeflow_last_cost_per_video_usd", "GPU cost of the last video", registry=r)
        self._job_times: deque[float] = deque()

    # ------------------------------------------------------------------ recorders

    def set_workers(self, counts: dict[str, int]) -> None:
        for state in WORKER_STATES:
            self.workers.labels(state=state).set(counts.get(state, 0))

    def job_completed(self, kind: str = "production", now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.jobs.labels(kind=kind).inc()
        self._job_times.append(now)
        while self._job_times and self._job_times[0] < now - HOUR_S:
            self._job_times.popleft()
        self.jobs_per_hour.set(len(self._job_times))

    def render_finished(self, render_s: float, video_s: float) -> None:
        if video_s > 0:
            self.render_ratio.observe(render_s / (video_s / 60.0))

    def video_cost(self, usd: float) -> None:
        self.cost_per_video.observe(usd)
        self.last_cost_per_video.set(usd)

    def exposition(self) -> tuple[bytes, str]:
        """(body, content type) for a /metrics response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_default: TubeflowMetrics | None = None


def default_metrics() -> TubeflowMetrics:
    """The process-wide metrics on prometheus_client's global registry (what /metrics serves)."""
    global _default
    if _default is None:
        from prometheus_client import REGISTRY

        _default = TubeflowMetrics(REGISTRY)
    return _default
