"""The GPU usage ledger: instance-seconds and their price, per instance, job and day.

One row per (instance, workflow, UTC day); the controller adds seconds to it every tick.  Idle
instance time has an empty ``workflow_id``: it is real spend, shown in the daily summary but not
charged to any production.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tubeflow.db.base import Base


class GpuUsage(Base):
    __tablename__ = "gpu_usage"
    __table_args__ = (
        UniqueConstraint("instance_id", "workflow_id", "day", name="uq_gpu_usage_instance_workflow_day"),
        Index("ix_gpu_usage_production", "production_id"),
        Index("ix_gpu_usage_day", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str] = mapped_column(String(128))
    workflow_id: Mapped[str] = mapped_column(String(256), default="")  # "" = idle time
    production_id: Mapped[str] = mapped_column(String(128), default="")
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    price_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
