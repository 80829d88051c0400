"""The voice engines, and the one place that chooses one for a niche.

``TUBEFLOW_TTS`` names an engine; when it has no voice for the niche's language it hands over to
its ``fallback`` (Piper's bundled voice speaks English, so Piper falls back to eSpeak NG).  The
voice activity builds what :func:`make_tts` returns, and ``service.languages`` asks
:func:`voice_for` whether a channel can be spoken at all.  A new engine is one module with an
``ENGINE`` (:class:`~activities.tts.TTSEngine`) and one line below.

The voice stage speaks through :func:`speak`: a chain of engines (the channel's ``voice_chain``,
else ``TUBEFLOW_TTS`` and its fallbacks, then Piper and eSpeak NG), each tried until one
produces audio that is not silent, so a missing voice model or an unreachable service costs the
production its preferred voice, never the production; the timing records which voice spoke and
why the ones before it did not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from activities import tts_azure, tts_espeak, tts_piper
from activities.choices import one_of
from activities.lexicon import Pronunciation
from activities.tts import TTSEngine, TTSProvider, silence_of
from niches.config import NicheConfig
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings

log = logging.getLogger("tubeflow.tts")

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


# ---------------------------------------------------------------- the voice chain

OFFLINE_CHAIN = ("piper", "espeak")  # what every default chain ends with: voices that run on the worker


def chain_for(settings: Settings, wanted: Sequence[str] = ()) -> list[str]:
    """The engines to try, in order: the channel's ``voice_chain`` when it set one, else the
    ``TUBEFLOW_TTS`` engine (Azure first when it is the one configured) and its fallbacks, then
    the offline voices.  Names the registry does not know are kept: they fail when tried, with
    the list of engines in the note, and the chain goes on."""
    if wanted:
        return list(dict.fromkeys(wanted))
    names: list[str] = []
    engine = ENGINES.get(settings.tts)
    while engine is not None and engine.name not in names:
        names.append(engine.name)
        engine = ENGINES.get(engine.fallback) if engine.fallback else None
    return list(dict.fromkeys([*names, *OFFLINE_CHAIN]))


@dataclass
class Spoken:
    """What the chain produced: the voice that spoke, the parts it was sent, the timing, and why
    the voices before it did not (empty when the first one spoke)."""

    provider: TTSProvider
    voice: str  # "piper", "espeak (pt-br)", "azure en-US-..."
    spoken_parts: list[str]
    timing: NarrationTiming
    notes: list[str] = field(default_factory=list)


class VoiceChainFailed(PermanentError):
    """Every voice of the channel's chain failed: nothing a retry of the same input would change."""


def speak(
    settings: Settings,
    niche: NicheConfig | None,
    parts: list[str],
    lexicon: Mapping[str, Pronunciation],
    out_wav: Path,
    feedback: Sequence[str] = (),
    chain: Sequence[str] = (),
    on_part: Callable[[int], None] | None = None,
) -> Spoken:
    """Narrate ``parts`` with the first voice of the chain that works (``on_part(i)`` as each part is voiced).

    A voice fails when it has none for the niche's language, cannot be built (a missing voice
    model, a missing key), raises while speaking, or returns silence; the next voice is then
    asked, and the note says why.  Only when all have failed does this raise
    :class:`VoiceChainFailed` (a permanent error: the production needs a voice configured).
    """
    notes: list[str] = []
    names = chain_for(settings, chain)
    for name in names:
        engine = ENGINES.get(name)
        if engine is None:
            notes.append(f"{name}: not a voice engine here (engines: {one_of(ENGINES)})")
            continue
        voice = engine.voice_for(settings, niche)
        if not voice:
            language = niche.language if niche is not None else "en"
            notes.append(f"{name}: has no voice for language {language!r}")
            continue
        try:
            provider = engine.build(settings, niche)
            spoken_parts = provider.use_lexicon(parts, lexicon)
            timing = provider.synthesize(spoken_parts, out_wav, feedback, on_part)
            silent = silence_of(out_wav)
        except PermanentError as e:
            if isinstance(e, VoiceChainFailed):
                raise
            notes.append(f"{voice}: {e}")
            continue
        except Exception as e:  # a voice failing for any reason must not stop the production
            log.warning("voice %s failed: %s: %s", voice, type(e).__name__, e)
            notes.append(f"{voice}: failed ({type(e).__name__}: {e})")
            continue
        if silent:
            notes.append(f"{voice}: {silent}")
            continue
        if notes:
            log.warning("narration fell back to %s: %s", voice, "; ".join(notes))
        timing.voice, timing.voice_notes = voice, list(notes)
        return Spoken(provider, voice, spoken_parts, timing, notes)
    raise VoiceChainFailed(
        f"no voice could narrate this script; tried {', '.join(names) or 'nothing'}: {'; '.join(notes)}. "
        "Fix one of them (TUBEFLOW_TTS, the channel's voice or voice_chain) and retry the stage"
    )
