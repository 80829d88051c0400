"""The review vocabulary: checkpoint and redo-target names, typed edits, ignored reviews.

Everything here crosses Temporal inside recorded histories, so the first tests read the real
payloads of tests/histories/ and check they decode into the typed forms and encode back unchanged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from tubeflow.contracts import (
    Checkpoint,
    RedoTarget,
    ReviewDecision,
    ReviewRecord,
    StateSnapshot,
    Unrecognised,
    checkpoint_named,
    redo_target_named,
)
from tubeflow.review_edits import (
    AudioReviewEdits,
    BrollReviewEdits,
    EditsRefused,
    FinalReviewEdits,
    ScriptReviewEdits,
    applied_edits,
    audio_edits,
    broll_edits,
    final_edits,
    script_edits,
)

HISTORIES = Path(__file__).parent / "histories"
CONVERTER = DataConverter.default.payload_converter
SCRIPT = {
    "title": "Edited title",
    "hook": "Look up.",
    "sections": [{"heading": "Light", "narration": "Sunlight holds every colour."}],
    "description": "Why the sky is blue.",
}


def _payloads(event_kinds: tuple[str, ...]) -> Iterator[bytes]:
    """The JSON of every payload inside the named event attributes of every recorded history."""

    def walk(o: Any) -> Iterator[bytes]:
        if isinstance(o, dict):
            if "data" in o and "metadata" in o:
                yield base64.b64decode(o["data"])
            for v in o.values():
                yield from walk(v)
        elif isinstance(o, list):
            for v in o:
                yield from walk(v)

    for path in sorted(HISTORIES.glob("*.json")):
        history = json.loads(path.read_text())
        for event in history.get("events", []):
            for kind in event_kinds:
                yield from walk(event.get(kind, {}))


def _decode(data: bytes, kind: type[Any]) -> Any:
    payload = Payload(metadata={"encoding": b"json/plain"}, data=data)
    return CONVERTER.from_payloads([payload], [kind])[0]


def _encode(value: Any) -> bytes:
    return CONVERTER.to_payloads([value])[0].data


def _recorded_decisions() -> list[bytes]:
    kinds = ("workflowExecutionSignaledEventAttributes", "workflowExecutionUpdateAcceptedEventAttributes")
    return [d for d in _payloads(kinds) if b'"reviewer"' in d and b'"approved"' in d]


def test_every_recorded_decision_decodes_typed_and_encodes_back_unchanged() -> None:
    decisions = _recorded_decisions()
    assert len(decisions) >= 10  # approvals, rejections, edits, a redo target, signals and updates
    seen_edits = set()
    for data in decisions:
        d = _decode(data, ReviewDecision)
        assert isinstance(d.stage, Checkpoint)
        assert d.redo_from == "" or isinstance(d.redo_from, RedoTarget)
        before = json.loads(data)
        # Decisions recorded before redo_from existed lack the key; everything else is byte-identical.
        assert json.loads(_encode(d)) == {"redo_from": "", **before}
        if "redo_from" in before:
            assert _encode(d) == data
        seen_edits |= set(d.edits or {})
        # Every recorded edit still parses (the b-roll layout where its patch let it be recorded).
        edits = d.edits or {}
        final_metadata = any(k in edits for k in ("title", "description", "tags"))
        platforms = any(k in edits for k in ("platforms_off", "platform_captions"))
        layout = "parts" in edits
        applied_edits(d.stage, d, thumbnails=3, final_metadata=final_metadata, broll_layout=layout, platforms=platforms)
    assert {"script", "thumbnail"} <= seen_edits
    assert any(b'"redo_from":"render"' in d for d in decisions)


def test_recorded_ignored_reviews_read_as_ignored_from_their_note() -> None:
    """Records written before the ``ignored`` field existed say so in their note only."""
    snapshots = [
        d
        for d in _payloads(("activityTaskScheduledEventAttributes",))
        if b'"workflow_id"' in d and b'"reviews"' in d and b"ignored: " in d
    ]
    assert snapshots, "the waiting_script history holds a signal ignored at a closed checkpoint"
    for data in snapshots:
        assert b'"ignored":' not in data  # recorded before the field
        records = _decode(data, StateSnapshot).status.reviews
        assert any(r.ignored for r in records)
        assert all(r.ignored == r.note.startswith("ignored: ") for r in records)


def test_a_new_record_carries_the_field_and_keeps_the_note() -> None:
    r = ReviewRecord(Checkpoint.AUDIO, True, "sig", "", "2025-01-01T00:00:00+00:00", 0, "ignored: why", ignored=True)
    wire = json.loads(_encode(r))
    assert wire["ignored"] is True and wire["note"] == "ignored: why" and wire["stage"] == "audio"
    assert not ReviewRecord(Checkpoint.SCRIPT, True, "ana", "", "t", 1, "redo from render").ignored


def test_unknown_names_decode_as_plain_strings_for_the_workflow_to_refuse() -> None:
    wire = b'{"approved":true,"edits":null,"feedback":"","redo_from":"tts","reviewer":"x","stage":"thumbs"}'
    d = _decode(wire, ReviewDecision)
    assert d.stage == "thumbs" and not isinstance(d.stage, Checkpoint)
    assert d.redo_from == "tts" and not isinstance(d.redo_from, RedoTarget)
    assert _encode(d) == wire
    assert checkpoint_named("final") is Checkpoint.FINAL and checkpoint_named("thumbs") == Unrecognised("thumbs")
    assert not isinstance(checkpoint_named("thumbs"), Checkpoint)
    assert redo_target_named("broll") is RedoTarget.BROLL and redo_target_named("") == ""
    assert not isinstance(redo_target_named("tts"), RedoTarget)


def test_redo_targets_in_pipeline_order() -> None:
    assert [str(t) for t in RedoTarget] == ["script", "broll", "render", "thumbnail"]
    assert RedoTarget.SCRIPT.includes(RedoTarget.RENDER) and RedoTarget.BROLL.includes(RedoTarget.BROLL)
    assert not RedoTarget.RENDER.includes(RedoTarget.BROLL)
    assert not RedoTarget.THUMBNAIL.includes(RedoTarget.RENDER)


@pytest.mark.parametrize(
    ("decision", "sent_to"),
    [
        (ReviewDecision(Checkpoint.FINAL, False, "bo", "x", redo_from=RedoTarget.BROLL), RedoTarget.BROLL),
        (ReviewDecision(Checkpoint.FINAL, False, "bo", "x", redo_from=RedoTarget.THUMBNAIL), None),
        (ReviewDecision(Checkpoint.FINAL, False, "bo", "x"), None),
        (ReviewDecision(Checkpoint.FINAL, True, "bo", redo_from=RedoTarget.SCRIPT), None),
        (ReviewDecision(Checkpoint.FINAL, False, "bo", "x", redo_from=Unrecognised("tts")), None),
    ],
)
def test_sends_back_to(decision: ReviewDecision, sent_to: RedoTarget | None) -> None:
    assert decision.sends_back_to() is sent_to


@pytest.mark.parametrize(
    ("stage", "redo_from", "about"),
    [
        (Checkpoint.FINAL, "", "thumbnail"),
        (Checkpoint.FINAL, RedoTarget.BROLL, "broll"),
        (Checkpoint.AUDIO, "", "audio"),
    ],
)
def test_a_reviews_learning_is_filed_under_what_it_is_about(stage: Checkpoint, redo_from: Any, about: str) -> None:
    assert ReviewRecord(stage, False, "bo", "no", "t", 1, redo_from=redo_from).about == about


def test_edits_parse_into_their_checkpoints_dataclass() -> None:
    def ok(cp: Checkpoint, edits: dict[str, Any]) -> ReviewDecision:
        return ReviewDecision(cp, True, "ana", edits=edits)

    assert script_edits(ok(Checkpoint.SCRIPT, {"script": SCRIPT})) == ScriptReviewEdits(script=SCRIPT)
    assert audio_edits(ok(Checkpoint.AUDIO, {"pronounce": {"Rayleigh": "RAY-lee"}})) == AudioReviewEdits(
        pronounce={"Rayleigh": "RAY-lee"}
    )
    assert broll_edits(ok(Checkpoint.BROLL, {"swap": {"0": "library/sky.jpg"}})) == BrollReviewEdits(
        swap={"0": "library/sky.jpg"}
    )
    assert final_edits(ok(Checkpoint.FINAL, {"thumbnail": 2}), thumbnails=3) == FinalReviewEdits(thumbnail=2)
    # Nothing sent: the empty edits of the checkpoint.
    assert script_edits(ReviewDecision(Checkpoint.SCRIPT, True)) == ScriptReviewEdits()
    assert final_edits(ReviewDecision(Checkpoint.FINAL, True, edits={}), thumbnails=3).thumbnail == 0


@pytest.mark.parametrize(
    ("cp", "edits", "message"),
    [
        (
            Checkpoint.FINAL,
            {"swap": {}},
            "edits ['swap'] are not accepted at the final checkpoint (allowed: ['thumbnail'])",
        ),
        (Checkpoint.FINAL, {"thumbnail": 3}, "thumbnail must be an index from 0 to 2, not 3"),
        (Checkpoint.FINAL, {"thumbnail": "1"}, "thumbnail must be an index from 0 to 2, not '1'"),
        (Checkpoint.SCRIPT, {"script": {"title": ""}}, "the edited script is invalid"),
        (Checkpoint.AUDIO, {"pronounce": {}}, "pronounce must map 1 to 50 words to respellings"),
        (Checkpoint.AUDIO, {"pronounce": {"sky": " "}}, "pronounce: 'sky' needs a respelling ('RAY-lee')"),
        (Checkpoint.BROLL, {"swap": ["0"]}, "swap must map a part index to a candidate key"),
    ],
)
def test_malformed_edits_are_refused_saying_what_to_send(cp: Checkpoint, edits: dict[str, Any], message: str) -> None:
    with pytest.raises(EditsRefused) as refused:
        applied_edits(cp, ReviewDecision(cp, True, "ana", edits=edits), thumbnails=3)
    assert str(refused.value).startswith(message)


def test_a_rejection_applies_only_its_pronunciations() -> None:
    # A rejection's other edits are neither read nor checked (they never were) ...
    ignored = ReviewDecision(Checkpoint.FINAL, False, "bo", "darker", edits={"thumbnail": 99})
    assert final_edits(ignored, thumbnails=3) == FinalReviewEdits()
    # ... its pronunciations are taught before the redo, so they are checked: every key then.
    taught = ReviewDecision(Checkpoint.AUDIO, False, "ana", "say it", edits={"pronounce": {"sky": "skai"}})
    assert audio_edits(taught).pronounce == {"sky": "skai"}
    with pytest.raises(EditsRefused, match=r"edits \['swap'\] are not accepted at the audio"):
        audio_edits(ReviewDecision(Checkpoint.AUDIO, False, "ana", "x", edits={"pronounce": {"a": "b"}, "swap": {}}))
