"""What GPU time cost: recorded per instance, production/job and day; read back per production and per day.

Price is per instance (the provider's hourly rate at launch), so a production rendered half on a
cheap and half on a dear GPU is charged what it really used.  Time is attributed each controller
tick: a busy instance's interval goes to the workflow(s) whose activity it ran, split evenly; an
idle instance's interval goes to nobody (``workflow_id=""``) and shows up as overhead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from autoscaler.models import GpuUsage
from tubeflow.contracts import production_workflow_id
from tubeflow.db.engine import Database

_PRODUCTION_PREFIX = production_workflow_id("")  # "production-"
_CHILD_SUFFIX = "-shorts"  # workflows/production.py starts ShortsWorkflow as "<parent id>-shorts"


def production_of(workflow_id: str) -> str:
    """The production a workflow belongs to ("" for other jobs); its shorts child is charged to it too."""
    if not workflow_id.startswith(_PRODUCTION_PREFIX):
        return ""
    rest = workflow_id[len(_PRODUCTION_PREFIX) :]
    return rest.removesuffix(_CHILD_SUFFIX)


@dataclass(frozen=True)
class UsageSlice:
    """``seconds`` of one instance's time, charged to ``workflow_id`` ("" = idle)."""

    provider: str
    instance_id: str
    workflow_id: str
    seconds: float
    price_per_hour: float
    at: float  # epoch seconds (picks the UTC day)

    @property
    def cost_usd(self) -> float:
        return self.seconds * self.price_per_hour / 3600.0


@dataclass
class DailySummary:
    day: str
    total_usd: float = 0.0
    instance_seconds: float = 0.0
    idle_usd: float = 0.0
    by_provider: dict[str, float] = field(default_factory=dict)
    by_production: dict[str, float] = field(default_factory=dict)
    by_job: dict[str, float] = field(default_factory=dict)


def slices_for_tick(
    provider: str,
    instance_id: str,
    busy_workflows: Iterable[str],
    seconds: float,
    price_per_hour: float,
    at: float,
) -> list[UsageSlice]:
    """Split one instance's tick between the workflows it served (or idle)."""
    wids = sorted(set(busy_workflows))
    if not wids:
        return [UsageSlice(provider, instance_id, "", seconds, price_per_hour, at)]
    share = seconds / len(wids)
    return [UsageSlice(provider, instance_id, w, share, price_per_hour, at) for w in wids]


class CostLedger:
    """The ``gpu_usage`` table through the project's :class:`Database` (its migrations create the table)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, slices: Iterable[UsageSlice]) -> None:
        """Add the slices to their (instance, workflow, day) rows in one transaction."""
        merged: dict[tuple[str, str, str], UsageSlice] = {}
        for s in slices:
            if s.seconds <= 0:
                continue
            day = datetime.fromtimestamp(s.at, UTC).strftime("%Y-%m-%d")
            key = (s.instance_id, s.workflow_id, day)
            prev = merged.get(key)
            merged[key] = (
                s
                if prev is None
                else UsageSlice(
                    s.provider, s.instance_id, s.workflow_id, prev.seconds + s.seconds, s.price_per_hour, s.at
                )
            )
        if not merged:
            return
        now = datetime.now(UTC)
        async with self.db.session() as session:
            for (instance_id, workflow_id, day), s in merged.items():
                row = (
                    await session.execute(
                        select(GpuUsage).where(
                            GpuUsage.instance_id == instance_id,
                            GpuUsage.workflow_id == workflow_id,
                            GpuUsage.day == day,
                        )
                    )
                ).scalar_one_or_none()
                if row is None:
                    row = GpuUsage(
                        provider=s.provider,
                        instance_id=instance_id,
                        workflow_id=workflow_id,
                        production_id=production_of(workflow_id),
                        day=day,
                        seconds=0.0,
                        cost_usd=0.0,
                    )
                    session.add(row)
                row.seconds += s.seconds
                row.cost_usd += s.cost_usd
                row.price_per_hour = s.price_per_hour
                row.updated_at = now

    async def production_cost(self, production_id: str) -> float:
        """USD of GPU time charged to this production so far (its query and the API show this)."""
        async with self.db.session() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(GpuUsage.cost_usd), 0.0)).where(GpuUsage.production_id == production_id)
            )
        return float(total or 0.0)

    async def job_cost(self, workflow_id: str) -> float:
        async with self.db.session() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(GpuUsage.cost_usd), 0.0)).where(GpuUsage.workflow_id == workflow_id)
            )
        return float(total or 0.0)

    async def daily_summary(self, day: str) -> DailySummary:
        """Spend for one UTC day (YYYY-MM-DD): total, idle overhead, by provider, production and job."""
        async with self.db.session() as session:
            rows = (await session.execute(select(GpuUsage).where(GpuUsage.day == day))).scalars().all()
        out = DailySummary(day)
        for r in rows:
            out.total_usd += r.cost_usd
            out.instance_seconds += r.seconds
            out.by_provider[r.provider] = out.by_provider.get(r.provider, 0.0) + r.cost_usd
            if not r.workflow_id:
                out.idle_usd += r.cost_usd
            elif r.production_id:
                out.by_production[r.production_id] = out.by_production.get(r.production_id, 0.0) + r.cost_usd
            else:
                out.by_job[r.workflow_id] = out.by_job.get(r.workflow_id, 0.0) + r.cost_usd
        return out
