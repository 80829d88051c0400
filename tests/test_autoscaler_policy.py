"""The scaling policy driven over simulated time with a scripted backlog: no sleeping, every decision checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autoscaler.policy import Action, Decision, PolicyConfig, ScalingPolicy, WorkerState, WorkerView
from tubeflow.settings import Settings

BOOT_S = 30.0  # a simulated worker polls this long after launch
TASK_S = 120.0  # one simulated render
STEP_S = 10.0  # controller interval


@dataclass
class SimWorker:
    id: str
    launched: float
    state: WorkerState = WorkerState.STARTING
    since: float = 0.0
    busy_until: float = 0.0


@dataclass
class Sim:
    """A tiny GPU pool: tasks wait in a queue, ready workers take one each, renders take TASK_S."""

    config: PolicyConfig
    policy: ScalingPolicy = field(init=False)
    workers: dict[str, SimWorker] = field(default_factory=dict)
    queue: list[float] = field(default_factory=list)  # enqueue times
    done: int = 0
    launched: int = 0
    trace: list[tuple[float, Decision, int, int, list[WorkerView]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.policy = ScalingPolicy(self.config)

    def advance(self, now: float) -> None:
        for w in self.workers.values():
            if w.state is WorkerState.STARTING and now - w.launched >= BOOT_S:
                w.state, w.since = WorkerState.IDLE, now
            if w.state is WorkerState.BUSY and now >= w.busy_until:
                w.state, w.since = WorkerState.IDLE, now
                self.done += 1
        for w in sorted(self.workers.values(), key=lambda w: w.id):
            if w.state is WorkerState.IDLE and self.queue:
                self.queue.pop(0)
                w.state, w.since, w.busy_until = WorkerState.BUSY, now, now + TASK_S

    def step(self, now: float) -> Decision:
        self.advance(now)
        views = [WorkerView(w.id, w.state, w.since) for w in self.workers.values()]
        age = now - self.queue[0] if self.queue else 0.0
        decision = self.policy.decide(len(self.queue), age, views, now)
        self.trace.append((now, decision, len(self.queue), len(views), views))
        for _ in range(decision.launch):
            self.launched += 1
            wid = f"w{self.launched}"
            self.workers[wid] = SimWorker(wid, launched=now, since=now)
        for wid in decision.terminate:
            del self.workers[wid]
        return decision


def run(sim: Sim, arrivals: dict[float, int], until: float) -> None:
    t = 0.0
    while t <= until:
        sim.queue.extend([t] * arrivals.get(t, 0))
        sim.step(t)
        t += STEP_S


def check_every_decision(sim: Sim) -> None:
    """Invariants that must hold for each decision in the trace."""
    c = sim.config
    last_up: float | None = None
    last_any: float | None = None
    for now, d, backlog, current, views in sim.trace:
        assert d.reason, f"t={now}: a decision without a reason"
        assert d.current == current
        assert d.desired <= c.max_workers, f"t={now}: desired {d.desired} above max"
        assert d.desired == current + d.launch - len(d.terminate)
        by_id = {v.id: v for v in views}
        if d.action is Action.SCALE_UP:
            assert backlog >= c.scale_up_backlog, f"t={now}: scaled up without backlog"
            assert not any(v.state is WorkerState.IDLE for v in views), f"t={now}: scaled up with an idle worker"
            assert last_up is None or now - last_up >= c.scale_up_cooldown_s, f"t={now}: scale-up inside cool-down"
            assert d.launch > 0 and not d.terminate
            last_up = last_any = now
        elif d.action is Action.SCALE_DOWN:
            assert backlog == 0, f"t={now}: scaled down with work waiting"
            assert last_any is None or now - last_any >= c.scale_down_cooldown_s, f"t={now}: flapped"
            for wid in d.terminate:
                v = by_id[wid]
                assert v.state is WorkerState.IDLE, f"t={now}: terminated a {v.state.value} worker"
                assert now - v.since >= c.idle_timeout_s, f"t={now}: terminated before the idle timeout"
            last_any = now
        else:
            assert d.launch == 0 and not d.terminate


def actions(sim: Sim) -> list[tuple[float, str, int]]:
    """(time, action, workers added or removed) for every non-hold decision."""
    out = []
    for now, d, *_ in sim.trace:
        if d.action is not Action.HOLD:
            out.append((now, d.action.value, d.launch or len(d.terminate)))
    return out


def test_burst_scales_up_to_max_drains_and_returns_to_zero() -> None:
    cfg = PolicyConfig(max_workers=3, idle_timeout_s=300, scale_up_cooldown_s=60, scale_down_cooldown_s=60)
    sim = Sim(cfg)
    run(sim, {0: 0, 20: 5}, until=1200)
    check_every_decision(sim)
    # 5 renders with nobody running: three workers at once (the max), never a fourth.
    assert actions(sim)[0] == (20.0, "scale_up", 3)
    assert max(len(views) + d.launch for _, d, _, _, views in sim.trace) == 3
    # All five renders ran; the queue drained; then back to zero after the idle timeout.
    assert sim.done == 5 and not sim.queue
    assert sim.workers == {}
    downs = [a for a in actions(sim) if a[1] == "scale_down"]
    assert sum(n for *_, n in downs) == 3
    # Workers boot by 50; two run two renders (idle from 290), one runs one (idle from 170): each stops
    # exactly when its idle time reaches 300 s.
    assert downs == [(470.0, "scale_down", 1), (590.0, "scale_down", 2)]
    assert sim.launched == 3, "no worker was launched twice for one burst"


def test_idle_worker_takes_new_backlog_instead_of_a_launch() -> None:
    cfg = PolicyConfig(max_workers=3, idle_timeout_s=300, scale_up_cooldown_s=30, scale_down_cooldown_s=30)
    sim = Sim(cfg)
    # One job, then another while the first worker is idle but before its timeout.
    run(sim, {0: 1, 250: 1}, until=900)
    check_every_decision(sim)
    assert sim.launched == 1
    # At t=250 the worker (idle since 150, under the timeout) took the job before anything launched.
    at_250 = [d for now, d, *_ in sim.trace if now == 250.0]
    assert at_250[0].action is Action.HOLD and at_250[0].reason == "no backlog; 1 busy, 0 idle, 0 starting"
    assert sim.done == 2
    assert actions(sim) == [(0.0, "scale_up", 1), (670.0, "scale_down", 1)]


def test_starting_workers_cover_backlog_no_double_launch_and_cooldown() -> None:
    cfg = PolicyConfig(max_workers=3, idle_timeout_s=300, scale_up_cooldown_s=60, scale_down_cooldown_s=60)
    sim = Sim(cfg)
    # One task, then one more every step while the first worker boots.
    run(sim, {0: 1, 10: 1, 20: 1, 30: 1, 40: 1, 50: 1}, until=100)
    check_every_decision(sim)
    ups = [a for a in actions(sim) if a[1] == "scale_up"]
    # t=0 launches one; t=10..50 backlog grows but the scale-up cool-down (60 s) holds;
    # the holds say so, and at t=60 the pool goes to the max.
    assert ups[0] == (0.0, "scale_up", 1)
    assert ups[1][0] >= 60.0 and ups[1][2] == 2
    reasons = [d.reason for now, d, *_ in sim.trace if 10 <= now < 60]
    assert all("cool-down" in r or "idle worker" in r for r in reasons), reasons


def test_no_flapping_on_an_on_off_backlog() -> None:
    """Jobs every 200 s (shorter than the idle timeout): the pool stays up instead of bouncing."""
    cfg = PolicyConfig(max_workers=3, idle_timeout_s=300, scale_up_cooldown_s=60, scale_down_cooldown_s=120)
    sim = Sim(cfg)
    arrivals = {float(t): 1 for t in range(0, 2000, 200)}
    run(sim, arrivals, until=2600)
    check_every_decision(sim)
    assert sim.launched == 1, actions(sim)
    assert actions(sim) == [(0.0, "scale_up", 1), (2220.0, "scale_down", 1)]
    # Between the two actions the worker count never changed: every other decision was a hold.
    assert all(d.action is Action.HOLD for now, d, *_ in sim.trace if 0 < now < 2220)


def test_lowered_max_sheds_idle_and_starting_workers_first() -> None:
    policy = ScalingPolicy(PolicyConfig(max_workers=1))
    workers = [
        WorkerView("busy", WorkerState.BUSY, 0),
        WorkerView("idle", WorkerState.IDLE, 5),
        WorkerView("boot", WorkerState.STARTING, 8),
    ]
    d = policy.decide(0, 0, workers, now=10)
    assert d.action is Action.SCALE_DOWN
    assert set(d.terminate) == {"boot", "idle"}
    assert "exceed max_workers=1" in d.reason


def test_blocked_launch_holds_with_its_reason() -> None:
    policy = ScalingPolicy(PolicyConfig(max_workers=3))
    d = policy.decide(4, 30, [], now=0, launch_blocked_reason="quota exceeded on vastai")
    assert d.action is Action.HOLD and "quota exceeded on vastai" in d.reason
    # When the block clears the same backlog scales up (the veto did not start a cool-down).
    d = policy.decide(4, 40, [], now=10)
    assert d.action is Action.SCALE_UP and d.launch == 3


def test_young_backlog_waits_for_min_age() -> None:
    policy = ScalingPolicy(PolicyConfig(scale_up_min_age_s=20))
    assert policy.decide(1, 5, [], now=0).action is Action.HOLD
    assert policy.decide(1, 25, [], now=20).action is Action.SCALE_UP


def test_min_workers_floor_is_kept() -> None:
    policy = ScalingPolicy(PolicyConfig(min_workers=1, idle_timeout_s=10, scale_down_cooldown_s=0))
    d = policy.decide(0, 0, [], now=0)
    assert d.action is Action.SCALE_UP and d.launch == 1
    d = policy.decide(0, 0, [WorkerView("a", WorkerState.IDLE, 0)], now=1000)
    assert d.action is Action.HOLD, "the last worker above the floor is not stopped"


def test_a_burst_asks_for_backlog_over_tasks_per_worker() -> None:
    """Workers that take two segments each: a burst of 4 waiting segments launches 2, not 4."""
    one = ScalingPolicy(PolicyConfig(max_workers=8)).decide(4, 0.0, [], now=0.0)
    two = ScalingPolicy(PolicyConfig(max_workers=8, tasks_per_worker=2)).decide(4, 0.0, [], now=0.0)
    odd = ScalingPolicy(PolicyConfig(max_workers=8, tasks_per_worker=2)).decide(5, 0.0, [], now=0.0)
    assert (one.launch, two.launch, odd.launch) == (4, 2, 3)


def test_tasks_per_worker_follows_what_a_launched_worker_takes(tmp_path: Path) -> None:
    from autoscaler.controller import policy_from_settings
    from tubeflow.media.encoders import gpu_slots

    s = Settings(home=tmp_path, force_cpu=True, render_parallel=2)
    assert gpu_slots(s)[0] == 2
    assert policy_from_settings(s, "local").tasks_per_worker == 2, "a local CPU worker takes RENDER_PARALLEL"
    assert policy_from_settings(s, "runpod").tasks_per_worker == 1, "a cloud GPU encodes with NVENC, one at a time"
    pinned = s.with_overrides(gpu_slots=3)
    assert policy_from_settings(pinned, "runpod").tasks_per_worker == 3, "TUBEFLOW_GPU_SLOTS travels to the worker"
    explicit = pinned.with_overrides(autoscaler_tasks_per_worker=1)
    assert policy_from_settings(explicit, "local").tasks_per_worker == 1
