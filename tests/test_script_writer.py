"""Script writers: the offline writer's scripts, feedback that visibly changes a redo, learnings per niche."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from activities.research import research
from activities.script_writer import LLMWriter, OfflineWriter, learn_from_review, make_writer
from niches.config import load_niche
from tests.fake_groq import FakeGroq
from tests.knowledge_helpers import sqlite_db
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.script_schema import narration_text, validate_script, word_count
from tubeflow.settings import Settings

SETTINGS = Settings()
SKY = "Why is the sky blue?"


def spoken(script: dict[str, Any]) -> str:
    return " ".join(narration_text(script))


async def write(
    db: Any,
    niche: str,
    topic: str,
    feedback: list[str] | None = None,
    channel: str = "c",
    earlier: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One attempt; with ``earlier`` (attempt -> script) it is the redo after the last of them."""
    n = load_niche(niche, SETTINGS)
    facts = (await research(SETTINGS, db, n, channel, topic)).facts
    attempt = max(earlier or {}, default=0) + 1
    raw = await OfflineWriter().write(
        topic=topic, niche=n, facts=facts, feedback=feedback, db=db, channel=channel, attempt=attempt, earlier=earlier
    )
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
        shorter = await write(db, "science", SKY, ["Too long, make it shorter"], earlier={1: v1})
        mention = await write(db, "science", SKY, ["Mention the sky on Mars by name"], earlier={1: v1})
        energetic = await write(db, "science", SKY, ["The hook is boring, more energetic please"], earlier={1: v1})
        unknown = await write(db, "science", SKY, ["mention the Tyndall effect"], earlier={1: v1})

    assert word_count(shorter) < 0.85 * word_count(v1)
    assert shorter["feedback_applied"] == ["Too long, make it shorter"]
    assert "Mars" not in spoken(v1) and "Mars" in spoken(mention)
    assert mention["feedback_applied"] == ["Mention the sky on Mars by name"]
    assert any("Mars" in s["claim"] for s in mention["sources"])  # the added sentence is cited
    assert energetic["hook"] != v1["hook"] and "!" in energetic["hook"]
    assert energetic["feedback_applied"] == ["The hook is boring, more energetic please"]
    assert "Tyndall effect" in spoken(unknown)  # said plainly: nothing in the notes about it
    assert "only named" in unknown["feedback_handling"][0]["asks"][0]["detail"]


