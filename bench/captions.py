"""Caption accuracy on the demo narration: words as burned, and when they light up.

The demo's script ("Why is the sky blue?", science niche, offline writer from the niche notes) is
spoken by the bundled Piper voice with phoneme alignments switched on, so the voice itself says
when each word starts: the timing reference.  Whisper then transcribes that exact audio, and the
captions are built twice: the old way (Whisper's own words) and the new way (script words aligned
to Whisper's timing).  Both caption texts are compared with the script word for word, exactly as
written (case and punctuation count: the burned caption shows them).

    .venv/bin/python bench/captions.py [--topic "Why is the sky blue?"] [--niche science]
    .venv/bin/python bench/captions.py --niche financas --topic "Como funcionam os juros compostos?"

A non-English niche is spoken by eSpeak NG, whose word events are the timing reference, and
transcribed by the bundled multilingual Whisper base (production uses eSpeak's boundaries directly;
this measures the Whisper path a voice without boundaries takes).

Prints one JSON object.  Targets: script-spelled WER 0 %, median start error <= 80 ms.
Needs the ``onnx`` package (``pip install -e '.[bench]'``) for Piper's alignments.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.script_writer import OfflineWriter  # noqa: E402
from activities.tts import assemble, words_path  # noqa: E402
from activities.tts_espeak import EspeakTTS  # noqa: E402
from activities.tts_piper import resolve_piper_voice  # noqa: E402
from gpu_activities.align import align_to_script, norm, script_words, word_error_rate  # noqa: E402
from gpu_activities.captions import normalise_words  # noqa: E402
from gpu_activities.transcribe import transcribe_words  # noqa: E402
from knowledge.feedback import Directives  # noqa: E402
from niches.config import load_niche  # noqa: E402
from niches.notes import read_notes  # noqa: E402
from tubeflow.render_plan import NarrationTiming  # noqa: E402
from tubeflow.script_schema import narration_text  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402

PUNCT_PHONEMES = set(".,;:!?¡¿—–-…\"'()")


def demo_script(settings: Settings, niche_name: str, topic: str) -> dict[str, Any]:
    niche = load_niche(niche_name, settings)
    want = {norm(w) for w in topic.split()}
    note = max(read_notes(niche.notes_dir), key=lambda n: len(want & {norm(w) for w in n.title.split()}))
    facts = [{"claim": f.claim, "source": f.source, "origin": "notes"} for f in note.facts]
    return OfflineWriter().compose(topic, niche, facts, Directives(), {})


STRESS = {"ˈ", "ˌ", "ː"}


def _symbols(phonemes: list[str]) -> list[str]:
    return [p for p in phonemes if p not in STRESS and p not in PUNCT_PHONEMES and p.strip()]


def word_starts(voice: Any, text: str, timeline: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Each text word's start, found by matching its own phonemes inside the spoken phoneme stream.

    espeak joins words when it speaks them ("in the" -> one phoneme word), so words are located by
    a symbol-level sequence match between the words phonemised one by one and what was spoken.
    Words none of whose symbols match are left out.
    """
    from difflib import SequenceMatcher

    words = [w for w in text.split() if norm(w)]
    iso: list[str] = []
    first: list[int] = []
    for w in words:
        first.append(len(iso))
        iso += _symbols([p for sentence in voice.phonemize(w) for p in sentence])
    first.append(len(iso))
    spoken = [sym for sym, _ in timeline]
    mapping: dict[int, int] = {}
    for block in SequenceMatcher(None, iso, spoken, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k
    out = []
    for n, w in enumerate(words):
        hit = next((k for k in range(first[n], first[n + 1]) if k in mapping), None)
        if hit is None:
            continue
        # Back off from the first matched symbol by the unmatched ones before it in this word.
        idx = mapping[hit] - (hit - first[n])
        out.append((w, timeline[max(0, idx)][1]))
    return out


def speak_with_boundaries(
    settings: Settings, parts: list[str], out_wav: Path
) -> tuple[NarrationTiming, list[dict[str, Any]], int]:
    """Piper speech plus the start of every word from the voice's own phoneme alignments."""
    from piper import PiperVoice

    model = resolve_piper_voice(settings, None)
    voice = PiperVoice.load(model, config_path=Path(f"{model}.json"), include_alignments=True)
    rate = voice.config.sample_rate
    pcm_parts: list[bytes] = []
    timelines: list[list[tuple[str, float]]] = []
    for text in parts:
        pcm = b""
        timeline: list[tuple[str, float]] = []
        offset = 0
        for chunk in voice.synthesize(text, include_alignments=True):
            if chunk.phoneme_alignments is None:
                raise SystemExit("Piper gave no phoneme alignments; install onnx (pip install -e '.[bench]')")
            pos = offset
            for al in chunk.phoneme_alignments:
                for sym in _symbols([al.phoneme]) if al.phoneme not in ("^", "$", "_") else []:
                    timeline.append((sym, pos / rate))
                pos += al.num_samples
            pcm += chunk.audio_int16_bytes
            offset += len(chunk.audio_int16_bytes) // 2
        pcm_parts.append(pcm)
        timelines.append(timeline)
    timing = assemble(parts, pcm_parts, rate, out_wav)
    reference: list[dict[str, Any]] = []
    for part, timeline in zip(timing.parts, timelines, strict=True):
        for w, s in word_starts(voice, part.text, timeline):
            reference.append({"word": w, "start": round(part.start + s, 3), "part": part.index})
    return timing, reference, len(reference)


def caption_words(words: list[dict[str, Any]]) -> list[str]:
    """The words exactly as the ASS file will show them (after the caption builder's cleaning)."""
    return [w["word"] for w in normalise_words(words)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="Why is the sky blue?")
    ap.add_argument("--niche", default="science")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(force_cpu=True, home=Path(tmp))
        niche = load_niche(args.niche, settings)
        script = demo_script(settings, args.niche, args.topic)
        parts = narration_text(script)
        truth = script_words(script)
        wav = Path(tmp) / "voice.wav"
        if niche.language.split("-")[0] == "en":
            timing, reference, kept = speak_with_boundaries(settings, parts, wav)
            voice = "piper (phoneme alignments)"
        else:  # eSpeak NG reports where each word starts: that is the reference
            timing = EspeakTTS(niche.language).synthesize(parts, wav)
            reference = json.loads(words_path(wav).read_text(encoding="utf-8"))
            kept, voice = len(reference), "espeak (word events)"
        t0 = time.monotonic()
        heard = transcribe_words(wav, niche.language, settings, timing=timing).words
        whisper_s = time.monotonic() - t0
        t0 = time.monotonic()
        aligned, stats = align_to_script(script, heard, timing, timing.duration_s)
        align_s = time.monotonic() - t0

    # Timing error: each reference word against the caption word at the same script position.
    errors_ms: list[float] = []
    pos = 0
    for p in timing.parts:
        mine = [w for w in aligned[pos : pos + len(p.text.split())] if norm(w["word"])]
        pos += len(p.text.split())
        refs = [r for r in reference if r["part"] == p.index]
        cursor = 0
        for r in refs:
            while cursor < len(mine) and mine[cursor]["word"] != r["word"]:
                cursor += 1
            if cursor < len(mine):
                errors_ms.append(abs(mine[cursor]["start"] - r["start"]) * 1000)
                cursor += 1
    ref_by_part: dict[int, list[dict[str, Any]]] = {}
    for r in reference:
        ref_by_part.setdefault(r["part"], []).append(r)
    # Whisper's own words, timed against the reference where they pair with a script word.
    raw_errors: list[float] = []
    from gpu_activities.align import align_pairs

    flat_ref = [r for idx in sorted(ref_by_part) for r in ref_by_part[idx]]
    for i, j in align_pairs([r["word"] for r in flat_ref], [h["word"] for h in heard]):
        raw_errors.append(abs(float(heard[j]["start"]) - flat_ref[i]["start"]) * 1000)

    result = {
        "bench": "captions",
        "topic": args.topic,
        "niche": args.niche,
        "script_words": len(truth),
        "audio_s": timing.duration_s,
        "language": niche.language,
        "voice_and_timing_reference": voice,
        "whisper_model": "tiny.en (bundled)" if niche.language.startswith("en") else "base multilingual (bundled)",
        "wer_whisper_words_vs_script": round(word_error_rate(truth, caption_words(heard)), 4),
        "wer_script_spelled_vs_script": round(word_error_rate(truth, caption_words(aligned)), 4),
        "wer_whisper_words_normalised": round(
            word_error_rate([norm(w) for w in truth], [norm(w) for w in caption_words(heard) if norm(w)]), 4
        ),
        "anchored_words": stats.anchored,
        "timing_reference_words": kept,
        "timing_error_ms_median": round(statistics.median(errors_ms), 1) if errors_ms else None,
        "timing_error_ms_p90": round(sorted(errors_ms)[int(0.9 * (len(errors_ms) - 1))], 1) if errors_ms else None,
        "timing_error_ms_max": round(max(errors_ms), 1) if errors_ms else None,
        "whisper_own_timing_error_ms_median": round(statistics.median(raw_errors), 1) if raw_errors else None,
        "whisper_s": round(whisper_s, 2),
        "align_ms": round(align_s * 1000, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "targets": {"wer_script_spelled": 0.0, "timing_error_ms_median_max": 80},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
