"""Edits carry through to what is published (issue 22 item 4).

Hand edits of the published metadata at the final checkpoint: checked against YouTube's limits when
accepted, refused where the caller has not opted in, winning over the derived metadata when
published.  Edits of the script at the script checkpoint: the description, the sources and the
b-roll cues are derived again from the edited text, not kept from what the writer wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest

from activities.publish_metadata import build_metadata, script_description
from activities.script_writer import follow_edit
from tubeflow.contracts import Checkpoint, PublishRequest, ReviewDecision
from tubeflow.keys import ProductionKeys
from tubeflow.review_edits import EditsRefused, FinalReviewEdits, final_edits
from tubeflow.script_citations import cited_sources, uncited_sources
from tubeflow.storage import LocalStorage

SCRIPT: dict[str, Any] = {
    "title": "Why is the sky blue?",
    "hook": "Old hook.",
    "sections": [{"heading": "Light", "narration": "Sunlight scatters.", "broll_cues": [], "short_candidate": False}],
    "description": "Old hook.",
    "tags": ["sky"],
    "sources": [],
    "language": "en",
}


def approve(edits: dict[str, Any]) -> ReviewDecision:
    return ReviewDecision(Checkpoint.FINAL, True, "ana", edits=edits)


def test_metadata_edits_parse_when_accepted() -> None:
    edits = {"thumbnail": 1, "title": "Blue sky", "description": "New words.", "tags": ["sky", "light"]}
    assert final_edits(approve(edits), 3, final_metadata=True) == FinalReviewEdits(
        thumbnail=1, title="Blue sky", description="New words.", tags=["sky", "light"]
    )


def test_metadata_edits_are_refused_where_not_accepted() -> None:
    # What recorded histories' validators accepted: the thumbnail only.
    with pytest.raises(EditsRefused, match=r"edits \['title'\] are not accepted at the final checkpoint"):
        final_edits(approve({"title": "Blue sky"}), 3)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"title": "x" * 101}, "title is 101 characters; YouTube allows at most 100"),
        ({"title": "a <b>"}, "title may not contain < or >"),
        ({"title": " "}, "title must be a non-empty string"),
        ({"description": "é" * 2501}, "description is 5002 bytes (UTF-8); YouTube allows at most 5000"),
        ({"description": 3}, "description must be a string"),
        ({"tags": "a,b"}, "tags must be a list of strings"),
        ({"tags": ["a,b"]}, "tag 'a,b' must be non-empty, without commas"),
        ({"tags": ["t" * 250, "u" * 250]}, "tags add up to 501 characters"),
    ],
)
def test_metadata_edits_breaking_youtube_limits_are_refused(edits: dict[str, Any], message: str) -> None:
    with pytest.raises(EditsRefused) as refused:
        final_edits(approve(edits), 3, final_metadata=True)
    assert str(refused.value).startswith(message)


def test_the_hand_edit_wins_over_the_derived_metadata(tmp_path: Any) -> None:
    storage = LocalStorage(tmp_path)
    req = PublishRequest("p1", "c", "", "", "", extra={"title": "Blue sky", "description": "Fixed.", "tags": ["x"]})
    meta = build_metadata(storage, req, SCRIPT)
    assert (meta["title"], meta["description"], meta["tags"]) == ("Blue sky", "Fixed.", ["x"])
    derived = build_metadata(storage, PublishRequest("p1", "c", "", "", ""), SCRIPT)
    assert derived["description"].startswith("Old hook.") and derived["tags"] == ["sky"]


# ---------------------------------------------------------------- the script's edits carry through

WRITTEN: dict[str, Any] = {
    "title": "Why is the sky blue?",
    "hook": "Ever wondered why the sky is blue?",
    "sections": [
        {
            "heading": "Light",
            "narration": "Here is the key. Air molecules scatter blue sunlight far more than red sunlight.",
            "broll_cues": ["air molecules", "blue sunlight"],
            "short_candidate": True,
        },
        {
            "heading": "Wrap-up",
            "narration": "Next time someone asks why the sky is blue, tell them about scattering.",
            "broll_cues": ["next time someone"],
            "short_candidate": False,
        },
    ],
    "description": "Ever wondered why the sky is blue?\n\nSources:\n- https://ex.org/rayleigh\n- https://ex.org/ozone",
    "tags": ["sky"],
    "sources": [
        {"claim": "Air molecules scatter blue sunlight more than red", "source": "https://ex.org/rayleigh"},
        {"claim": "Ozone absorbs ultraviolet radiation high in the stratosphere", "source": "https://ex.org/ozone"},
    ],
    "language": "en",
}


def edited(**changes: Any) -> dict[str, Any]:
    script: dict[str, Any] = json.loads(json.dumps(WRITTEN))
    script.update(changes)
    return script


def test_only_sources_the_narration_says_are_cited() -> None:
    assert [s["source"] for s in cited_sources(WRITTEN)] == ["https://ex.org/rayleigh"]
    assert [s["source"] for s in uncited_sources(WRITTEN)] == ["https://ex.org/ozone"]
    # Said in other words (plural, order, most of the claim's words) still counts; a claimless source never does.
    rephrased = edited(
        hook="Sunlight, red or blue: air molecules scatter the blue more.", sections=WRITTEN["sections"][1:]
    )
    assert [s["source"] for s in cited_sources(rephrased)] == ["https://ex.org/rayleigh"]
    assert cited_sources(edited(sources=[{"claim": "", "source": "https://ex.org/x"}])) == []
    # The section saying it is cut at the script checkpoint: the source is no longer cited.
    cut = edited(sections=WRITTEN["sections"][1:])
    assert cited_sources(cut) == []


def test_the_description_follows_the_edited_hook_and_drops_uncited_sources() -> None:
    script = edited(hook="Look up: the blue is sunlight bounced off the air itself.")
    text = script_description(script, WRITTEN)
    assert text == "Look up: the blue is sunlight bounced off the air itself.\n\nSources:\n- https://ex.org/rayleigh"
    # A description the reviewer rewrote stays theirs (still without the uncited source).
    mine = edited(hook="New hook.", description="My own words.\n\nSources:\n- https://ex.org/ozone")
    assert script_description(mine, WRITTEN) == "My own words."
    # Nothing written to compare with (not an edit): the text as it is, uncited sources out.
    assert script_description(WRITTEN).startswith(
        "Ever wondered why the sky is blue?\n\nSources:\n- https://ex.org/rayleigh"
    )
    assert "ozone" not in script_description(WRITTEN)
    assert script_description(edited(description="")) == WRITTEN["hook"]


def test_published_metadata_is_derived_again_from_the_edited_script(tmp_path: Any) -> None:
    storage = LocalStorage(tmp_path)
    keys = ProductionKeys("p1")
    storage.put_text(keys.script(2), json.dumps(WRITTEN))
    script = edited(hook="Look up: the blue is sunlight bounced off the air itself.", title="Blue, explained")
    storage.put_text(keys.script(2, "-edited"), json.dumps(script))
    meta = build_metadata(storage, PublishRequest("p1", "c", "", "", keys.script(2, "-edited")), script)
    assert meta["title"] == "Blue, explained"
    assert meta["description"].startswith("Look up: the blue is sunlight bounced off the air itself.\n")
    assert "Ever wondered" not in meta["description"] and "ozone" not in meta["description"]
    assert [s["source"] for s in meta["sources"]] == ["https://ex.org/rayleigh"]


def test_rewritten_sections_get_cues_from_their_new_text() -> None:
    last = dict(WRITTEN["sections"][1], narration="Clouds look white because large droplets scatter every colour.")
    first = dict(WRITTEN["sections"][0], broll_cues=["my own cue"], narration="Air scatters blue light more.")
    script, redone = follow_edit(edited(sections=[first, last]), WRITTEN)
    assert redone == [1]
    assert script["sections"][0]["broll_cues"] == ["my own cue"]  # the reviewer's cues are theirs
    cues = script["sections"][1]["broll_cues"]
    assert cues and "next time someone" not in cues and any("droplets" in c for c in cues), cues
    # Untouched sections keep the writer's cues; a section the writer never wrote gets cues.
    same, none = follow_edit(edited(), WRITTEN)
    assert none == [] and same["sections"] == WRITTEN["sections"]
    extra = dict(last, broll_cues=[], narration="Volcanic ash paints sunsets a deep orange.")
    _, added = follow_edit(edited(sections=[*WRITTEN["sections"], extra]), WRITTEN)
    assert added == [2]
    # A section cut before the rewritten one: matched by its cues, not its position.
    moved, shifted = follow_edit(edited(sections=[last]), WRITTEN)
    assert shifted == [0] and "next time someone" not in moved["sections"][0]["broll_cues"]


def test_an_old_production_is_told_why_its_metadata_edit_is_refused() -> None:
    with pytest.raises(EditsRefused, match="reached it before title, description and tags were editable"):
        final_edits(approve({"description": "x"}), 3)
