"""Periodic clean-up: expired facts and learnings go, duplicate claims merge.

Run by a Temporal Schedule (daily is plenty) through :func:`consolidate_knowledge`; the logic
is a plain function so it can be tested and run by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult

from knowledge.models import Fact, Learning
from knowledge.store import as_utc, merge_sources, utcnow
from knowledge.text import tokens
from tubeflow.db.engine import Database

NEAR_DUPLICATE = 0.9  # token Jaccard above which two claims say the same thing
MAX_PAIRWISE = 3000  # facts per niche compared pairwise; above this only exact duplicates merge


@dataclass
class ConsolidationReport:
    expired_deleted: int = 0
    duplicates_merged: int = 0
    facts_remaining: int = 0
    learnings_expired: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= NEAR_DUPLICATE


async def consolidate(db: Database, now: datetime | None = None) -> ConsolidationReport:
    """Delete expired facts; merge duplicates within a niche (highest confidence wins, sources unite)."""
    now = now or utcnow()
    report = ConsolidationReport()
    async with db.session() as session:
        result = cast(
            "CursorResult[Any]",
            await session.execute(
                delete(Fact)
                .where(Fact.expires_at.is_not(None), Fact.expires_at <= now)
                .execution_options(synchronize_session=False)
            ),
        )
        report.expired_deleted = int(result.rowcount or 0)
        gone = cast(
            "CursorResult[Any]",
            await session.execute(
                delete(Learning)
                .where(Learning.expires_at.is_not(None), Learning.expires_at <= now)
                .execution_options(synchronize_session=False)
            ),
        )
        report.learnings_expired = int(gone.rowcount or 0)
        facts = list((await session.execute(select(Fact).order_by(Fact.niche, Fact.id))).scalars())
        by_niche: dict[str, list[Fact]] = {}
        for f in facts:
            by_niche.setdefault(f.niche, []).append(f)
        for group in by_niche.values():
            keep: list[tuple[Fact, set[str]]] = []
            pairwise = len(group) <= MAX_PAIRWISE
            for f in sorted(group, key=lambda x: (-x.confidence, x.id)):
                toks = set(tokens(f.claim))
                twin = next(
                    (
                        k
                        for k, kt in keep
                        if k.channel == f.channel and (k.claim_key == f.claim_key or (pairwise and _similar(kt, toks)))
                    ),
                    None,
                )
                if twin is None:
                    keep.append((f, toks))
                    continue
                twin.source = merge_sources(twin.source, f.source)
                twin.first_seen = min(as_utc(twin.first_seen) or now, as_utc(f.first_seen) or now)
                twin.last_seen = max(as_utc(twin.last_seen) or now, as_utc(f.last_seen) or now)
                twin_exp, f_exp = as_utc(twin.expires_at), as_utc(f.expires_at)
                if twin_exp is not None:
                    twin.expires_at = None if f_exp is None else max(twin_exp, f_exp)
                await session.delete(f)
                report.duplicates_merged += 1
        await session.flush()
        report.facts_remaining = len(facts) - report.duplicates_merged
    return report


async def consolidate_knowledge(settings: Any, db: Database) -> dict[str, int]:
    """Entry point for the lead's scheduled activity: one consolidation pass, reported as a dict."""
    del settings  # nothing configurable yet; kept so the schedule's signature can stay stable
    return (await consolidate(db)).to_dict()
