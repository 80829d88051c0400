"""The analytics tables and learnings with evidence on SQLite and PostgreSQL: upserts never double a day,
a curve is replaced whole, totals are weighted right, and an analytics learning expires."""

from __future__ import annotations

from datetime import timedelta

from knowledge.consolidate import consolidate
from knowledge.store import add_learning, get_learnings, utcnow
from tubeflow.db import analytics_repo, repo
from tubeflow.db.analytics_repo import DayStat
from tubeflow.db.engine import Database

pytest_plugins = ["tests.dbfixtures"]  # the database fixture, on SQLite and PostgreSQL


async def test_days_upsert_curves_replace_and_totals_weigh(database: Database) -> None:
    await repo.create_channel(database, "sky", "science")
    first = [
        DayStat("v1", "2026-11-01", views=100, avg_view_pct=60.0, impressions=1000, ctr=5.0, watch_minutes=50.0),
        DayStat("v1", "2026-11-02", views=300, avg_view_pct=40.0, impressions=3000, ctr=1.0, watch_minutes=90.0),
    ]
    await analytics_repo.save_days(database, "sky", first)
    revised = DayStat("v1", "2026-11-02", views=100, avg_view_pct=40.0, impressions=1000, ctr=1.0, watch_minutes=30.0)
    await analytics_repo.save_days(database, "sky", [revised])  # YouTube revised the latest day
    days = await analytics_repo.day_stats(database, "sky")
    assert [(d.day, d.views) for d in days] == [("2026-11-01", 100), ("2026-11-02", 100)]
    assert await analytics_repo.last_day(database, "sky") == "2026-11-02"
    (v,) = await analytics_repo.video_summaries(database, "sky")
    assert v.views == 200 and v.avg_view_pct == 50.0 and v.ctr == 3.0 and v.impressions == 2000
    assert analytics_repo.daily_totals(days) == [
        {"day": "2026-11-01", "views": 100, "watch_minutes": 50.0},
        {"day": "2026-11-02", "views": 100, "watch_minutes": 30.0},
    ]

    await analytics_repo.save_retention(database, "sky", "v1", [(0.01, 1.0, 0.5), (0.5, 0.6, None)])
    await analytics_repo.save_retention(database, "sky", "v1", [(0.01, 0.9, 0.4)])
    assert await analytics_repo.retention(database, "sky", "v1") == [(0.01, 0.9, 0.4)]


async def test_an_analytics_learning_carries_evidence_and_expires(database: Database) -> None:
    now = utcnow()
    evidence = {"video_ids": ["v1"], "drop": 0.5, "section": "Scattering"}
    await add_learning(
        database, "science", "Keep sections short", "analytics:retention", channel="sky", evidence=evidence,
        ttl=timedelta(days=90), now=now,
    )  # fmt: skip
    (got,) = await get_learnings(database, "science", "sky", now=now)
    assert got.evidence == evidence and got.expires_at is not None
    assert abs((got.expires_at - now) - timedelta(days=90)) < timedelta(seconds=1)
    assert await get_learnings(database, "science", "sky", now=now + timedelta(days=91)) == []
    assert (await consolidate(database, now=now + timedelta(days=91))).learnings_expired == 1
