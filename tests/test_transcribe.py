"""faster-whisper word timestamps on real (Piper) speech, and the script fallback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpu_activities.transcribe import align_script_words, estimate_timing, pick_device, transcribe_words
from tests.mediagen import silent_wav, speech_wav
from tubeflow.errors import MediaError
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.settings import Settings

TEXT = "Rivers carry water to the sea. Mountains rise slowly over millions of years."


def _norm(w: str) -> str:
    return re.sub(r"[^a-z]", "", w.lower())


def test_words_match_speech_and_are_timed(tmp_path: Path) -> None:
    wav = speech_wav(tmp_path / "speech.wav", TEXT)
    res = transcribe_words(wav, "en", Settings(force_cpu=True))
    heard = [_norm(w["word"]) for w in res.words]
    expected = [_norm(w) for w in TEXT.split()]
    assert len(set(heard) & set(expected)) >= len(expected) - 2, heard
    starts = [w["start"] for w in res.words]
    assert starts == sorted(starts) and all(w["end"] >= w["start"] for w in res.words)
    from tubeflow.media.probe import probe

    assert res.words[-1]["end"] <= probe(wav).duration_s + 0.2
    # Speed belongs to bench/ (a loaded CI machine is no place to time Whisper); the figure is reported.
    assert res.device == "cpu" and res.realtime_factor > 0


def test_device_choice_respects_force_cpu() -> None:
    assert pick_device(Settings(force_cpu=True)) == ("cpu", "int8")


def test_silence_gives_no_words_and_script_alignment_fills_in(tmp_path: Path) -> None:
    res = transcribe_words(silent_wav(tmp_path / "quiet.wav", 2.0), "en", Settings(force_cpu=True))
    assert res.words == []
    script = {
        "hook": "Why is the sky blue?",
        "sections": [{"heading": "a", "narration": "Light scatters in air.", "broll_cues": []}],
    }
    timing = NarrationTiming(2.0, 22050, [PartTiming(0, "hook", 0.0, 1.0, "Why is the sky blue?"),
                                          PartTiming(1, "section", 1.2, 2.0, "Light scatters in air.", 0)])  # fmt: skip
    words = align_script_words(timing, script)
    assert [w["word"] for w in words] == "Why is the sky blue? Light scatters in air.".split()
    hook, section = words[:5], words[5:]
    assert hook[0]["start"] == 0.0 and hook[-1]["end"] <= 1.0 and section[0]["start"] == 1.2
    assert section[-1]["end"] <= 2.0
    est = estimate_timing(script, 9.0)
    assert [round(p.end - p.start, 2) for p in est.parts] == [5.0, 4.0]  # 5 words : 4 words


def test_unreadable_audio_is_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "voice.wav"
    bad.write_bytes(b"RIFF" + b"\x00" * 10)
    with pytest.raises(MediaError, match="narration voice.wav"):
        transcribe_words(bad, "en", Settings(force_cpu=True))


def test_clips_follow_part_pauses_and_split_long_parts() -> None:
    from gpu_activities.transcribe import MAX_CLIP_S, clips_from_timing

    timing = NarrationTiming(
        duration_s=80.0,
        sample_rate=22050,
        parts=[PartTiming(0, "hook", 0.0, 6.0, "a"), PartTiming(1, "section", 6.35, 76.35, "b", 0)],
    )
    clips = clips_from_timing(timing)
    assert clips[0] == {"start": 0.0, "end": 6.0}
    rest = clips[1:]
    assert len(rest) == 3 and all(c["end"] - c["start"] <= MAX_CLIP_S for c in rest)
    assert rest[0]["start"] == 6.35 and rest[-1]["end"] == 76.35
    assert all(a["end"] == b["start"] for a, b in zip(rest, rest[1:], strict=False))


def test_batched_decoding_by_parts_hears_the_same_words(tmp_path: Path) -> None:
    """The GPU path (batched over narration parts) run on the CPU: same words as sequential decoding."""
    from activities.tts_engines import make_tts

    # Piper samples noise, so every run speaks a little differently; a bare "Rivers" opening the audio
    # was heard as "wherever" or "river's" by one decoding about 1 run in 12 (2 of 27 here), an article
    # before it never (0 of 25).  The check is about the two decodings, not tiny.en on a clipped word.
    parts = ["The river carries water to the sea.", "Mountains rise slowly over millions of years."]
    wav = tmp_path / "voice.wav"
    timing = make_tts(Settings()).synthesize(parts, wav)
    settings = Settings(force_cpu=True)
    seq = transcribe_words(wav, "en", settings, timing=timing, batched=False)
    bat = transcribe_words(wav, "en", settings, timing=timing, batched=True)
    assert [_norm(w["word"]) for w in bat.words] == [_norm(w["word"]) for w in seq.words]
    second_part_start = timing.parts[1].start
    assert any(w["start"] >= second_part_start for w in bat.words)
