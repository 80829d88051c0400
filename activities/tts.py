"""Narration: script parts in, one mono WAV and its part timing out.

Every provider synthesises part by part (hook, then each section) so the timing of each part on
the joined timeline is exact rather than guessed from text, and joins them with a short pause so
the render can cut b-roll on part boundaries.  Word boundaries, when a provider has them (Azure,
eSpeak NG), go to a sidecar JSON next to the WAV (:func:`words_path`) because
:class:`NarrationTiming` is a shared contract without a words field.

This module is what every engine shares (the provider protocol, assembly, delivery from
feedback); the engines are one module each (``tts_piper``, ``tts_espeak``, ``tts_azure``) and
``tts_engines`` is their registry: the one place that chooses an engine for a niche.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from activities.lexicon import Pronunciation, respell
from niches.config import NicheConfig
from tubeflow.errors import MediaError, PermanentError
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.script_schema import narration_text
from tubeflow.settings import Settings

PAUSE_S = 0.35  # silence between parts: a breath, and a clean cut point for the render
SAMPLE_WIDTH = 2  # 16-bit PCM everywhere


@dataclass
class WordBoundary:
    word: str
    start: float  # seconds on the joined timeline
    end: float
    part: int


@dataclass(frozen=True)
class Delivery:
    """How reviewer feedback on the audio changes the next take (speed and pauses)."""

    length_scale: float = 1.0  # > 1 is slower
    pause_s: float = PAUSE_S


_SLOWER = re.compile(r"\b(slow(er)?|too fast|calm(er)?|rushed)\b", re.I)
_FASTER = re.compile(r"\b(fast(er)?|too slow|speed up|quick(er)?|drag(s|ging)?)\b", re.I)
_PAUSES = re.compile(r"\b(pauses?|breath(e|s)?|breaks?)\b", re.I)


def delivery_from_feedback(feedback: Sequence[str]) -> Delivery:
    """Simple, visible reactions to the words reviewers actually use; the latest note wins on speed."""
    scale = 1.0
    pause = PAUSE_S
    for note in feedback:
        if _SLOWER.search(note):
            scale = 1.15
        elif _FASTER.search(note):
            scale = 0.88
        if _PAUSES.search(note):
            pause = 0.7
    return Delivery(length_scale=scale, pause_s=pause)


PartDone = Callable[[int], None]  # told the index of each narration part once it is voiced


class TTSProvider(Protocol):
    """A voice ready to speak one niche.  Its capabilities are what the voice activity asks, so a
    new engine needs no branch there."""

    name: str
    # What a million characters sent cost (a paid service bills the text); None: the engine runs
    # on the worker and nothing is billed.
    price_per_mchar: float | None

    def use_lexicon(self, parts: list[str], lexicon: Mapping[str, Pronunciation]) -> list[str]:
        """The parts to send, with the channel's pronunciations applied: respelt into the text, or
        kept by the engine for its own markup (Azure's SSML), the text unchanged."""
        ...

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        """Write ``out_wav`` (mono 16-bit) and return one PartTiming per part on its timeline;
        ``on_part(i)`` is called as part ``i`` has been voiced (the stage's live progress)."""
        ...


class TTSEngine(Protocol):
    """One entry of the registry (``activities.tts_engines``): can it speak a niche, and the voice."""

    name: str  # the TUBEFLOW_TTS value choosing it
    fallback: str  # the engine asked next when this one has no voice for the niche's language ("": none)

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        """Which of its voices would speak the niche ("piper", "espeak (pt-br)", "azure <voice>"), "" when none."""
        ...

    def build(self, settings: Settings, niche: NicheConfig | None) -> TTSProvider:
        """The voice for the niche; ConfigError saying what to configure when it cannot."""
        ...


class WorkerVoice:
    """What the engines running on the worker share: nothing billed, the lexicon respelt into the text."""

    price_per_mchar: float | None = None

    def use_lexicon(self, parts: list[str], lexicon: Mapping[str, Pronunciation]) -> list[str]:
        lex = dict(lexicon)
        return [respell(p, lex) for p in parts]


def is_english(language: str) -> bool:
    return (language or "en").split("-")[0].lower() == "en"


def script_to_parts(script: dict[str, Any]) -> list[str]:
    return narration_text(script)


def words_path(out_wav: Path) -> Path:
    """Where a provider that knows word boundaries writes them: ``voice.wav`` -> ``voice.words.json``."""
    return out_wav.with_name(out_wav.stem + ".words.json")


SILENCE_PEAK = 200  # of 32767: below this the "narration" is hiss at most (-44 dBFS); speech peaks far above


def silence_of(wav: Path) -> str:
    """Why ``wav`` cannot be narration ("" when it can): missing, empty, or silent throughout."""
    import array

    if not wav.is_file():
        return "wrote no audio file"
    try:
        with wave.open(str(wav), "rb") as w:
            width, frames = w.getsampwidth(), w.getnframes()
            data = w.readframes(frames)
    except (wave.Error, EOFError) as e:
        return f"wrote an unreadable WAV ({e})"
    if frames == 0 or not data:
        return "produced empty audio"
    if width != SAMPLE_WIDTH:
        return ""  # not ours to judge; the render probes it
    samples = array.array("h", data[: len(data) // 2 * 2])
    peak = max(max(samples), -min(samples)) if samples else 0
    return "" if peak >= SILENCE_PEAK else f"produced silence ({frames / max(w.getframerate(), 1):.1f} s, peak {peak})"


def check_parts(parts: list[str]) -> list[str]:
    if not parts:
        raise PermanentError("nothing to narrate: the script has no hook and no sections")
    cleaned = [p.strip() for p in parts]
    empty = [i for i, p in enumerate(cleaned) if not p]
    if empty:
        raise PermanentError(f"narration part(s) {empty} are empty; every section needs narration text")
    return cleaned


def assemble(
    parts: list[str], pcm_parts: list[bytes], sample_rate: int, out_wav: Path, pause_s: float = PAUSE_S
) -> NarrationTiming:
    """Join per-part 16-bit mono PCM with pauses into ``out_wav`` and return the exact timing."""
    gap = b"\x00" * (int(round(pause_s * sample_rate)) * SAMPLE_WIDTH)
    timings: list[PartTiming] = []
    offset = 0  # in samples
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(sample_rate)
        for i, (text, pcm) in enumerate(zip(parts, pcm_parts, strict=True)):
            if i:
                w.writeframes(gap)
                offset += len(gap) // SAMPLE_WIDTH
            n = len(pcm) // SAMPLE_WIDTH
            if n == 0:
                raise MediaError(f"narration part {i} produced no audio: {text[:60]!r}")
            w.writeframes(pcm)
            timings.append(
                PartTiming(
                    index=i,
                    kind="hook" if i == 0 else "section",
                    start=round(offset / sample_rate, 3),
                    end=round((offset + n) / sample_rate, 3),
                    text=text,
                    section=None if i == 0 else i - 1,
                )
            )
            offset += n
    return NarrationTiming(duration_s=round(offset / sample_rate, 3), sample_rate=sample_rate, parts=timings)
