"""Feedback that is acted on, or says it was not (issue 22): the offline writer and the check after
writing, as plain modules (no Temporal).

The reported rejection is replayed on the very attempt 1 it was about (the writer's output before
this change, kept in tests/data): "the last section repeats section 3; explain why sunsets are
red; make the hook shorter".  Each ask must change the redo where it asked, and the script must
say so ask by ask; what the offline writer cannot do it must say, naming the setting that can.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from activities.research import research
from activities.script_feedback import Intent, check_ask, handle_notes
from activities.script_writer import OfflineWriter, make_writer
from knowledge.feedback import split_asks
from niches.config import load_niche
from tests.fake_groq import FakeGroq
from tests.knowledge_helpers import sqlite_db
from tests.test_script_writer import groq_settings, llm_script, spoken
from tubeflow.script_diff import REPEAT_WORDS, diff_scripts, longest_shared_run
from tubeflow.script_schema import validate_script
from tubeflow.settings import Settings

SETTINGS = Settings()
SKY = "Why is the sky blue?"
REPORTED = "the last section repeats section 3; explain why sunsets are red; make the hook shorter"
SUNSET = "At sunrise and sunset sunlight crosses much more air"
V1_BEFORE = json.loads((Path(__file__).parent / "data" / "sky-script-v1-before-issue-22.json").read_text())


async def redo(
    db: Any, notes: list[str], earlier: dict[int, dict[str, Any]], niche: str = "science", topic: str = SKY
) -> dict[str, Any]:
    n = load_niche(niche, SETTINGS)
    facts = (await research(SETTINGS, db, n, "c", topic)).facts
    attempt = max(earlier, default=0) + 1
    script = await OfflineWriter().write(
        topic=topic, niche=n, facts=facts, feedback=notes, attempt=attempt, db=db, channel="c", earlier=earlier
    )
    return validate_script(script)


def asks_of(script: dict[str, Any], note: int = 0) -> list[dict[str, Any]]:
    asks: list[dict[str, Any]] = script["feedback_handling"][note]["asks"]
    return asks


def repeats(a: str, b: str) -> int:
    return len(longest_shared_run(a, b))


async def test_the_reported_rejection_is_followed_where_it_asked(tmp_path: Path) -> None:
    v1 = validate_script(V1_BEFORE)
    last, third = v1["sections"][-1]["narration"], v1["sections"][2]["narration"]
    assert repeats(last, third) >= 10  # the bug: "In short" said section 3 again
    async with sqlite_db(tmp_path) as db:
        v2 = await redo(db, [REPORTED], {1: v1})

    # The hook is shorter (and so different); the sunset fact from the notes is said; the real
    # explanation (the inverse fourth power) is still there; no section repeats another.
    assert len(v2["hook"].split()) < len(v1["hook"].split()) and v2["hook"] != v1["hook"]
    assert SUNSET in spoken(v2) and SUNSET not in spoken(v1)
    assert "inverse fourth power" in spoken(v2)
    bodies = [s["narration"] for s in v2["sections"]]
    assert all(repeats(a, b) < REPEAT_WORDS for i, a in enumerate(bodies) for b in bodies[i + 1 :])
    assert any(SUNSET in s["claim"] for s in v2["sources"])  # the added sentence is cited

    [handled] = v2["feedback_handling"]
    assert handled["note"] == REPORTED and handled["attempt"] == 1 and handled["applied"]
    merge, explain, shorter = handled["asks"]
    assert (merge["kind"], merge["status"]) == ("merge", "applied")
    assert (
        merge["where"]
        == f"section {len(v2['sections'])} “In short”"
        == f"section {len(v2['sections'])} “{v2['sections'][-1]['heading']}”"
    )
    assert "no longer repeats section 3" in merge["detail"]
    assert (explain["kind"], explain["status"]) == ("explain", "applied")
    sunset_section = next(i for i, s in enumerate(v2["sections"]) if SUNSET in s["narration"])
    assert explain["where"].startswith(f"section {sunset_section + 1} ")
    assert (shorter["kind"], shorter["status"], shorter["where"]) == ("shorter", "applied", "hook")
    assert shorter["detail"] == f"{len(v1['hook'].split())} → {len(v2['hook'].split())} words"
    assert v2["feedback_applied"] == [REPORTED]


async def test_what_the_offline_writer_cannot_do_it_says(tmp_path: Path) -> None:
    note = "Use an everyday comparison, like a prism; make it shorter"
    async with sqlite_db(tmp_path) as db:
        v1 = await redo(db, [], {})
        v2 = await redo(db, [note], {1: v1})
        v2b = await redo(db, ["explain the Tyndall effect"], {1: v1})
    comparison, shorter = asks_of(v2)
    assert comparison["status"] == "not_applied" and not comparison["applied"]
    assert "offline writer cannot" in comparison["detail"] and "TUBEFLOW_SCRIPT_WRITER=groq" in comparison["detail"]
    assert shorter["status"] == "applied" and shorter["where"] == "whole script"
    assert v2["feedback_applied"] == []  # half followed is not "applied"
    # "Explain X" with no fact about X: nothing invented, nothing named in passing; it says why.
    [tyndall] = asks_of(v2b)
    assert tyndall["status"] == "not_applied" and "Tyndall" not in spoken(v2b)
    assert "no fact about “the Tyndall effect”" in tyndall["detail"] and "notes" in tyndall["detail"]
    assert v2b["hook"] == v1["hook"] and v2b["sections"] == v1["sections"]  # nothing else moved


async def test_sections_are_dropped_merged_and_shortened(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        v1 = await redo(db, [], {})
        dropped = await redo(db, ["Remove section 2"], {1: v1})
        merged = await redo(db, ["merge sections 2 and 3"], {1: v1})
        trimmed = await redo(db, ["section 3 is too long"], {1: v1})
        rehooked = await redo(db, ["give it a different hook. New title please"], {1: v1})
        no_wrap = await redo(db, ["drop the summary"], {1: v1})
    third = v1["sections"][2]["narration"]
    assert "On its way through the atmosphere" in v1["sections"][1]["narration"]
    assert "On its way through the atmosphere" not in spoken(dropped) and "inverse fourth power" in spoken(dropped)
    assert asks_of(dropped)[0]["status"] == "applied"
    assert len(merged["sections"]) == len(v1["sections"]) - 1
    assert asks_of(merged)[0]["status"] == "applied" and "are now one" in asks_of(merged)[0]["detail"]
    [ask] = asks_of(trimmed)
    assert ask["status"] == "applied" and ask["where"].startswith("section 3 ")
    assert len(trimmed["sections"][2]["narration"].split()) < len(third.split())
    assert rehooked["hook"] != v1["hook"] and rehooked["title"] != v1["title"]
    assert [a["status"] for a in asks_of(rehooked)] == ["applied", "applied"]
    assert no_wrap["sections"][-1]["heading"] != "In short" and asks_of(no_wrap)[0]["status"] == "applied"


async def test_a_note_is_checked_against_the_attempt_it_was_about(tmp_path: Path) -> None:
    async with sqlite_db(tmp_path) as db:
        v1 = await redo(db, [], {})
        v2 = await redo(db, ["make the hook shorter"], {1: v1})
        v3 = await redo(db, ["make the hook shorter", "Mention the sky on Mars"], {1: v1, 2: v2})
    first, second = v3["feedback_handling"]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert first["applied"] and second["applied"]
    assert len(v3["hook"].split()) < len(v1["hook"].split())


async def test_hooks_tags_and_summaries_come_from_each_topic(tmp_path: Path) -> None:
    topics = [
        ("science", SKY),
        ("science", "How do rainbows form?"),
        ("science", "How do black holes form?"),
        ("history", "The Apollo 11 Moon landing"),
        ("financas", "juros compostos"),
    ]
    async with sqlite_db(tmp_path) as db:
        scripts = [await redo(db, [], {}, niche, topic) for niche, topic in topics]
    hooks = [s["hook"] for s in scripts]
    assert len(set(hooks)) == len(hooks) and not any("one simple idea" in h for h in hooks)
    assert "Rayleigh scattering" in scripts[0]["hook"]  # the phrase the sky's facts keep returning to
    tag_sets = [set(s["tags"]) - {"science", "history", "financas"} for s in scripts]
    for (_, topic), tags in zip(topics, tag_sets, strict=True):
        assert any(w.strip("?").lower() in tags for w in topic.split() if len(w) > 3), (topic, tags)
    assert len({frozenset(t) for t in tag_sets}) == len(tag_sets)
    assert not any({"space", "atoms", "planets", "laboratory"} <= set(s["tags"]) for s in scripts)
    for s in scripts:  # the summary recaps; it never says a section again word for word
        wrap = s["sections"][-1]["narration"]
        assert all(repeats(wrap, b["narration"]) < REPEAT_WORDS for b in s["sections"][:-1]), wrap


def test_old_scripts_load_and_their_diff_reads_sections_and_words() -> None:
    old = validate_script(V1_BEFORE)  # written before feedback_handling existed
    assert "feedback_handling" not in old
    new = json.loads(json.dumps(old))
    new["hook"] = "Why is the sky blue? It comes down to <Rayleigh> scattering."
    new["sections"][1]["narration"] = new["sections"][1]["narration"].replace("nitrogen and oxygen", "air")
    del new["sections"][3]
    new["sections"].append(
        {"heading": "Sunsets", "narration": SUNSET + ".", "broll_cues": [], "short_candidate": False}
    )
    d = diff_scripts(old, new)
    assert [s["status"] for s in d["sections"]] == ["same", "changed", "same", "removed", "added"]
    assert d["summary"] == "hook changed, 1 section added, 1 section removed, 1 section changed"
    changed = d["sections"][1]["narration"]["words"]
    assert {"op": "del", "text": "nitrogen and oxygen"} in changed and {"op": "ins", "text": "air"} in changed
    assert any(w["op"] == "ins" and "<Rayleigh>" in w["text"] for w in d["hook"]["words"])  # the page escapes it


async def test_the_check_holds_an_llm_to_the_same_rules(tmp_path: Path) -> None:
    """A model that ignores "make the hook shorter" is reported as such; one that follows it is not;
    a request no rule can check is "not checked", never "applied"; the model sees the draft."""
    note = "make the hook shorter; make it funnier"
    async with sqlite_db(tmp_path) as db:
        facts = (await research(SETTINGS, db, "science", "c", SKY)).facts
        v1 = validate_script(llm_script(SKY, facts))
        same_hook, short_hook = dict(v1), {**v1, "hook": "Why blue?"}
        with FakeGroq() as fake:
            fake.answer_script(same_hook)
            fake.answer_script(short_hook)
            niche = load_niche("science", SETTINGS)
            ignored = await make_writer(groq_settings(fake)).write(
                topic=SKY, niche=niche, facts=facts, feedback=[note], attempt=2, earlier={1: v1}
            )
            followed = await make_writer(groq_settings(fake)).write(
                topic=SKY, niche=niche, facts=facts, feedback=[note], attempt=2, earlier={1: v1}
            )
    assert [a["status"] for a in asks_of(ignored)] == ["not_applied", "unverified"]
    assert [a["status"] for a in asks_of(followed)] == ["applied", "unverified"]
    assert ignored["feedback_applied"] == followed["feedback_applied"] == []
    assert f"Section 1 (Part 1): {v1['sections'][0]['narration']}" in fake.prompt(0)


def test_asks_are_read_one_by_one() -> None:
    kinds = [(a.kind, a.scope, a.section, a.other, a.what) for a in split_asks(REPORTED)]
    assert kinds == [
        ("merge", "section", "last", "3", ""),
        ("explain", "script", "", "", "why sunsets are red"),
        ("shorter", "hook", "", "", ""),
    ]
    # "make the hook shorter" shortens the hook, not the script (that cut the explanation before).
    before = validate_script(V1_BEFORE)
    after = {**before, "hook": "Why is the sky blue?"}
    hook_ask = split_asks(REPORTED)[2]
    assert check_ask(hook_ask, before, after, 1, Intent())["status"] == "applied"
    assert check_ask(hook_ask, before, before, 1, Intent())["status"] == "not_applied"
    [h] = handle_notes([REPORTED], {}, after, 2)  # attempt 1 unreadable: nothing is claimed
    assert [a["status"] for a in h["asks"]] == ["unverified", "not_applied", "unverified"] and not h["applied"]
