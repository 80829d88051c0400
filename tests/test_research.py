"""Research, knowledge first: notes become facts, a second run reads them back, niches never mix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from activities.research import research
from knowledge.search import list_facts
from knowledge.store import NewFact, add_facts, utcnow
from niches.config import load_niche
from tests.fake_wikipedia import FakeWikipedia
from tests.knowledge_helpers import sqlite_db
from tubeflow.errors import TransientError
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


VOLCANO = (
    "A volcano is a rupture in the crust of a planet that lets hot lava, ash and gases escape from a magma "
    "chamber below the surface. Volcanoes on Earth usually form where tectonic plates diverge or converge. "
    "The largest volcano in the Solar System is Olympus Mons on Mars."
)


async def test_online_research_asks_wikipedia_when_knowledge_is_thin(tmp_path: Path) -> None:
    with FakeWikipedia(
        {"Volcano": VOLCANO, "Banana": "A banana is an elongated, edible fruit of a large plant."}
    ) as wiki:
        online = SETTINGS.with_overrides(research_online=True, wikipedia_base_url=wiki.base_url)
        async with sqlite_db(tmp_path) as db:
            out = await research(online, db, "science", "c", "How do volcanoes form?")
            assert {f["origin"] for f in out.facts} == {"wikipedia"}
            assert any("tectonic plates" in f["claim"] for f in out.facts)
            assert out.sources == [f"{wiki.base_url}/wiki/Volcano"]
            assert not any("banana" in f["claim"].lower() for f in out.facts)
            asked = len(wiki.requests)

            again = await research(online, db, "science", "c", "How do volcanoes form?")
            assert {f["origin"] for f in again.facts} == {"knowledge"}  # stored, so not asked twice
            assert len(wiki.requests) == asked
            assert all(f.origin == "wikipedia" for f in await list_facts(db, "science") if "volcano" in f.claim.lower())

            # Same topic, another niche: its own research, nothing read from science's store.
            fin = await research(online, db, "financas", "f", "How do volcanoes form?")
            assert {f["origin"] for f in fin.facts} == {"wikipedia"}
            assert len(wiki.requests) > asked


async def test_wikipedia_outage_is_transient_unless_notes_cover_the_topic(tmp_path: Path) -> None:
    with FakeWikipedia({}) as wiki:
        wiki.fail_with = 503
        online = SETTINGS.with_overrides(research_online=True, wikipedia_base_url=wiki.base_url)
        async with sqlite_db(tmp_path) as db:
            with pytest.raises(TransientError, match="503"):
                await research(online, db, "science", "c", "How do volcanoes form?")
            # With a little knowledge already stored, research goes on without Wikipedia and says so.
            await add_facts(db, "science", [NewFact("Comet tails always point away from the Sun.", "https://x", 0.8)])
            out = await research(online, db, "science", "c", "Why do comet tails point away from the Sun?")
            assert [f["claim"] for f in out.facts] == ["Comet tails always point away from the Sun."]
            assert any("Wikipedia skipped" in line for line in out.notes)


async def test_offline_research_never_goes_online(tmp_path: Path) -> None:
    with FakeWikipedia({"Volcano": VOLCANO}) as wiki:
        offline = SETTINGS.with_overrides(research_online=False, wikipedia_base_url=wiki.base_url)
        async with sqlite_db(tmp_path) as db:
            out = await research(offline, db, "science", "c", "How do volcanoes form?")
    assert out.facts == [] and wiki.requests == []
