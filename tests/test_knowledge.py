"""The knowledge store: ranking, niche filtering, expiry, consolidation, coverage, topics, learnings.

The same checks run on SQLite (FTS5) and, when the local server answers, on PostgreSQL
(to_tsvector/ts_rank) in a throw-away database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from knowledge.consolidate import consolidate, consolidate_knowledge
from knowledge.coverage import check_coverage, record_coverage
from knowledge.search import list_facts, rank_facts
from knowledge.store import NewFact, add_facts, add_learning, get_learnings, list_outcomes, record_outcome, utcnow
from knowledge.topics import suggest_topics
from niches.config import load_niche
from tests.knowledge_helpers import postgres_db, sqlite_db
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings

CORPUS = [
    NewFact("Rayleigh scattering makes the daytime sky look blue.", "https://a.example/rayleigh", 0.9, topic="sky"),
    NewFact("Sunsets look red because blue light is scattered out of the beam.", "https://a.example/sunset", 0.8),
    NewFact("The sky on Mars looks butterscotch because of dust.", "https://a.example/mars", 0.4),
    NewFact("Black holes form when massive stars collapse.", "https://a.example/bh", 0.9),
    NewFact("Rainbows need sunlight behind the observer.", "https://a.example/rainbow", 0.9),
]


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        async with sqlite_db(tmp_path) as sm:
            yield sm
        return
    async with postgres_db() as sm:
        yield sm


async def test_ranking_prefers_relevant_confident_facts_of_the_niche(db: Any) -> None:
    await add_facts(db, "science", CORPUS)
    await add_facts(db, "history", [NewFact("The sky over Berlin was blue on 9 November 1989.", "h", 1.0)])
    ranked = await rank_facts(db, "science", "Why is the sky blue?")
    claims = [r.claim for r in ranked]
    assert claims[0] == CORPUS[0].claim  # both words, high confidence, gathered for "sky"
    assert CORPUS[3].claim not in claims and CORPUS[4].claim not in claims  # no shared word
    assert all("Berlin" not in c for c in claims)  # strictly this niche
    mars = claims.index(CORPUS[2].claim) if CORPUS[2].claim in claims else len(claims)
    assert mars > 0  # low confidence ranks below the confident match
    assert ranked[0].sources == ["https://a.example/rayleigh"]
    assert await rank_facts(db, "science", "the of and why") == []  # only stopwords: nothing to search


async def test_expired_facts_are_never_returned_and_consolidation_deletes_them(db: Any) -> None:
    now = utcnow()
    await add_facts(db, "science", [NewFact("Old comet tail fact is outdated.", "s", 0.9, ttl=timedelta(days=1))])
    await add_facts(db, "science", [NewFact("Comet tails point away from the Sun.", "s", 0.9)])
    assert len(await rank_facts(db, "science", "comet tail", now=now)) == 2
    later = now + timedelta(days=2)
    assert [r.claim for r in await rank_facts(db, "science", "comet tail", now=later)] == [
        "Comet tails point away from the Sun."
    ]
    report = await consolidate(db, now=later)
    assert report.expired_deleted == 1
    assert len(await list_facts(db, "science", now=now, include_expired=True)) == 1


async def test_consolidation_merges_duplicates_keeping_best_confidence_and_all_sources(db: Any) -> None:
    claim = "Light from the Sun takes roughly eight minutes and twenty seconds to reach planet Earth."
    await add_facts(db, "science", [NewFact(claim, "src-a", 0.6)])
    await add_facts(db, "science", [NewFact(claim.replace("the Sun", "our Sun"), "src-b", 0.9)])
    await add_facts(db, "science", [NewFact(claim.lower().rstrip("."), "src-c", 0.5)])  # same words: merged on insert
    await add_facts(db, "science", [NewFact("Light from the Moon takes about one second to reach Earth.", "m", 0.9)])
    assert len(await list_facts(db, "science")) == 3
    report = await consolidate(db)
    assert report.duplicates_merged == 1 and report.facts_remaining == 2
    merged = next(f for f in await list_facts(db, "science") if "Sun" in f.claim)
    assert merged.confidence == 0.9 and set(merged.sources) == {"src-a", "src-b", "src-c"}
    assert (await consolidate_knowledge(Settings(), db))["duplicates_merged"] == 0  # idempotent


async def test_coverage_refuses_repeats_but_not_new_angles(db: Any) -> None:
    assert await check_coverage(db, "skyline", "Why is the sky blue?") is None
    await record_coverage(db, "skyline", "Why is the sky blue?", "p1", niche="science")
    hit = await check_coverage(db, "skyline", "why the sky is blue")
    assert hit is not None and hit.production_id == "p1" and hit.similarity >= 0.6
    assert await check_coverage(db, "skyline", "Why are sunsets red?") is None
    assert await check_coverage(db, "other-channel", "Why is the sky blue?") is None  # per channel


async def test_topic_suggestions_skip_what_the_channel_covered(db: Any) -> None:
    science = load_niche("science", Settings())
    first = await suggest_topics(db, "skyline", science, 10)
    assert "Why the sky is blue" in first and "How black holes form" in first
    await record_coverage(db, "skyline", "Why is the sky blue?", "p1")
    after = await suggest_topics(db, "skyline", science, 10)
    assert "Why the sky is blue" not in after and "How black holes form" in after
    assert after[0] == "How black holes form"  # the best-supported notes topic (most facts) first


async def test_learnings_are_scoped_to_niche_and_channel(db: Any) -> None:
    await add_learning(db, "science", "Open with a question", "review:script")
    await add_learning(db, "science", "Open with a question", "review:script")  # repeated: heavier, not duplicated
    await add_learning(db, "science", "Slow down the voice", "review:audio", channel="skyline")
    await add_learning(db, "history", "Give dates first", "review:script")
    everyone = [lr.text for lr in await get_learnings(db, "science")]
    skyline = await get_learnings(db, "science", "skyline")
    assert everyone == ["Open with a question"]
    assert [lr.text for lr in skyline] == ["Open with a question", "Slow down the voice"]
    assert skyline[0].weight == 2.0
    assert "Give dates first" not in [lr.text for lr in skyline]


async def test_outcomes_are_stored_and_failures_teach_the_niche(db: Any) -> None:
    await record_outcome(db, "p1", "published", channel="skyline", niche="science")
    await record_outcome(db, "p2", "rejected", channel="skyline", niche="science", detail="Too many numbers")
    assert await list_outcomes(db, "p1") == [("published", "")]
    assert [lr.origin for lr in await get_learnings(db, "science", "skyline")] == ["outcome:rejected"]


async def test_bad_confidence_is_refused(db: Any) -> None:
    with pytest.raises(PermanentError, match="between 0 and 1"):
        await add_facts(db, "science", [NewFact("x y z", "s", 1.5)])