async def test_portuguese_niche_writes_portuguese(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        v1 = await write(db, "financas", "juros compostos")
        script = await write(db, "financas", "juros compostos", ["mais curto, por favor"], earlier={1: v1})
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


# ---------------------------------------------------------------- the LLM writer against a local Groq


def llm_script(topic: str, facts: list[dict[str, Any]], language: str = "en") -> dict[str, Any]:
    """What a well-behaved model answers: the schema filled from the facts it was given."""
    return {
        "title": topic,
        "hook": f"Ever wondered: {topic}",
        "sections": [
            {"heading": f"Part {i + 1}", "narration": f["claim"], "broll_cues": ["sky"], "short_candidate": i == 0}
            for i, f in enumerate(facts[:3])
        ],
        "description": "Sources: " + " ".join(f["source"] for f in facts[:3]),
        "tags": ["science"],
        "sources": [{"claim": f["claim"], "source": f["source"]} for f in facts[:3]],
        "language": language,
    }


def groq_settings(fake: FakeGroq, **over: Any) -> Settings:
    values: dict[str, Any] = {"script_writer": "groq", "llm_api_key": fake.api_key, "llm_base_url": fake.base_url}
    values.update(over)
    return SETTINGS.with_overrides(**values)


async def sky_facts(db: Any) -> list[dict[str, Any]]:
    return (await research(SETTINGS, db, "science", "c", SKY)).facts


async def test_groq_sdk_valid_answer_with_facts_learnings_and_feedback_in_prompt(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        await learn_from_review(db, "science", "c", "script", "Always end with a question for the viewer")
        with FakeGroq() as fake:
            fake.answer_script(llm_script(SKY, facts))
            writer = make_writer(groq_settings(fake))
            script = await writer.write(
                topic=SKY, niche=load_niche("science", SETTINGS), facts=facts, feedback=["Mention Lord Rayleigh"], db=db
            )
    assert isinstance(writer, LLMWriter)
    assert validate_script(script)["title"] == SKY
    # The model's answer says nothing about Lord Rayleigh: the note is reported as not followed.
    assert script["feedback_applied"] == []
    [ask] = script["feedback_handling"][0]["asks"]
    assert (ask["kind"], ask["status"]) == ("mention", "not_applied")
    assert "does not say “Lord Rayleigh”" in ask["detail"]
    assert {s["origin"] for s in script["sources"]} == {"notes"}
    req = fake.requests[0]
    assert req["headers"]["authorization"] == f"Bearer {fake.api_key}"
    assert req["body"]["model"] == SETTINGS.llm_model
    assert req["body"]["response_format"] == {"type": "json_object"}
    prompt = fake.prompt()
    assert f"{facts[0]['claim']} (source: {facts[0]['source']}" in prompt  # facts travel with citations
    assert "Always end with a question for the viewer" in prompt  # the niche's learning
    assert "Mention Lord Rayleigh" in prompt  # the reviewer's feedback
    assert "curious teenagers and adults" in prompt and "one everyday comparison" in prompt  # niche voice


async def test_invalid_json_then_valid_is_retried_with_the_error(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        with FakeGroq() as fake:
            fake.answer_content('{"title": "Why is the sky blue?", "hook": ')  # cut off mid-JSON
            fake.answer_script({**llm_script(SKY, facts), "sections": []})  # JSON, but not a script
            fake.answer_script(llm_script(SKY, facts))
            writer = make_writer(groq_settings(fake))
            script = await writer.write(topic=SKY, niche=load_niche("science", SETTINGS), facts=facts)
    assert len(fake.requests) == 3 and script["sections"]
    assert "not valid: the answer is not JSON" in fake.prompt(1)
    assert "script.sections must be a non-empty list" in fake.prompt(2)
    # Every attempt is billed, the invalid ones too; the retries resend a growing conversation.
    assert [u["prompt_tokens"] for u in fake.usages] == sorted(u["prompt_tokens"] for u in fake.usages)
    prompt, completion = (sum(u[k] for u in fake.usages) for k in ("prompt_tokens", "completion_tokens"))
    assert (writer.usage.prompt, writer.usage.completion) == (prompt, completion) and prompt > 1000
    assert writer.usage.cost_usd(0.59, 0.79) == round((prompt * 0.59 + completion * 0.79) / 1e6, 6)
    assert writer.usage.cost_usd(0.0, 0.0) is None  # not priced


async def test_three_invalid_answers_is_a_permanent_error(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        with FakeGroq() as fake:
            for _ in range(3):
                fake.answer_script({"title": "x", "hook": "y", "sections": [{"heading": "h"}]})
            with pytest.raises(PermanentError, match="invalid script 3 times"):
                await make_writer(groq_settings(fake)).write(
                    topic=SKY, niche=load_niche("science", SETTINGS), facts=facts
                )
    assert len(fake.requests) == 3


async def test_429_retry_after_is_honoured(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        with FakeGroq() as fake:
            fake.answer_status(429, "Rate limit reached", {"retry-after": "1"})
            fake.answer_script(llm_script(SKY, facts))
            script = await make_writer(groq_settings(fake)).write(
                topic=SKY, niche=load_niche("science", SETTINGS), facts=facts
            )
            waited = fake.request_times[1] - fake.request_times[0]
            assert script["title"] == SKY and waited >= 1.0

            fake.answer_status(429, "Rate limit reached", {"retry-after": "30"})  # too long to wait inline
            with pytest.raises(TransientError) as caught:
                await make_writer(groq_settings(fake)).write(
                    topic=SKY, niche=load_niche("science", SETTINGS), facts=facts
                )
    assert caught.value.retry_after_s == 30.0  # Temporal's next retry waits this long


async def test_401_is_a_permanent_error_naming_the_settings(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        with FakeGroq() as fake:
            writer = make_writer(groq_settings(fake, llm_api_key="gsk_wrong"))
            with pytest.raises(PermanentError) as caught:
                await writer.write(topic=SKY, niche=load_niche("science", SETTINGS), facts=facts)
    assert str(caught.value) == "the LLM provider rejected the API key (check TUBEFLOW_LLM_API_KEY/GROQ_API_KEY)"
    assert not fake.requests  # refused at the door, like Groq does


async def test_groq_api_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = await sky_facts(db)
        with FakeGroq() as fake:
            fake.answer_script(llm_script(SKY, facts))
            monkeypatch.setenv("GROQ_API_KEY", fake.api_key)
            script = await make_writer(groq_settings(fake, llm_api_key="")).write(
                topic=SKY, niche=load_niche("science", SETTINGS), facts=facts
            )
            assert script["title"] == SKY
            monkeypatch.delenv("GROQ_API_KEY")
            with pytest.raises(ConfigError, match="GROQ_API_KEY"):
                await make_writer(groq_settings(fake, llm_api_key="")).write(
                    topic=SKY, niche=load_niche("science", SETTINGS), facts=facts
                )


async def test_openai_compatible_endpoint_over_httpx(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        facts = (await research(SETTINGS, db, "financas", "c", "juros compostos")).facts
        with FakeGroq() as fake:
            fake.answer_content("```json\n" + json.dumps(llm_script("Juros compostos", facts, "pt")) + "\n```")
            settings = SETTINGS.with_overrides(
                script_writer="openai", llm_base_url=fake.openai_base_url, llm_api_key=fake.api_key, llm_model="qwen"
            )
            writer = make_writer(settings)
            script = await writer.write(topic="juros compostos", niche=load_niche("financas", SETTINGS), facts=facts)
    assert script["language"] == "pt" and fake.requests[0]["body"]["model"] == "qwen"
    assert writer.usage.total == fake.usages[0]["total_tokens"] > 0  # read from the JSON answer's usage
    assert "Brazilian Portuguese" in fake.prompt()
    with pytest.raises(ConfigError, match="TUBEFLOW_LLM_BASE_URL"):
        make_writer(SETTINGS.with_overrides(script_writer="openai"))


async def test_two_niches_same_word_share_no_facts_or_learnings(tmp_path: Path) -> None:
    """A science channel and a history channel both research "first"; nothing crosses over."""
    async with sqlite_db(tmp_path) as db:
        sci_niche, hist_niche = load_niche("science", SETTINGS), load_niche("history", SETTINGS)
        await learn_from_review(db, "science", "skyline", "script", "Use a kitchen analogy for every idea")
        await learn_from_review(db, "history", "pastpresent", "script", "Always give the exact date first")
        sci = (await research(SETTINGS, db, sci_niche, "skyline", "first")).facts
        hist = (await research(SETTINGS, db, hist_niche, "pastpresent", "first")).facts
        assert sci and hist and not {f["claim"] for f in sci} & {f["claim"] for f in hist}
        with FakeGroq() as fake:
            fake.answer_script(llm_script("first", sci))
            fake.answer_script(llm_script("first", hist))
            sci_script = await make_writer(groq_settings(fake)).write(
                topic="first", niche=sci_niche, facts=sci, db=db, channel="skyline"
            )
            hist_script = await make_writer(groq_settings(fake)).write(
                topic="first", niche=hist_niche, facts=hist, db=db, channel="pastpresent"
            )
        offline_sci = await OfflineWriter().write(topic="first", niche=sci_niche, facts=sci, db=db, channel="skyline")
    sci_prompt, hist_prompt = fake.prompt(0), fake.prompt(1)
    assert "kitchen analogy" in sci_prompt and "exact date first" not in sci_prompt
    assert "exact date first" in hist_prompt and "kitchen analogy" not in hist_prompt
    assert not any(f["claim"] in sci_prompt for f in hist) and not any(f["claim"] in hist_prompt for f in sci)
    assert all(s["claim"] in {f["claim"] for f in sci} for s in sci_script["sources"])
    assert all(s["claim"] in {f["claim"] for f in hist} for s in hist_script["sources"])
    assert not any(f["claim"] in spoken(offline_sci) for f in hist)
