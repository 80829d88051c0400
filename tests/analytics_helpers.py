"""A channel with published videos whose analytics are collected from the fake YouTube, for the
stats, learning and dashboard tests: real database, real storage, the production collector."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from activities.youtube_analytics import collect_channel
from tests.fake_youtube import FakeYouTube
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import Database
from tubeflow.db.models import ProductionRow
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.secret_box import SecretBox
from tubeflow.settings import Settings
from tubeflow.storage import Storage

TODAY = datetime.now(UTC).date()
SECTIONS = ["Sunlight", "Scattering", "Sunsets"]
# 100 s of narration: hook 0-10, then 30 s per section.
TIMING = NarrationTiming(
    duration_s=100.0,
    sample_rate=22050,
    parts=[
        PartTiming(0, "hook", 0.0, 10.0, "Look up.", None),
        PartTiming(1, "section", 10.0, 40.0, "a", 0),
        PartTiming(2, "section", 40.0, 70.0, "b", 1),
        PartTiming(3, "section", 70.0, 100.0, "c", 2),
    ],
)


def seed_days(fake: FakeYouTube, vid: str, views: int, pct: float, ctr: float = 4.5, days: int = 40) -> None:
    """``days`` of numbers ending today; a backfill must take only the last 28 (+ today)."""
    fake.analytics[vid] = {
        (TODAY - timedelta(days=i)).isoformat(): {
            "views": views + i,
            "estimatedMinutesWatched": (views + i) * 0.5,
            "averageViewDuration": 30.0,
            "averageViewPercentage": pct,
            "likes": 2,
            "subscribersGained": 1,
            "videoThumbnailImpressions": 1000,
            "videoThumbnailImpressionsClickRate": ctr,
        }
        for i in range(days)
    }


def curve(drop_from: float, drop_to: float) -> list[tuple[float, float, float]]:
    """Flat at 0.9, falling linearly to 0.3 between the two ratios, flat after."""
    out = []
    for r in range(1, 101):
        x = r / 100
        if x <= drop_from:
            w = 0.9
        elif x >= drop_to:
            w = 0.3
        else:
            w = 0.9 - 0.6 * (x - drop_from) / (drop_to - drop_from)
        out.append((x, round(w, 4), 0.5))
    return out


def gentle() -> list[tuple[float, float, float]]:
    """A video that holds its audience: from 0.9 down to 0.75 at the end, no sharp drop anywhere."""
    return [(r / 100, round(0.9 - 0.15 * r / 100, 4), 0.6) for r in range(1, 101)]


async def connect(fake: FakeYouTube, settings: Settings, db: Database, channel: str, account: str) -> None:
    acc = fake.accounts[account]
    info = {
        "type": "authorized_user",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": acc.refresh_token,
        "token_uri": fake.token_uri,
    }
    sealed = SecretBox.from_settings(settings).seal(json.dumps(info))
    await channel_repo.save_account(db, channel, sealed, "fake-project", acc.channel_id, acc.title)


async def published_production(
    db: Database,
    storage: Storage,
    channel: str,
    pid: str,
    vid: str,
    topic: str,
    *,
    cost: float = 0.0,
    thumbnail_option: int = 0,
) -> None:
    """A finished production with its script, timing and chosen thumbnail, published as ``vid``."""
    await repo.create_production(db, channel, topic, production_id=pid)
    script_key, timing_key = f"productions/{pid}/script-v1.json", f"productions/{pid}/timing-v1.json"
    script: dict[str, Any] = {"title": topic, "hook": "Look up.", "sections": [{"heading": h} for h in SECTIONS]}
    storage.put_text(script_key, json.dumps(script), "application/json")
    storage.put_text(timing_key, TIMING.to_json(), "application/json")
    thumb = f"productions/{pid}/thumbnails/v1-{thumbnail_option}.jpg"
    async with db.session() as s:
        await s.execute(
            update(ProductionRow)
            .where(ProductionRow.id == pid)
            .values(
                artifacts={"script": script_key, "timing": timing_key},
                outputs={"thumbnail": thumb},
                state="completed",
                stage="done",
                title=topic,
            )
        )
    if cost:
        await repo.add_cost(db, pid, cost)
    await channel_repo.reserve_slot(db, channel, pid, "long", 0, now=datetime.now(UTC), title=topic)
    await channel_repo.update_publication(db, pid, "long", 0, status="published", video_id=vid)


async def collected_channel(fake: FakeYouTube, settings: Settings, db: Database, storage: Storage) -> dict[str, str]:
    """Channel "sky" (niche science) with three published videos and their analytics collected.

    "Rayleigh scattering and the blue sky" holds viewers (62 %), "Why the sky is blue" nearly as
    well, "Stock market basics" does badly (21 %) and loses half its audience in "Scattering".
    """
    fake.add_account("sky", "Sky Facts")
    await repo.create_channel(db, "sky", "science")
    await connect(fake, settings, db, "sky", "sky")
    vids = {
        "blue": fake.add_video("sky", "Why the sky is blue", 100),
        "rayleigh": fake.add_video("sky", "Rayleigh scattering and the blue sky", 100),
        "stocks": fake.add_video("sky", "Stock market basics", 100),
    }
    seed_days(fake, vids["blue"], 120, 58.0, ctr=6.0)
    seed_days(fake, vids["rayleigh"], 100, 62.0, ctr=5.0)
    seed_days(fake, vids["stocks"], 30, 21.0, ctr=2.0)
    fake.retention[vids["blue"]] = gentle()
    fake.retention[vids["rayleigh"]] = gentle()
    fake.retention[vids["stocks"]] = curve(0.45, 0.65)  # inside "Scattering" (0.40 .. 0.70)
    await published_production(db, storage, "sky", "pblue", vids["blue"], "Why the sky is blue", cost=0.42)
    await published_production(
        db, storage, "sky", "pray", vids["rayleigh"], "Rayleigh scattering and the blue sky", thumbnail_option=1
    )
    await published_production(db, storage, "sky", "pstock", vids["stocks"], "Stock market basics", cost=0.1)
    got = await collect_channel(settings, db, "sky")
    assert got.status == "ok" and got.videos == 3, got
    return vids
