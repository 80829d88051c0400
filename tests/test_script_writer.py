"""Script writers: the offline writer's scripts, feedback that visibly changes a redo, learnings per niche."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.research import research
from activities.script_writer import OfflineWriter, learn_from_review, make_writer
from niches.config import load_niche
from tests.knowledge_helpers import sqlite_db
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.script_schema import narration_text, validate_script, word_count
from tubeflow.settings import Settings

SETTINGS = Settings()
SKY = "Why is the sky blue?"


def spoken(script: dict[str, Any]) -> str:
    return " ".join(narration_text(script))


async def write(db: Any, niche: str, topic: str, feedback: list[str] | None = None, channel: str = "c") -> dict:
    n = load_niche(niche, SETTINGS)
    facts = (await research(SETTINGS, db, n, channel, topic)).facts
    raw = await OfflineWriter().write(topic=topic, niche=n, facts=facts, feedback=feedback, db=db, channel=channel)
    return validate_script(raw)


async def test_offline_script_is_valid_sourced_and_sized(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        script = await write(db, "science", SKY)
    assert script["title"] == "Why is the Sky Blue?"
    assert 3 <= len(script["sections"]) <= 6
    assert 110 <= word_count(script) <= 170  # science targets 1 minute at ~150 words per minute
    assert "Rayleigh scattering" in spoken(script)
    assert all(s["broll_cues"] for s in script["sections"])
    assert sum(s["short_candidate"] for s in script["sections"]) == load_niche("science", SETTINGS).shorts_count
    assert "https://en.wikipedia.org/wiki/Rayleigh_scattering" in script["description"]
    assert all(src["source"].startswith("https://") and src["origin"] == "notes" for src in script["sources"])
    assert script["feedback_applied"] == []
    assert make_writer(SETTINGS).name == "offline"


async def test_feedback_visibly_changes_the_redo(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        v1 = await write(db, "science", SKY)
        shorter = await write(db, "science", SKY, ["Too long, make it shorter"])
        mention = await write(db, "science", SKY, ["Mention Lord Rayleigh by name"])
        energetic = await write(db, "science", SKY, ["The hook is boring, more energetic please"])
        unknown = await write(db, "science", SKY, ["mention the Tyndall effect"])

    assert word_count(shorter) < 0.85 * word_count(v1)
    assert shorter["feedback_applied"] == ["Too long, make it shorter"]
    assert "Lord Rayleigh" not in spoken(v1) and "Lord Rayleigh" in spoken(mention)
    assert any("Lord Rayleigh" in s["claim"] for s in mention["sources"])  # the added sentence is cited
    assert energetic["hook"] != v1["hook"] and "!" in energetic["hook"]
    assert "Tyndall effect" in spoken(unknown)  # said plainly: nothing in the notes about it


async def test_portuguese_niche_writes_portuguese(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        script = await write(db, "financas", "juros compostos", ["mais curto, por favor"])
    assert script["language"] == "pt"
    assert "Resumindo" in spoken(script) and "juros sobre juros" in spoken(script)
    assert "Fontes:" in script["description"]
    assert script["feedback_applied"] == ["mais curto, por favor"]


async def test_learnings_shape_future_scripts_of_that_niche_only(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        before_sci = await write(db, "science", "How do rainbows form?")
        before_hist = await write(db, "history", "The Apollo 11 Moon landing", channel="h")
        await learn_from_review(db, "science", "c", "script", "Way too long, make it shorter")
        after_sci = await write(db, "science", "How do rainbows form?")
        after_hist = await write(db, "history", "The Apollo 11 Moon landing", channel="h")
    assert word_count(after_sci) < word_count(before_sci)
    assert "niche learning: Way too long, make it shorter" in after_sci["feedback_applied"]
    # History is untouched: same words, no learning applied (only the facts' origin moved to "knowledge").
    assert spoken(after_hist) == spoken(before_hist) and after_hist["feedback_applied"] == []


async def test_no_facts_is_a_clear_permanent_error(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        with pytest.raises(PermanentError, match="notes file"):
            await write(db, "science", "Quantum chromodynamics of gluons")


def test_unknown_writer_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="offline, groq or openai"):
        make_writer(SETTINGS.with_overrides(script_writer="gpt"))
