"""The voice engines, and the one place that chooses one for a niche.

``TUBEFLOW_TTS`` names an engine; when it has no voice for the niche's language it hands over to
its ``fallback`` (Piper's bundled voice speaks English, so Piper falls back to eSpeak NG).  The
voice activity builds what :func:`make_tts` returns, and ``service.languages`` asks
:func:`voice_for` whether a channel can be spoken at all.  A new engine is one module with an
``ENGINE`` (:class:`~activities.tts.TTSEngine`) and one line below.
"""

from __future__ import annotations

from activities import tts_azure, tts_espeak, tts_piper
from activities.choices import one_of
from activities.tts import TTSEngine, TTSProvider
from niches.config import NicheConfig
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

ENGINES: dict[str, TTSEngine] = {
    e.name: e
    for e in (
        tts_piper.ENGINE,
        tts_espeak.ENGINE,
        tts_azure.ENGINE,
    )
}


def engine_for(settings: Settings, niche: NicheConfig | None) -> TTSEngine:
    engine = ENGINES.get(settings.tts)
    if engine is None:
        raise ConfigError(f"TUBEFLOW_TTS must be {one_of(ENGINES)}, not {settings.tts!r}")
    while engine.fallback and not engine.voice_for(settings, niche):
        engine = ENGINES[engine.fallback]
    return engine


def make_tts(settings: Settings, niche: NicheConfig | None = None) -> TTSProvider:
    return engine_for(settings, niche).build(settings, niche)


def voice_for(settings: Settings, niche: NicheConfig | None) -> str:
    """Which voice would speak the niche here ("" when none can, or TUBEFLOW_TTS names no engine)."""
    try:
        engine = engine_for(settings, niche)
    except ConfigError:
        return ""
    return engine.voice_for(settings, niche)
