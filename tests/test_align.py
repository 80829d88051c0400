"""Captions spelled from the script: alignment of heard words to script words, on made-up word
lists (exact expectations) and on real Piper speech transcribed by the bundled Whisper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.testing import ActivityEnvironment

from gpu_activities.activities import GpuActivities
from gpu_activities.align import align_pairs, align_to_script, norm, script_words, word_error_rate
from tests.conftest import tiny_settings
from tubeflow.contracts import TranscribeRequest
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

SCRIPT: dict[str, Any] = {
    "hook": "Why is the sky blue?",
    "sections": [
        {"heading": "a", "narration": "Lord Rayleigh explained it in 1871, with mathematics.", "broll_cues": []},
    ],
}


def heard(*spec: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"word": w, "start": s, "end": e} for w, s, e in spec]


def test_norm_folds_case_accents_and_punctuation() -> None:
    assert norm("Ação,") == "acao" and norm("1,871") == "1871" and norm("—") == ""


def test_misheard_missing_and_extra_words_keep_the_script_spelling() -> None:
    section = SCRIPT["sections"][0]["narration"]
    timing = NarrationTiming(6.0, 22050, [PartTiming(0, "hook", 0.0, 1.5, SCRIPT["hook"]),
                                          PartTiming(1, "section", 1.85, 6.0, section, 0)])  # fmt: skip
    words, stats = align_to_script(
        SCRIPT,
        heard(
            ("why", 0.0, 0.2), ("is", 0.25, 0.4), ("the", 0.45, 0.55), ("sky", 0.6, 0.9), ("blue", 0.95, 1.4),
            ("Lord", 1.9, 2.1), ("Raleigh", 2.15, 2.6), ("explained", 2.65, 3.1), ("uh", 3.12, 3.2),
            ("it", 3.25, 3.35), ("in", 3.4, 3.5), ("eighteen", 3.55, 3.9), ("seventy-one", 3.95, 4.5),
            ("mathematics", 4.9, 5.6),
        ),
        timing,
    )  # fmt: skip
    assert [w["word"] for w in words] == script_words(SCRIPT)  # spelling, case, digits and punctuation
    by = {w["word"]: w for w in words}
    assert by["Rayleigh"]["start"] == 2.15  # a near-miss still anchors
    assert by["explained"]["start"] == 2.65 and by["mathematics."]["start"] == 4.9
    # "1871," was said as two words Whisper spelled out: it gets their time, between its neighbours.
    assert 3.5 <= by["1871,"]["start"] < by["with"]["start"] < by["mathematics."]["start"]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and all(w["end"] > w["start"] for w in words)
    assert all(w["end"] <= 1.5 for w in words[:5]) and all(w["start"] >= 1.85 for w in words[5:])
    assert stats.anchored == 11 and stats.script_words == 13  # "1871," and "with" were not heard as such


def test_a_heard_word_never_leaks_into_another_part() -> None:
    """Whisper repeating a hook word at the start of the section must not time the hook from there."""
    script = {"hook": "Blue light.", "sections": [{"heading": "a", "narration": "Blue again.", "broll_cues": []}]}
    timing = NarrationTiming(4.0, 22050, [PartTiming(0, "hook", 0.0, 1.5, "Blue light."),
                                          PartTiming(1, "section", 2.0, 4.0, "Blue again.", 0)])  # fmt: skip
    words, _ = align_to_script(script, heard(("blue", 2.1, 2.4), ("again", 2.5, 3.0)), timing)
    hook, section = words[:2], words[2:]
    assert all(0.0 <= w["start"] and w["end"] <= 1.5 for w in hook)  # spread over its own part
    assert section[0]["start"] == 2.1 and section[1]["start"] == 2.5


def test_alignment_pairs_only_similar_words() -> None:
    assert align_pairs(["alpha", "beta", "gamma"], ["alpha", "zzz", "gamma"]) == [(0, 0), (2, 2)]
    assert align_pairs(["a"], []) == []


def test_word_error_rate() -> None:
    assert word_error_rate(["a", "b", "c"], ["a", "b", "c"]) == 0.0
    assert word_error_rate(["a", "b", "c", "d"], ["a", "x", "c"]) == 0.5


async def test_transcribe_activity_captions_say_what_the_script_says(tmp_path: Path) -> None:
    """Real Piper speech, real Whisper: the words stored for the captions are the script's own."""
    from activities.tts_engines import make_tts
    from tubeflow.script_schema import narration_text

    s = tiny_settings(tmp_path, force_cpu=True)
    store = LocalStorage(s.resolved_storage_dir())
    script: dict[str, Any] = {
        "hook": "Lord Rayleigh, a British physicist, solved it.",
        "sections": [{"heading": "a", "narration": "In 1871 he showed why the sky is blue!", "broll_cues": []}],
    }
    wav = tmp_path / "voice.wav"
    timing = make_tts(Settings()).synthesize(narration_text(script), wav)
    store.put_file("productions/p1/voice-v1.wav", wav)
    store.put_text("productions/p1/timing-v1.json", timing.to_json())
    store.put_text("productions/p1/script-v1.json", json.dumps(script))
    req = TranscribeRequest("p1", "productions/p1/voice-v1.wav", "en", "productions/p1/script-v1.json",
                            "productions/p1/timing-v1.json")  # fmt: skip
    res = await ActivityEnvironment().run(GpuActivities(s, store).transcribe, req)
    words = json.loads(store.get_text(res.words_key))
    assert [w["word"] for w in words] == script_words(script)
    assert "script spelling" in res.device
    hook_n = len(script["hook"].split())
    assert all(timing.parts[0].start <= w["start"] and w["end"] <= timing.parts[0].end + 0.01 for w in words[:hook_n])
    assert all(w["start"] >= timing.parts[1].start for w in words[hook_n:])
    # Timing comes from the voice: words are spread over the speech, not bunched at one end.
    assert words[-1]["start"] > timing.parts[1].start + 0.5 * (timing.parts[1].end - timing.parts[1].start)


async def test_tts_word_boundaries_are_used_without_whisper(tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=True, whisper_model=str(tmp_path / "no-such-model"))
    store = LocalStorage(s.resolved_storage_dir())
    script = {"hook": "Hello, world.", "sections": [{"heading": "a", "narration": "Bye now!", "broll_cues": []}]}
    from tests.mediagen import tone_wav

    store.put_file("productions/p1/voice-v1.wav", tone_wav(tmp_path / "v.wav", 3.0))
    store.put_text(
        "productions/p1/voice-v1.words.json",
        json.dumps(heard(("Hello", 0.1, 0.5), ("world", 0.6, 1.0), ("Bye", 2.0, 2.3), ("now", 2.4, 2.8))),
    )
    store.put_text("productions/p1/script-v1.json", json.dumps(script))
    req = TranscribeRequest("p1", "productions/p1/voice-v1.wav", "en", "productions/p1/script-v1.json")
    res = await ActivityEnvironment().run(GpuActivities(s, store).transcribe, req)
    words = json.loads(store.get_text(res.words_key))
    assert [(w["word"], w["start"]) for w in words] == [("Hello,", 0.1), ("world.", 0.6), ("Bye", 2.0), ("now!", 2.4)]
    assert "tts word boundaries" in res.device
