"""What the audio checkpoint shows beside the player: the transcript with each word's time, and
the channel's pronunciation lexicon as lines a reviewer can edit.

Word times come from the voice itself when the engine reports word boundaries (eSpeak NG, Azure:
``voice-vN.words.json``), paired with the script's spelling by the same alignment the captions use
(:func:`gpu_activities.align.align_to_script`), so the highlighted word is the word being said.
An engine without boundaries (Piper) leaves only the exact start and end of each part; inside a
part the words are then spread by length, and the page says they are estimated.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tubeflow.keys import spoken_words_for
from tubeflow.render_plan import NarrationTiming
from tubeflow.storage import Storage

log = logging.getLogger("tubeflow.api")

VOICE = "voice"  # word times the voice engine reported
ESTIMATED = "estimated"  # spread by word length inside the part's exact bounds


def _spread(start: float, end: float, words: list[str]) -> list[dict[str, Any]]:
    weights = [len(w) + 1 for w in words]
    total = sum(weights) or 1
    at, timed = start, []
    for w, weight in zip(words, weights, strict=True):
        span = (end - start) * weight / total
        timed.append({"w": w, "start": round(at, 2), "end": round(at + span, 2)})
        at += span
    return timed


def _voice_words(
    storage: Storage, audio_key: str, script_key: str, timing: NarrationTiming
) -> list[list[dict[str, Any]]]:
    """Per part (in timing order) the script's words timed by the voice's boundaries; [] without them."""
    from gpu_activities.align import align_to_script

    spoken_key = spoken_words_for(audio_key) if audio_key else ""
    if not spoken_key or not script_key or not storage.exists(spoken_key):
        return []
    spoken = json.loads(storage.get_text(spoken_key))
    script = json.loads(storage.get_text(script_key))
    aligned, _stats = align_to_script(script, spoken, timing)
    out: list[list[dict[str, Any]]] = []
    at = 0
    for p in sorted(timing.parts, key=lambda p: p.start):
        n = len(p.text.split())
        out.append([{"w": w["word"], "start": round(w["start"], 2), "end": round(w["end"], 2)}
                    for w in aligned[at : at + n]])  # fmt: skip
        at += n
    return out if at == len(aligned) else []  # a script that no longer matches the voice: estimate instead


def transcript(storage: Storage, timing_key: str, audio_key: str = "", script_key: str = "") -> list[dict[str, Any]]:
    """The narration's parts (label, exact start and end) with each word's time and how it was
    timed (``timed``: voice or estimated).  Empty when the timing cannot be read, so the page still
    shows the player."""
    try:
        timing = NarrationTiming.from_json(storage.get_text(timing_key))
    except Exception as e:  # the player alone is still a review
        log.warning("cannot read timing %s: %s", timing_key, e)
        return []
    try:
        voiced = _voice_words(storage, audio_key, script_key, timing)
    except Exception as e:  # unreadable boundaries: the estimate still lets a reviewer follow along
        log.warning("cannot read word boundaries of %s: %s", audio_key, e)
        voiced = []
    parts = []
    for n, p in enumerate(sorted(timing.parts, key=lambda p: p.start)):
        words = voiced[n] if voiced else _spread(p.start, p.end, p.text.split())
        label = "Hook" if p.kind == "hook" else f"Section {(p.section or 0) + 1}"
        parts.append({
            "label": label,
            "start": round(p.start, 2),
            "end": round(p.end, 2),
            "words": words,
            "timed": VOICE if voiced else ESTIMATED,
        })  # fmt: skip
    return parts


def lexicon_lines(storage: Storage, channel: str) -> str:
    """The channel's pronunciations as the ``word=RESPELLING`` / ``word=ipa:…`` lines the page edits."""
    from activities import lexicon

    try:
        entries = lexicon.load(storage, channel)
    except Exception as e:  # an unreadable lexicon must not hide the review
        log.warning("cannot read the lexicon of %s: %s", channel, e)
        return ""
    lines = []
    for p in entries.values():
        value = f"{p.alphabet}:{p.phoneme}" if p.phoneme else p.respelling
        lines.append(f"{p.word}={value}")
    return "\n".join(lines)
