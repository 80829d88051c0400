"""Reads the API makes from the database, shaped as JSON-ready dicts.

Everything goes through :mod:`tubeflow.db.repo` except two tiny read-only queries the repo does
not offer (the newest event id, and the progress of running productions for the live feed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tubeflow.contracts import (
    Artifacts,
    Checkpoint,
    Outputs,
    ProductionStatus,
    ReviewRecord,
    Stage,
    State,
    checkpoint_named,
)
from tubeflow.db import repo
from tubeflow.db.engine import Database
from tubeflow.db.models import EventRow, ProductionRow
from tubeflow.events import PLATFORM_EVENTS
from tubeflow.settings import Settings

TERMINAL = tuple(s.value for s in State if s.finished)


def production_dict(p: Any) -> dict[str, Any]:
    d: dict[str, Any] = p.to_dict()
    d.pop("channel_id", None)
    return d


async def channels(db: Database) -> list[dict[str, Any]]:
    return [c.to_dict() for c in await repo.list_channels(db)]


async def create_channel(db: Database, settings: Settings, name: str, niche: str) -> dict[str, Any]:
    from niches.config import load_niche
    from service.languages import require_language_support

    # An unknown niche, or a language nothing here can speak, is a 400 now, not a failed production later.
    require_language_support(settings, load_niche(niche, settings))
    return (await repo.create_channel(db, name, niche)).to_dict()


def niche_names(settings: Settings) -> list[str]:
    folder = settings.resolved_niches_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


async def productions(
    db: Database,
    *,
    channel: str | None = None,
    state: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
    oldest_first: bool = False,
) -> list[dict[str, Any]]:
    rows = await repo.list_productions(
        db, channel=channel, state=state, stage=stage, limit=limit, offset=offset, oldest_first=oldest_first
    )
    return [production_dict(p) for p in rows]


# What needs a person: a checkpoint to review, or a stage that failed for good (retry or cancel),
# or publishing held until the channel's account is reconnected.
NEEDS_A_PERSON = (State.WAITING, State.NEEDS_ATTENTION, State.BLOCKED)


async def count_waiting(db: Database) -> int:
    """The review-queue badge: every production that waits for a person, not only for a review."""
    return sum([await repo.count_productions(db, state=st) for st in NEEDS_A_PERSON])


async def review_queue(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Reviews first (oldest first: the longest wait is the next to take), then failures and holds."""
    items: list[dict[str, Any]] = []
    for st in NEEDS_A_PERSON:
        items += await productions(db, state=st, limit=limit, offset=0, oldest_first=True)
    return items[:limit]


async def status_from_db(db: Database, production_id: str) -> ProductionStatus | None:
    """The last snapshot as a status (the workflow is gone or unreachable); None if unknown."""
    try:
        p = await repo.get_production(db, production_id)
    except repo.NotFoundError:
        return None
    records = [
        ReviewRecord(checkpoint_named(r.stage), r.approved, r.reviewer, r.feedback, r.at.isoformat(), r.attempt, r.note)
        for r in await repo.list_reviews(db, production_id)
    ]
    attempts: dict[str, int] = {}
    for r in records:
        attempts[r.stage] = max(attempts.get(r.stage, 0), r.attempt)
    return ProductionStatus(
        production_id=p.id,
        channel=p.channel,
        niche=p.niche,
        topic=p.topic,
        stage=Stage(p.stage),
        state=State(p.state),
        progress=p.progress,
        checkpoint=Checkpoint(p.checkpoint) if p.checkpoint else None,
        detail=p.detail,
        artifacts=Artifacts.from_dict(p.artifacts),
        reviews=records,
        attempts=attempts,
        outputs=Outputs.from_dict(p.outputs),
        error=p.error,
        title=p.title,
        updated_at=p.updated_at.isoformat(),
    )


async def reviews(db: Database, production_id: str) -> list[dict[str, Any]]:
    return [r.to_dict() for r in await repo.list_reviews(db, production_id)]


def event_dict(e: Any) -> dict[str, Any]:
    """Flatten an event: payload fields (stage, state, progress, checkpoint...) at the top level."""
    return {**(e.payload or {}), "id": e.id, "production_id": e.production_id, "kind": e.kind, "at": e.at.isoformat()}


async def events_since(db: Database, since: int, limit: int = 200) -> list[dict[str, Any]]:
    return [event_dict(e) for e in await repo.events_since(db, since, limit=limit)]


async def platform_events(db: Database, production_id: str) -> list[dict[str, Any]]:
    """The production's TikTok and Instagram events, oldest first, flattened like the live feed's."""
    kinds = [k.value for k in PLATFORM_EVENTS.values()]
    stmt = select(EventRow).where(EventRow.production_id == production_id, EventRow.kind.in_(kinds))
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(EventRow.id).limit(500))).scalars().all()
    return [event_dict(r) for r in rows]


async def latest_event_id(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.max(EventRow.id)))).scalar() or 0)


async def running_progress(db: Database) -> dict[str, dict[str, Any]]:
    """id -> {stage, state, progress, detail} of running productions (progress has no event rows)."""
    stmt = select(
        ProductionRow.id, ProductionRow.stage, ProductionRow.state, ProductionRow.progress, ProductionRow.detail
    ).where(ProductionRow.state == "running")
    async with db.session() as s:
        rows = (await s.execute(stmt)).all()
    return {r[0]: {"stage": r[1], "state": r[2], "progress": r[3], "detail": r[4]} for r in rows}


async def stage_started_at(db: Database, production_id: str, stage: str) -> str:
    """When the production's current run of ``stage`` began (ISO-8601), from its newest events:
    the oldest of the unbroken run of events naming that stage.  Empty when the feed does not say."""
    stmt = select(EventRow).where(EventRow.production_id == production_id).order_by(EventRow.id.desc()).limit(200)
    async with db.session() as s:
        rows = (await s.execute(stmt)).scalars().all()
    started = ""
    for row in rows:
        named = (row.payload or {}).get("stage")
        if named is None:
            continue
        if named != stage:
            break
        started = row.at.isoformat()
    return started
