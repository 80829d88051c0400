"""No orphan keeps billing: stop managed instances nobody knows about, or whose lease ran out.

"Unknown" means managed by this project (label or name prefix) but not in the controller's
registry: a launch whose answer was lost, a crashed earlier controller without its state file, a
hand-started instance.  A grace period after start avoids racing a launch still in flight.  A
lease is renewed each tick while the worker polls or works; a hung worker stops renewing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autoscaler.providers.base import Instance, InstanceState


@dataclass(frozen=True)
class ReapOrder:
    instance: Instance
    why: str  # "unknown" | "lease_expired"
    detail: str


def find_reapable(
    instances: Iterable[Instance],
    leases: Mapping[str, float | None],
    now: float,
    unknown_grace_s: float = 120.0,
) -> list[ReapOrder]:
    """Which live instances to terminate; ``leases`` maps every known instance id to its lease end."""
    orders = []
    for inst in instances:
        if inst.state not in (InstanceState.STARTING, InstanceState.RUNNING):
            continue
        age = now - inst.started_at
        if inst.id not in leases:
            if age >= unknown_grace_s:
                orders.append(
                    ReapOrder(inst, "unknown", f"{inst.provider} instance {inst.id} is unknown ({age:.0f}s old)")
                )
            continue
        lease = leases[inst.id] if leases[inst.id] is not None else inst.lease_until
        if lease is not None and now > lease:
            orders.append(
                ReapOrder(inst, "lease_expired", f"{inst.provider} instance {inst.id} lease over {now - lease:.0f}s")
            )
    return orders
