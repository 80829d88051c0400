"""Metadata valid for YouTube before upload: fixed where safe, every fix reported; the outbox carries the same."""

from __future__ import annotations

import json
from pathlib import Path

from activities.outbox import OutboxPublisher
from activities.publish_metadata import (
    DESCRIPTION_MAX_BYTES,
    PublishOptions,
    build_metadata,
    captions_srt,
    tags_length,
)
from tubeflow.contracts import PublishRequest
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.storage import LocalStorage

SCRIPT = {
    "title": "Why the sky is blue",
    "hook": "Why is the sky blue?",
    "sections": [
        {"heading": "Sunlight", "narration": "Air molecules scatter blue sunlight more than red."},
        {"heading": "Scattering", "narration": "Larger particles scatter every colour alike."},
        {"heading": "Sunsets", "narration": "At sunset the light crosses more air."},
    ],
    "description": "Why is the sky blue?\n\nFontes:\n- https://example.org/rayleigh",
    "tags": ["science", "sky"],
    "language": "pt",
    "sources": [
        {"claim": "Air molecules scatter blue sunlight more than red", "source": "https://example.org/rayleigh"},
        {"claim": "Larger particles scatter every colour alike", "source": "https://example.org/mie"},
    ],
}


def req(kind: str = "long", **extra: object) -> PublishRequest:
    return PublishRequest("p1", "demo", "productions/p1/video.mp4", "", "s", kind=kind, extra=dict(extra))


def test_sources_are_listed_once_and_disclosure_added(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    meta = build_metadata(store, req(), SCRIPT, 48.0, PublishOptions(default_tags=["extra"]))
    d = meta["description"]
    assert d.count("https://example.org/rayleigh") == 1  # the script's own block is kept, not repeated
    assert d.count("https://example.org/mie") == 1  # a source the script did not list is added
    assert "generated" in d.splitlines()[-1] and meta["synthetic_disclosure"] is True
    assert meta["tags"] == ["science", "sky", "extra"] and meta["fixes"] == []
    off = build_metadata(store, req(), SCRIPT, 48.0, PublishOptions(synthetic_disclosure=False))
    assert "generated" not in off["description"]


def test_long_and_forbidden_values_are_fixed_and_reported(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    script = dict(
        SCRIPT,
        title="The <real> reason " + "the sky is very blue " * 8,
        description="Light <scatters> " + "é" * 6000,
        tags=["ok", "bad<tag>", *[f"tag number {i}" for i in range(60)]],
    )
    meta = build_metadata(store, req(), script, 48.0)
    assert len(meta["title"]) <= 100 and "<" not in meta["title"] and meta["title"].endswith("\u2026")
    assert meta["title"].rstrip("\u2026").endswith(("blue", "very", "sky", "the", "is"))  # cut at a word
    assert len(meta["description"].encode()) <= DESCRIPTION_MAX_BYTES and "<" not in meta["description"]
    assert tags_length(meta["tags"]) <= 500 and "bad<tag>" not in meta["tags"] and meta["tags"][0] == "ok"
    fixes = " | ".join(meta["fixes"])
    for what in ("title: < and >", "title: longer than 100", "description: < and >", "bytes is over", "bad<tag>"):
        assert what in fixes, fixes


def test_chapters_invalid_for_youtube_are_left_out_and_reported(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    timing = NarrationTiming(
        duration_s=20.0,
        sample_rate=22050,
        parts=[
            PartTiming(0, "section", 0.0, 5.0, "a", 0),
            PartTiming(1, "section", 5.0, 12.0, "b", 1),
            PartTiming(2, "section", 12.0, 20.0, "c", 2),
        ],
    )
    store.put_text("productions/p1/timing-v1.json", timing.to_json())
    meta = build_metadata(store, req(), SCRIPT, 20.0)
    assert meta["chapters"] == [] and "Chapters:" not in meta["description"]
    assert any("chapters shorter than 10 s: Sunlight, Scattering" in f for f in meta["fixes"])


def test_shorts_carry_their_real_duration(tmp_path: Path) -> None:
    meta = build_metadata(LocalStorage(tmp_path), req("short", index=0, start=12.5, end=41.0), SCRIPT)
    assert meta["duration_s"] == 28.5 and meta["title"].endswith("#shorts")


def test_outbox_metadata_has_the_youtube_fields_and_captions(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "s")
    store.put_bytes("productions/p1/video.mp4", b"v")
    words = [{"word": "Hello", "start": 0.0, "end": 0.4}, {"word": "world.", "start": 0.5, "end": 1.0}]
    store.put_text("productions/p1/words.json", json.dumps(words))
    opts = PublishOptions(privacy="public", publish_at="2027-01-04T17:00:00Z", playlist="PLabcdefghij", category="28")
    res = OutboxPublisher(tmp_path / "out").publish(store, req(), SCRIPT, opts)
    folder = tmp_path / "out" / res.location
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["publish_at"] == "2027-01-04T17:00:00Z" and meta["privacy"] == "public"
    assert meta["playlist"] == "PLabcdefghij" and meta["category"] == "28" and meta["made_for_kids"] is False
    assert meta["captions"] == "captions.srt"
    assert (folder / "captions.srt").read_text() == captions_srt(store, req())
    assert "00:00:00,000 --> 00:00:01,000\nHello world." in (folder / "captions.srt").read_text()
