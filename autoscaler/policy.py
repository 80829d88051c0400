"""The scaling decision, as a pure function of what the controller observed and the clock.

Kept free of Temporal, providers and sleeping so a simulation can drive it over hours of
scripted backlog in milliseconds and check every decision.  The controller applies decisions;
the policy only remembers when it last scaled, which is what the cool-downs need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class WorkerState(StrEnum):
    STARTING = "starting"  # launched, not yet polling the GPU queue
    IDLE = "idle"  # polling, no activity running
    BUSY = "busy"  # running at least one GPU activity


@dataclass(frozen=True)
class WorkerView:
    """One worker as the policy sees it; ``since`` is when it entered ``state`` (epoch seconds)."""

    id: str
    state: WorkerState
    since: float


@dataclass(frozen=True)
class PolicyConfig:
    # Scale up once this many activity tasks wait and no worker is idle to take them.
    scale_up_backlog: int = 1
    # ...and the oldest has waited this long (0 = at once); filters sub-second blips.
    scale_up_min_age_s: float = 0.0
    max_workers: int = 3
    min_workers: int = 0
    # GPU activities one worker runs at once (the worker's --concurrency).
    tasks_per_worker: int = 1
    # A worker idle this long is stopped (scale to zero).
    idle_timeout_s: float = 300.0
    # After a scale-up, wait this long before the next one: new workers need time to boot.
    scale_up_cooldown_s: float = 60.0
    # No scale-down within this long of any scaling action, so a burst does not flap.
    scale_down_cooldown_s: float = 60.0


class Action(StrEnum):
    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    HOLD = "hold"


@dataclass(frozen=True)
class Decision:
    action: Action
    desired: int  # worker count after the decision is applied
    current: int
    launch: int = 0
    terminate: tuple[str, ...] = ()
    reason: str = ""
    # A short, fixed code for the reason (a metric label; the sentence goes to the log).
    cause: str = ""

    def as_log(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "desired": self.desired,
            "current": self.current,
            "launch": self.launch,
            "terminate": list(self.terminate),
            "reason": self.reason,
            "cause": self.cause,
        }


@dataclass
class ScalingPolicy:
    """Decides the worker count; call :meth:`decide` once per controller tick."""

    config: PolicyConfig = field(default_factory=PolicyConfig)
    last_scale_up: float | None = None
    last_scale_down: float | None = None

    def decide(
        self,
        backlog_count: int,
        backlog_age_s: float,
        workers: Sequence[WorkerView],
        now: float,
        launch_blocked_reason: str = "",
    ) -> Decision:
        """The next action and why.  ``launch_blocked_reason`` (a quota or a launch back-off) vetoes scale-up."""
        decision = self._decide(backlog_count, backlog_age_s, list(workers), now, launch_blocked_reason)
        if decision.action is Action.SCALE_UP:
            self.last_scale_up = now
        elif decision.action is Action.SCALE_DOWN:
            self.last_scale_down = now
        return decision

    def _decide(
        self,
        backlog: int,
        age: float,
        workers: list[WorkerView],
        now: float,
        blocked: str,
    ) -> Decision:
        c = self.config
        current = len(workers)
        idle = [w for w in workers if w.state is WorkerState.IDLE]
        busy = [w for w in workers if w.state is WorkerState.BUSY]
        starting = [w for w in workers if w.state is WorkerState.STARTING]
        counts = f"{len(busy)} busy, {len(idle)} idle, {len(starting)} starting"

        def hold(cause: str, reason: str) -> Decision:
            return Decision(Action.HOLD, current, current, reason=reason, cause=cause)

        # Above the maximum (it was lowered): shed the least useful workers first, at once.
        if current > c.max_workers:
            order = starting + sorted(idle, key=lambda w: w.since) + busy
            victims = tuple(w.id for w in order[: current - c.max_workers])
            return Decision(
                Action.SCALE_DOWN,
                c.max_workers,
                current,
                terminate=victims,
                reason=f"{current} workers exceed max_workers={c.max_workers} ({counts})",
                cause="above_max",
            )

        # Up: work waits and nobody is free to take it.
        if backlog >= c.scale_up_backlog and backlog > 0 and not idle:
            if age < c.scale_up_min_age_s:
                return hold(
                    "young_backlog", f"backlog {backlog} only {age:.1f}s old (< {c.scale_up_min_age_s:.0f}s); {counts}"
                )
            # Starting workers will take tasks too; count them so one burst launches once.
            needed = len(busy) + math.ceil(backlog / max(1, c.tasks_per_worker))
            desired = min(c.max_workers, max(needed, c.min_workers))
            launch = desired - current
            if launch <= 0:
                if current >= c.max_workers:
                    return hold("at_max", f"backlog {backlog} but already at max_workers={c.max_workers} ({counts})")
                return hold(
                    "covered_by_starting",
                    f"backlog {backlog} is covered by {len(starting)} starting worker(s) ({counts})",
                )
            if blocked:
                return hold(
                    "launch_blocked",
                    f"backlog {backlog} needs {launch} more worker(s) but launching is blocked: {blocked}",
                )
            if self.last_scale_up is not None and now - self.last_scale_up < c.scale_up_cooldown_s:
                wait = c.scale_up_cooldown_s - (now - self.last_scale_up)
                return hold(
                    "up_cooldown",
                    f"backlog {backlog} needs {launch} more worker(s); scale-up cool-down {wait:.0f}s left",
                )
            return Decision(
                Action.SCALE_UP,
                desired,
                current,
                launch=launch,
                reason=f"backlog {backlog} (oldest {age:.0f}s) and no idle worker ({counts}): launch {launch}",
                cause="backlog",
            )
        if backlog > 0 and idle:
            return hold(
                "idle_takes_backlog", f"backlog {backlog} will be taken by {len(idle)} idle worker(s) ({counts})"
            )

        # Below the floor: top up regardless of backlog.
        if current < c.min_workers and not blocked:
            return Decision(
                Action.SCALE_UP,
                c.min_workers,
                current,
                launch=c.min_workers - current,
                reason=f"{current} workers below min_workers={c.min_workers}",
                cause="below_min",
            )

        # Down: idle past the timeout, with an empty queue, outside the cool-down.
        expired = sorted((w for w in idle if now - w.since >= c.idle_timeout_s), key=lambda w: w.since)
        removable = max(0, current - c.min_workers)
        expired = expired[:removable]
        if not expired:
            if idle:
                longest = max(now - w.since for w in idle)
                return hold(
                    "idle_under_timeout", f"idle {longest:.0f}s < idle_timeout {c.idle_timeout_s:.0f}s ({counts})"
                )
            if current == 0:
                return hold("zero", "no backlog and no workers")
            return hold("steady", f"no backlog; {counts}")
        last_action = max((t for t in (self.last_scale_up, self.last_scale_down) if t is not None), default=None)
        if last_action is not None and now - last_action < c.scale_down_cooldown_s:
            wait = c.scale_down_cooldown_s - (now - last_action)
            return hold(
                "down_cooldown", f"{len(expired)} worker(s) idle past timeout; scale-down cool-down {wait:.0f}s left"
            )
        ids = tuple(w.id for w in expired)
        return Decision(
            Action.SCALE_DOWN,
            current - len(ids),
            current,
            terminate=ids,
            reason=f"{len(ids)} worker(s) idle >= {c.idle_timeout_s:.0f}s with an empty queue ({counts})",
            cause="idle_timeout",
        )
