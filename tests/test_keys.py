"""Storage keys are spelled in tubeflow/keys.py only, and their spelling is stable (histories carry them)."""

from __future__ import annotations

import re
from pathlib import Path

from tubeflow.keys import JobKeys, ProductionKeys, spoken_words_for, timing_for_voice, upload_key

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("activities", "gpu_activities", "api", "workflows", "service", "cli", "niches", "knowledge", "autoscaler")
# A key assembled by hand: a literal top-level folder, a "<prefix>/" f-string, or a voice/timing rename.
HAND_MADE = re.compile(
    r"""f["'](productions|jobs|uploads)/|f["']\{[a-z_.]*prefix(\([^)]*\))?\}/|\.replace\(["'](voice|timing)-v|"""
    r"""rsplit\(["']\.["'], 1\)\[0\] \+ ["']\.(words\.)?json"""
)


def test_layout_is_stable() -> None:
    k = ProductionKeys("abc123")
    assert [
        k.facts(),
        k.script(2),
        k.script(2, "-edited"),
        k.voice(1),
        k.voice_words(1),
        k.timing(1),
        k.voice_spoken(1),
    ] == [
        "productions/abc123/facts.json",
        "productions/abc123/script-v2.json",
        "productions/abc123/script-v2-edited.json",
        "productions/abc123/voice-v1.wav",
        "productions/abc123/voice-v1.words.json",
        "productions/abc123/timing-v1.json",
        "productions/abc123/voice-v1.spoken.json",
    ]
    assert [k.plan(3), k.plan(3, "-swapped"), k.broll("a.jpg"), k.broll_credits(), k.music("m.mp3")] == [
        "productions/abc123/plan-v3.json",
        "productions/abc123/plan-v3-swapped.json",
        "productions/abc123/broll/a.jpg",
        "productions/abc123/broll/credits.json",
        "productions/abc123/music/m.mp3",
    ]
    assert [k.thumbnail(2, 1), k.words(), k.render_segment("f0", 7), k.video(), k.short(2), k.video(3)] == [
        "productions/abc123/thumbnails/v2-1.jpg",
        "productions/abc123/words.json",
        "productions/abc123/render/f0/seg-0007.mp4",
        "productions/abc123/video.mp4",
        "productions/abc123/shorts/short-2.mp4",
        "productions/abc123/video-r3.mp4",
    ]
    assert k.publish_state("video") == "productions/abc123/youtube/video.json"
    assert k.metadata_preview() == "productions/abc123/metadata-preview.json"
    assert (JobKeys("j1").input("image", ".png"), JobKeys("j1").output()) == ("jobs/j1/image.png", "jobs/j1/output.mp4")
    assert upload_key("tok", "in.mp4") == "uploads/tok/in.mp4"


def test_derived_keys() -> None:
    k = ProductionKeys("p")
    assert timing_for_voice(k.voice(3)) == k.timing(3)
    assert timing_for_voice("uploads/t/voice-v1-final.wav") is None and timing_for_voice("jobs/j/a.wav") is None
    assert spoken_words_for(k.voice(3)) == k.voice_words(3)
    assert [ProductionKeys.timing_version(x) for x in (k.timing(12), k.voice(12), k.facts())] == [12, None, None]


def test_no_key_is_built_by_hand_outside_the_keys_module() -> None:
    found = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if HAND_MADE.search(line) and "# not a storage key" not in line:
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "build storage keys with tubeflow.keys instead:\n" + "\n".join(found)
