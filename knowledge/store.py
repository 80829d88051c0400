"""Writing and reading facts, learnings and outcomes.

Every function takes the project's :class:`~tubeflow.db.engine.Database` and is one transaction
(``db.session()``), like the repository functions of :mod:`tubeflow.db.repo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import Fact, Learning, Outcome
from knowledge.text import claim_key
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError

MAX_LEARNING_CHARS = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes even for timezone-aware columns; treat them as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class NewFact:
    claim: str
    source: str
    confidence: float = 0.5
    origin: str = "manual"
    topic: str = ""
    channel: str | None = None
    ttl: timedelta | None = None  # None = does not expire


def merge_sources(*sources: str) -> str:
    seen: list[str] = []
    for block in sources:
        for s in block.split("\n"):
            s = s.strip()
            if s and s not in seen:
                seen.append(s)
    return "\n".join(seen)


async def add_facts(
    db: Database, niche: str, facts: list[NewFact], *, language: str = "en", now: datetime | None = None
) -> list[int]:
    """Store facts for a niche; a claim already known to the niche is refreshed, not duplicated.

    Returns the ids of rows this call made usable: new ones, and expired ones it revived (a fact
    re-confirmed after expiry counts as found again).  Refreshed live facts are not returned, so a
    caller can tell what the store knew already from what this call supplied.
    """
    now = now or utcnow()
    added: list[int] = []
    async with db.session() as session:
        for nf in facts:
            claim = " ".join(nf.claim.split())
            if not claim:
                continue
            if not 0.0 <= nf.confidence <= 1.0:
                raise PermanentError(f"fact confidence must be between 0 and 1, got {nf.confidence} for {claim!r}")
            key = claim_key(claim)
            existing = (
                await session.execute(select(Fact).where(Fact.niche == niche, Fact.claim_key == key).limit(1))
            ).scalar_one_or_none()
            expires = now + nf.ttl if nf.ttl is not None else None
            if existing is not None:
                existing.source = merge_sources(existing.source, nf.source)
                existing.confidence = max(existing.confidence, nf.confidence)
                existing.last_seen = now
                old_exp = as_utc(existing.expires_at)
                if old_exp is not None and old_exp <= now:
                    added.append(existing.id)
                if old_exp is not None and (expires is None or expires > old_exp):
                    existing.expires_at = expires  # re-confirmed: lives as long as the newest sighting
                continue
            row = Fact(
                niche=niche,
                channel=nf.channel,
                claim=claim,
                claim_key=key,
                source=merge_sources(nf.source),
                origin=nf.origin,
                topic=nf.topic[:300],
                language=language,
                confidence=nf.confidence,
                first_seen=now,
                last_seen=now,
                expires_at=expires,
            )
            session.add(row)
            await session.flush()
            added.append(row.id)
    return added


async def add_learning(
    db: Database,
    niche: str,
    text: str,
    origin: str,
    *,
    channel: str | None = None,
    weight: float = 1.0,
    now: datetime | None = None,
    evidence: dict[str, Any] | None = None,
    ttl: timedelta | None = None,
) -> int | None:
    """Store one learning; the same text again in the same scope raises its weight instead.

    ``evidence`` (video ids, numbers) and ``ttl`` are for learnings drawn from analytics: shown
    with the learning, and it expires like a fact unless new numbers store it again.
    """
    async with db.session() as session:
        return await _add_learning(
            session, niche, text, origin, channel=channel, weight=weight, now=now, evidence=evidence, ttl=ttl
        )


async def _add_learning(
    session: AsyncSession,
    niche: str,
    text: str,
    origin: str,
    *,
    channel: str | None,
    weight: float,
    now: datetime | None,
    evidence: dict[str, Any] | None = None,
    ttl: timedelta | None = None,
) -> int | None:
    """Inside the caller's transaction (an outcome and its learning are stored together)."""
    at = now or utcnow()
    expires = at + ttl if ttl is not None else None
    text = " ".join(text.split())[:MAX_LEARNING_CHARS]
    if not text:
        return None
    existing = (
        await session.execute(
            select(Learning).where(
                Learning.niche == niche,
                Learning.text == text,
                Learning.channel.is_(None) if channel is None else Learning.channel == channel,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        existing.weight += weight
        existing.created_at = at
        if evidence is not None:
            existing.evidence, existing.expires_at = evidence, expires
        await session.flush()
        return existing.id
    row = Learning(
        niche=niche,
        channel=channel,
        text=text,
        origin=origin,
        weight=weight,
        created_at=at,
        evidence=evidence,
        expires_at=expires,
    )
    session.add(row)
    await session.flush()
    return row.id


@dataclass(frozen=True)
class LearningRecord:
    text: str
    origin: str
    weight: float
    channel: str | None
    created_at: datetime
    evidence: dict[str, Any] | None = None
    expires_at: datetime | None = None


async def get_learnings(
    db: Database,
    niche: str,
    channel: str | None = None,
    limit: int = 10,
    *,
    origins: tuple[str, ...] | None = None,
    exclude_origins: tuple[str, ...] = (),
    now: datetime | None = None,
) -> list[LearningRecord]:
    """Learnings of this niche (niche-wide and, when given, this channel's own), heaviest and newest first.

    ``origins`` keeps only those (a b-roll choice wants "review:broll", not script notes);
    ``exclude_origins`` drops some (a script writer has no use for b-roll notes).
    """
    async with db.session() as session:
        scope = (
            Learning.channel.is_(None)
            if channel is None
            else or_(Learning.channel.is_(None), Learning.channel == channel)
        )
        live = or_(Learning.expires_at.is_(None), Learning.expires_at > (now or utcnow()))
        query = select(Learning).where(Learning.niche == niche, scope, live)
        if origins is not None:
            query = query.where(Learning.origin.in_(origins))
        if exclude_origins:
            query = query.where(Learning.origin.not_in(exclude_origins))
        rows = (
            await session.execute(
                query.order_by(Learning.weight.desc(), Learning.created_at.desc(), Learning.id.desc()).limit(limit)
            )
        ).scalars()
        return [
            LearningRecord(
                r.text,
                r.origin,
                r.weight,
                r.channel,
                as_utc(r.created_at) or utcnow(),
                dict(r.evidence) if r.evidence else None,
                as_utc(r.expires_at),
            )
            for r in rows
        ]


async def record_outcome(
    db: Database,
    production_id: str,
    result: str,
    *,
    channel: str = "",
    niche: str = "",
    detail: str = "",
    now: datetime | None = None,
) -> int:
    """The final outcome of a production; a rejected or failed one also teaches the niche."""
    async with db.session() as session:
        row = Outcome(
            production_id=production_id,
            channel=channel,
            niche=niche,
            result=result,
            detail=detail[:2000],
            recorded_at=now or utcnow(),
        )
        session.add(row)
        await session.flush()
        if niche and detail and result not in ("published", "done", "completed"):
            await _add_learning(
                session, niche, detail, f"outcome:{result}", channel=channel or None, weight=0.5, now=now
            )
        return row.id


async def list_outcomes(db: Database, production_id: str) -> list[tuple[str, str]]:
    """(result, detail) pairs recorded for a production, oldest first."""
    async with db.session() as session:
        rows = await session.execute(
            select(Outcome.result, Outcome.detail).where(Outcome.production_id == production_id).order_by(Outcome.id)
        )
        return [(r, d) for r, d in rows.all()]


async def forget_learnings(db: Database, niche: str, channel: str, origins: tuple[str, ...]) -> int:
    """Drop a channel's learnings of these origins (analytics learnings are recomputed as a whole)."""
    from sqlalchemy import delete

    async with db.session() as session:
        result = cast(
            "CursorResult[Any]",
            await session.execute(
                delete(Learning)
                .where(Learning.niche == niche, Learning.channel == channel, Learning.origin.in_(origins))
                .execution_options(synchronize_session=False)
            ),
        )
        return int(result.rowcount or 0)
