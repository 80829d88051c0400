"""Hand edits of the published metadata at the final checkpoint (issue 22 item 4): checked against
YouTube's limits when accepted, refused where the caller has not opted in, winning over the derived
metadata when published."""

from __future__ import annotations

from typing import Any

import pytest

from activities.publish_metadata import build_metadata
from tubeflow.contracts import Checkpoint, PublishRequest, ReviewDecision
from tubeflow.review_edits import EditsRefused, FinalReviewEdits, final_edits
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
