"""Research, knowledge first: notes become facts, a second run reads them back, niches never mix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from activities.research import research
from knowledge.search import list_facts
from knowledge.store import utcnow
from niches.config import load_niche
from tests.knowledge_helpers import sqlite_db
from tubeflow.settings import Settings

SETTINGS = Settings()


async def test_offline_research_reads_notes_then_knowledge(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        first = await research(SETTINGS, db, "science", "skyline", "Why is the sky blue?")
        assert len(first.facts) >= 4
        assert {f["origin"] for f in first.facts} == {"notes"}
        assert all(f["source"].startswith("https://") for f in first.facts)
        assert any("Rayleigh scattering" in f["claim"] for f in first.facts)
        # The sky topic's note, not a stray "sky" in the rainbow note, supplies the facts.
        assert not any("Alexander" in f["claim"] for f in first.facts)
        assert "https://en.wikipedia.org/wiki/Rayleigh_scattering" in first.sources

        again = await research(SETTINGS, db, "science", "skyline", "why the sky is blue")
        assert {f["origin"] for f in again.facts} == {"knowledge"}
        assert [f["claim"] for f in again.facts] == [f["claim"] for f in first.facts]


async def test_thin_knowledge_reads_notes_again_and_refreshes(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        long_ago = utcnow() - timedelta(days=400)  # notes facts live 365 days
        await research(SETTINGS, db, "science", None, "How do rainbows form?", now=long_ago)
        later = await research(SETTINGS, db, "science", None, "How do rainbows form?")
        assert later.facts and {f["origin"] for f in later.facts} == {"notes"}  # expired, so re-read


async def test_portuguese_niche_researches_in_portuguese(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        out = await research(SETTINGS, db, load_niche("financas", SETTINGS), "grana", "O que são juros compostos?")
        assert len(out.facts) >= 4
        assert any("juros sobre juros" in f["claim"] for f in out.facts)


async def test_two_niches_same_word_never_share_facts(tmp_path: Path) -> None:
    """History and science both use the word "first" (first image, first person on the Moon)."""
    async with sqlite_db(tmp_path) as db:
        sci = await research(SETTINGS, db, "science", "skyline", "first")
        hist = await research(SETTINGS, db, "history", "pastpresent", "first")
        science_claims = {f.claim for f in await list_facts(db, "science")}
        history_claims = {f.claim for f in await list_facts(db, "history")}
        assert science_claims and history_claims and not science_claims & history_claims
        assert {f["claim"] for f in sci.facts} <= science_claims
        assert {f["claim"] for f in hist.facts} <= history_claims
