"""The control loop behind `tubeflow autoscaler`: observe, decide, launch/terminate, reap, bill.

Each tick reads the GPU queue from Temporal and the instances from the provider, works out every
worker's state (starting until it polls, then idle or busy), replaces workers that never became
ready (avoiding where they were placed), reaps orphans, asks the policy, applies the decision and
charges the interval's instance time.  Every decision is one JSON log line with its reason and a
Prometheus counter.  The registry of launched instances is saved to a state file so a restarted
autoscaler adopts its workers instead of reaping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autoscaler.costs import CostLedger, UsageSlice, slices_for_tick
from autoscaler.policy import Decision, PolicyConfig, ScalingPolicy, WorkerState, WorkerView
from autoscaler.providers.base import (
    NAME_PREFIX,
    Instance,
    InstanceState,
    Provider,
    ProviderAuthError,
    ProviderError,
    QuotaExceededError,
)
from autoscaler.reaper import find_reapable
from service.backlog import QueueObservation, observe_queue
from service.metrics import TubeflowMetrics, default_metrics
from tubeflow.errors import TransientError
from tubeflow.settings import Settings

log = logging.getLogger("tubeflow.autoscaler")


@dataclass(frozen=True)
class ControllerConfig:
    interval_s: float = 15.0
    # A launched worker that has not polled the queue by then is terminated and replaced elsewhere.
    ready_timeout_s: float = 600.0
    # Renewed every tick while the worker polls or works; the reaper stops it once this runs out.
    lease_s: float = 1800.0
    # A poll this recent counts as "alive" for renewing the lease (Temporal long polls last ~60 s).
    poll_fresh_s: float = 180.0
    unknown_grace_s: float = 120.0
    launch_backoff_s: float = 60.0
    quota_backoff_s: float = 300.0
    avoid_ttl_s: float = 1800.0
    # How long a gone worker's still-"started" activities count as backlog (> the longest heartbeat timeout).
    orphan_memory_s: float = 900.0
    state_path: Path | None = None


@dataclass
class Tracked:
    id: str
    name: str  # our name for it, also the identity a worker honouring TUBEFLOW_WORKER_IDENTITY polls with
    identity: str
    launched_at: float
    placement: str = ""
    price_per_hour: float = 0.0
    lease_until: float = 0.0
    state: WorkerState = WorkerState.STARTING
    since: float = 0.0
    ready_at: float | None = None

    def identities(self) -> set[str]:
        return {i for i in (self.identity, self.name, self.id) if i}


@dataclass
class TickReport:
    at: float
    decision: Decision | None = None
    observation: QueueObservation | None = None
    workers: list[WorkerView] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    terminated: list[tuple[str, str]] = field(default_factory=list)  # (instance id, why)
    error: str = ""


def _event(event: str, **fields: Any) -> None:
    """One structured JSON line per event: grep-able, and what a log pipeline indexes."""
    log.info(json.dumps({"event": event, "ts": round(time.time(), 3), **fields}, default=str, sort_keys=True))


class Autoscaler:
    def __init__(
        self,
        provider: Provider,
        observe: Callable[[], Awaitable[QueueObservation]],
        policy: ScalingPolicy | None = None,
        config: ControllerConfig | None = None,
        metrics: TubeflowMetrics | None = None,
        ledger: CostLedger | None = None,
        clock: Callable[[], float] = time.time,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.observe = observe
        self.policy = policy or ScalingPolicy()
        self.config = config or ControllerConfig()
        self.metrics = metrics or TubeflowMetrics()
        self.ledger = ledger
        self.clock = clock
        self.labels = dict(labels or {})
        self.tracked: dict[str, Tracked] = {}
        self.avoid: dict[str, float] = {}  # placement -> avoid until
        self.blocked_until = 0.0
        self.blocked_reason = ""
        self._billed_until: dict[str, float] = {}
        # Identities of our workers that went away (killed, reclaimed, terminated) -> when.
        self._gone: dict[str, float] = {}
        self._load_state()

    # ------------------------------------------------------------------ the tick

    async def tick(self) -> TickReport:
        now = self.clock()
        report = TickReport(at=now)
        try:
            obs = await self.observe()
            instances = await asyncio.to_thread(self.provider.list)
        except (TransientError, ProviderError) as e:
            report.error = str(e)
            _event("observe_failed", error=str(e), provider=self.provider.name)
            return report
        report.observation = obs
        live = {i.id: i for i in instances if i.state in (InstanceState.STARTING, InstanceState.RUNNING)}

        self._forget_gone(live, now)
        slices = self._bill(live, obs, now)
        self._update_states(live, obs, now)
        await self._replace_never_ready(live, now, report)
        await self._reap(live, now, report)

        views = [WorkerView(t.id, t.state, t.since) for t in self.tracked.values()]
        report.workers = views
        blocked = self.blocked_reason if now < self.blocked_until else ""
        # Activities still "started" on a worker of ours that is gone will be back in the queue after
        # their heartbeat timeout: count them as backlog now, so the replacement starts at once and an
        # idle replacement is not stopped while the work is on its way back.
        orphaned = self._orphaned(obs, now)
        decision = self.policy.decide(obs.pending + orphaned, obs.backlog_age_s, views, now, blocked)
        report.decision = decision
        _event(
            "decision",
            provider=self.provider.name,
            backlog=obs.backlog_count,
            backlog_age_s=obs.backlog_age_s,
            waiting=obs.waiting,
            running=obs.running,
            orphaned=orphaned,
            **decision.as_log(),
        )
        self.metrics.decisions.labels(action=decision.action.value, cause=decision.cause).inc()
        self.metrics.desired.set(decision.desired)

        for _ in range(decision.launch):
            if not await self._launch(now, report):
                break
        for iid in decision.terminate:
            await self._terminate(iid, "idle_timeout" if decision.cause == "idle_timeout" else decision.cause, report)

        self._export(obs)
        self._save_state()
        if self.ledger is not None and slices:
            try:
                await self.ledger.record(slices)
            except Exception as e:  # noqa: BLE001 - a DB hiccup must not stop scaling; the time is logged
                _event("cost_record_failed", error=str(e), seconds=sum(s.seconds for s in slices))
        return report

    # ------------------------------------------------------------------ steps

    def _orphaned(self, obs: QueueObservation, now: float) -> int:
        for ident, at in list(self._gone.items()):
            if now - at > self.config.orphan_memory_s:
                del self._gone[ident]
        return sum(len(wfs) for ident, wfs in obs.busy.items() if ident in self._gone)

    def _forget_gone(self, live: dict[str, Instance], now: float) -> None:
        for tid in list(self.tracked):
            if tid not in live:
                t = self.tracked.pop(tid)
                self._gone.update(dict.fromkeys(t.identities(), now))
                self._billed_until.pop(tid, None)
                _event("instance_gone", instance=tid, lived_s=round(now - t.launched_at, 1))

    def _bill(self, live: dict[str, Instance], obs: QueueObservation, now: float) -> list[UsageSlice]:
        slices: list[UsageSlice] = []
        for inst in live.values():
            start = self._billed_until.get(inst.id, inst.started_at)
            seconds = max(0.0, now - start)
            self._billed_until[inst.id] = now
            if seconds <= 0:
                continue
            t = self.tracked.get(inst.id)
            idents = t.identities() if t else {inst.identity, inst.id}
            workflows = [w for ident in idents for w in obs.busy.get(ident, [])]
            price = inst.price_per_hour or (t.price_per_hour if t else 0.0)
            slices += slices_for_tick(self.provider.name, inst.id, workflows, seconds, price, now)
            self.metrics.gpu_cost.labels(provider=self.provider.name).inc(seconds * price / 3600.0)
        return slices

    def _update_states(self, live: dict[str, Instance], obs: QueueObservation, now: float) -> None:
        for tid, t in self.tracked.items():
            inst = live[tid]
            if inst.identity:
                t.identity = inst.identity
            if inst.price_per_hour:
                t.price_per_hour = inst.price_per_hour
            idents = t.identities()
            busy = any(obs.busy.get(i) for i in idents)
            last_poll = max((obs.pollers.get(i, 0.0) for i in idents), default=0.0)
            polled = last_poll >= t.launched_at - 5.0
            if t.ready_at is None and inst.state is InstanceState.RUNNING and (busy or polled):
                t.ready_at = now
                _event("instance_ready", instance=tid, boot_s=round(now - t.launched_at, 1))
            new = WorkerState.BUSY if busy else WorkerState.IDLE if t.ready_at is not None else WorkerState.STARTING
            if new is not t.state:
                t.state, t.since = new, now
            if t.ready_at is not None and (busy or last_poll >= now - self.config.poll_fresh_s):
                t.lease_until = now + self.config.lease_s

    async def _replace_never_ready(self, live: dict[str, Instance], now: float, report: TickReport) -> None:
        for t in list(self.tracked.values()):
            if t.state is WorkerState.STARTING and now - t.launched_at > self.config.ready_timeout_s:
                if t.placement:
                    self.avoid[t.placement] = now + self.config.avoid_ttl_s
                _event("never_ready", instance=t.id, placement=t.placement, waited_s=round(now - t.launched_at, 1))
                await self._terminate(t.id, "never_ready", report)
                await self._launch(now, report)  # retried elsewhere: the failed placement is avoided

    async def _reap(self, live: dict[str, Instance], now: float, report: TickReport) -> None:
        leases = {tid: t.lease_until for tid, t in self.tracked.items()}
        done = {iid for iid, _ in report.terminated}
        candidates = [i for i in live.values() if i.id not in done]
        for order in find_reapable(candidates, leases, now, self.config.unknown_grace_s):
            _event("reap", instance=order.instance.id, why=order.why, detail=order.detail)
            await self._terminate(order.instance.id, order.why, report, instance=order.instance)

    async def _launch(self, now: float, report: TickReport) -> bool:
        name = NAME_PREFIX + uuid.uuid4().hex[:10]
        avoid = {p for p, until in self.avoid.items() if until > now}
        try:
            inst = await asyncio.to_thread(self.provider.launch, name, dict(self.labels), avoid)
        except QuotaExceededError as e:
            wait = e.retry_after_s or self.config.quota_backoff_s
            self._block(now, wait, f"quota: {e}")
            self.metrics.launches.labels(provider=self.provider.name, outcome="quota").inc()
            _event("launch_failed", kind="quota", error=str(e), backoff_s=wait)
            return False
        except (ProviderError, ProviderAuthError) as e:
            self._block(now, self.config.launch_backoff_s, f"launch failed: {e}")
            self.metrics.launches.labels(provider=self.provider.name, outcome="failed").inc()
            _event("launch_failed", kind=type(e).__name__, error=str(e), backoff_s=self.config.launch_backoff_s)
            return False
        lease = now + self.config.lease_s
        self.tracked[inst.id] = Tracked(
            id=inst.id,
            name=name,
            identity=inst.identity,
            launched_at=now,
            placement=inst.placement,
            price_per_hour=inst.price_per_hour,
            lease_until=lease,
            since=now,
        )
        self._billed_until[inst.id] = now
        report.launched.append(inst.id)
        self.metrics.launches.labels(provider=self.provider.name, outcome="ok").inc()
        _event("launched", instance=inst.id, name=name, placement=inst.placement, price_per_hour=inst.price_per_hour)
        return True

    async def _terminate(self, iid: str, why: str, report: TickReport, instance: Instance | None = None) -> None:
        try:
            await asyncio.to_thread(self.provider.terminate, iid)
        except (ProviderError, ProviderAuthError) as e:
            _event("terminate_failed", instance=iid, why=why, error=str(e))
            return  # still listed next tick: tried again (the reaper or the policy)
        gone = self.tracked.pop(iid, None)
        if gone is not None:
            self._gone.update(dict.fromkeys(gone.identities(), self.clock()))
        report.terminated.append((iid, why))
        self.metrics.terminations.labels(provider=self.provider.name, why=why).inc()
        _event("terminated", instance=iid, why=why)

    def _block(self, now: float, seconds: float, reason: str) -> None:
        self.blocked_until = max(self.blocked_until, now + seconds)
        self.blocked_reason = reason

    def _export(self, obs: QueueObservation) -> None:
        self.metrics.backlog.set(obs.backlog_count)
        self.metrics.backlog_age.set(obs.backlog_age_s)
        counts: dict[str, int] = {}
        for t in self.tracked.values():
            counts[t.state.value] = counts.get(t.state.value, 0) + 1
        self.metrics.set_workers(counts)

    # ------------------------------------------------------------------ state file

    def _save_state(self) -> None:
        path = self.config.state_path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"provider": self.provider.name, "instances": [asdict(t) for t in self.tracked.values()]}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, default=str))
        tmp.replace(path)

    def _load_state(self) -> None:
        path = self.config.state_path
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text())
        except ValueError:
            return
        if data.get("provider") != self.provider.name:
            return
        now = self.clock()
        for raw in data.get("instances", []):
            t = Tracked(**{**raw, "state": WorkerState(raw["state"])})
            t.since = now  # idle time restarts: the old clock's idle period is not ours to trust
            self.tracked[t.id] = t


# ---------------------------------------------------------------------- entry point


def tasks_per_worker(settings: Settings, provider_name: str) -> int:
    """GPU activities one launched worker takes at once, so a backlog of N asks for N / that workers.

    Set explicitly, ``TUBEFLOW_AUTOSCALER_TASKS_PER_WORKER`` wins.  Otherwise a ``local`` worker runs
    on this machine with the stock ``--concurrency 0``, so it takes what :func:`gpu_slots` decides
    here (``TUBEFLOW_RENDER_PARALLEL`` segments when encoding on the CPU).  A cloud worker's
    encoder can't be probed from here; GPU machines encode with NVENC, one activity at a time,
    unless ``TUBEFLOW_GPU_SLOTS`` (which the providers pass on) says otherwise.
    """
    explicit = settings.autoscaler_tasks_per_worker
    if explicit > 0:
        return explicit
    if provider_name == "local":
        from tubeflow.media.encoders import gpu_slots

        return gpu_slots(settings)[0]  # TUBEFLOW_GPU_SLOTS first, else what this machine's encoder allows
    return max(1, settings.gpu_slots)


def policy_from_settings(settings: Settings, provider_name: str = "local") -> PolicyConfig:
    return PolicyConfig(
        scale_up_backlog=settings.autoscaler_scale_up_backlog,
        scale_up_min_age_s=settings.autoscaler_scale_up_min_age_s,
        max_workers=settings.autoscaler_max_workers,
        min_workers=settings.autoscaler_min_workers,
        tasks_per_worker=tasks_per_worker(settings, provider_name),
        idle_timeout_s=settings.autoscaler_idle_timeout_s,
        scale_up_cooldown_s=settings.autoscaler_scale_up_cooldown_s,
        scale_down_cooldown_s=settings.autoscaler_scale_down_cooldown_s,
    )


def controller_config_from_settings(settings: Settings) -> ControllerConfig:
    return ControllerConfig(
        interval_s=settings.autoscaler_interval_s,
        ready_timeout_s=settings.autoscaler_ready_timeout_s,
        lease_s=settings.autoscaler_lease_s,
        unknown_grace_s=settings.autoscaler_unknown_grace_s,
        state_path=settings.home / "autoscaler" / "state.json",
    )


async def run_autoscaler(
    settings: Settings,
    provider_name: str = "local",
    *,
    stop: asyncio.Event | None = None,
    client: Any = None,
    policy: PolicyConfig | None = None,
    config: ControllerConfig | None = None,
    metrics: TubeflowMetrics | None = None,
    metrics_port: int | None = None,
    record_costs: bool = True,
    provider: Provider | None = None,
    **provider_options: Any,
) -> Autoscaler:
    """Run the loop until ``stop`` is set or SIGTERM/SIGINT; GPU workers keep running (adopted on restart)."""
    from autoscaler.providers import open_provider

    if client is None:
        from service.client import connect

        client = await connect(settings)
    provider = provider or open_provider(provider_name, settings, **provider_options)
    metrics = metrics or default_metrics()
    port = metrics_port if metrics_port is not None else settings.autoscaler_metrics_port
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr=settings.api_host, registry=metrics.registry)
    ledger = None
    db = None
    if record_costs:
        from tubeflow.db.engine import open_database

        db = await open_database(settings)
        ledger = CostLedger(db)

    async def observe() -> QueueObservation:
        return await observe_queue(client, settings.temporal_namespace, settings.gpu_queue)

    scaler = Autoscaler(
        provider,
        observe,
        ScalingPolicy(policy or policy_from_settings(settings, provider_name)),
        config or controller_config_from_settings(settings),
        metrics,
        ledger,
        labels={"queue": settings.gpu_queue},
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    _event("autoscaler_started", provider=provider.name, queue=settings.gpu_queue, policy=asdict(scaler.policy.config))
    try:
        while not stop.is_set():
            await scaler.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), scaler.config.interval_s)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        if db is not None:
            await db.close()
        _event("autoscaler_stopped", provider=provider.name, workers=len(scaler.tracked))
    return scaler
