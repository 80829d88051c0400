"""eSpeak NG (offline, the languages Piper has no bundled voice for), through activities.espeak_tts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from activities.tts import (
    PartDone,
    TTSProvider,
    WordBoundary,
    WorkerVoice,
    assemble,
    check_parts,
    delivery_from_feedback,
    words_path,
)
from niches.config import NicheConfig
from tubeflow.errors import ConfigError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings


class EspeakTTS(WorkerVoice):
    """eSpeak NG in the niche's language, with the word boundaries it reports (see activities.espeak_tts)."""

    name = "espeak"

    def __init__(self, language: str) -> None:
        from activities.espeak_tts import espeak_language, has_voice

        if not has_voice(language):
            raise ConfigError(
                f"eSpeak NG has no voice for language {language!r}; configure Azure Speech "
                "(TUBEFLOW_TTS=azure and the niche's azure_voice)"
            )
        self.language = espeak_language(language)

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        from activities.espeak_tts import speak

        parts = check_parts(parts)
        delivery = delivery_from_feedback(feedback)
        rate, pcm_parts, starts = speak(self.language, parts, delivery.length_scale, on_part)
        timing = assemble(parts, pcm_parts, rate, out_wav, delivery.pause_s)
        boundaries: list[WordBoundary] = []
        for part, words in zip(timing.parts, starts, strict=True):
            for n, (word, s) in enumerate(words):
                end = words[n + 1][1] if n + 1 < len(words) else part.end - part.start
                boundaries.append(WordBoundary(word, round(part.start + s, 3), round(part.start + end, 3), part.index))
        words_path(out_wav).write_text(json.dumps([asdict(b) for b in boundaries], indent=1), encoding="utf-8")
        return timing


class EspeakEngine:
    name = "espeak"
    fallback = ""

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        from activities.espeak_tts import espeak_language, has_voice

        language = niche.language if niche is not None else "en"
        return f"espeak ({espeak_language(language)})" if has_voice(language) else ""

    def build(self, settings: Settings, niche: NicheConfig | None) -> TTSProvider:
        return EspeakTTS(niche.language if niche is not None else "en")


ENGINE = EspeakEngine()
