"""eSpeak NG through ctypes: the offline voice for channels whose language has no bundled neural voice.

The only Portuguese (and Spanish, French, German, ...) voice that installs from PyPI with nothing
downloaded at run time is eSpeak NG's formant synthesiser (``espeakng-loader`` ships the library and
its language data).  It sounds synthetic, but it speaks the channel's language with the right
pronunciation, which the English Piper voice cannot.  It also reports where every word starts, so
captions get exact timing without Whisper.  For a natural voice configure Azure (README).

libespeak-ng keeps global state, so one lock serialises synthesis within a process.  The provider
class (:class:`activities.tts_espeak.EspeakTTS`) builds the narration from what :func:`speak` returns.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tubeflow.errors import ConfigError, MediaError

Starts = list[tuple[str, float]]

AUDIO_OUTPUT_SYNCHRONOUS = 2
EVENT_LIST_TERMINATED, EVENT_WORD = 0, 1
RATE_PARAMETER = 1
CHARS_UTF8 = 1
WORDS_PER_MINUTE = 160  # eSpeak's default 175 is hurried for narration


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of this synthesis
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _engine() -> tuple[Any, int]:
    """(library, sample rate), initialised once per process."""
    if "lib" not in _STATE:
        try:
            import espeakng_loader  # type: ignore[import-untyped]  # espeakng-loader ships no type information
        except ImportError as e:
            raise ConfigError("the eSpeak NG voice needs the espeakng-loader package (pip install -e .)") from e
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise ConfigError(f"eSpeak NG failed to start (code {rate}); reinstall espeakng-loader")
        _STATE["lib"], _STATE["rate"] = lib, rate
        _STATE["pcm"], _STATE["events"] = [], []

        def on_audio(wav: Any, n: int, events: Any) -> int:
            if n > 0:
                _STATE["pcm"].append(ctypes.string_at(wav, n * 2))
            i = 0
            while events[i].type != EVENT_LIST_TERMINATED:
                e = events[i]
                if e.type == EVENT_WORD:
                    _STATE["events"].append((e.text_position, e.length, e.audio_position))
                i += 1
            return 0

        _STATE["callback"] = _CALLBACK(on_audio)  # kept referenced: the library calls it later
        lib.espeak_SetSynthCallback(_STATE["callback"])
    return _STATE["lib"], int(_STATE["rate"])


def espeak_language(language: str) -> str:
    """eSpeak's name for a channel language: 'pt' speaks Brazilian Portuguese (the niche's audience)."""
    lang = (language or "en").lower().replace("_", "-")
    return {"pt": "pt-br", "en": "en-us", "zh": "cmn"}.get(lang, lang)


def has_voice(language: str) -> bool:
    """True when eSpeak NG has a voice for ``language`` (checked on the installed data, no synthesis)."""
    try:
        import espeakng_loader
    except ImportError:
        return False
    lang = espeak_language(language)
    base = lang.split("-")[0]
    langs = Path(espeakng_loader.get_data_path()) / "lang"
    names = {p.name.lower() for p in langs.rglob("*") if p.is_file()}
    return lang in names or base in names


def _speak(lib: Any, text: str) -> tuple[bytes, list[tuple[int, int, int]]]:
    _STATE["pcm"], _STATE["events"] = [], []
    data = text.encode("utf-8")
    code = lib.espeak_Synth(ctypes.c_char_p(data), len(data) + 1, 0, 0, 0, CHARS_UTF8, None, None)
    if code != 0:
        raise MediaError(f"eSpeak NG could not speak {text[:60]!r} (code {code})")
    return b"".join(_STATE["pcm"]), list(_STATE["events"])


def _word_starts(text: str, events: Sequence[tuple[int, int, int]]) -> list[tuple[str, float]]:
    """(word as written, start seconds) per whitespace word; numbers said as several words keep the first."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for word in text.split():
        at = text.index(word, pos)
        spans.append((at, at + len(word), word))
        pos = at + len(word)
    out: list[tuple[str, float]] = []
    k = 0
    for text_pos, _length, ms in events:
        char = text_pos - 1
        while k < len(spans) and spans[k][1] <= char:
            k += 1
        if k < len(spans) and spans[k][0] <= char:
            out.append((spans[k][2], ms / 1000))
            k += 1
    return out


def speak(
    language: str, parts: Sequence[str], length_scale: float = 1.0, on_part: Callable[[int], None] | None = None
) -> tuple[int, list[bytes], list[Starts]]:
    """(sample rate, 16-bit mono PCM per part, (word, start s) per part) in ``language``; ``on_part(i)``
    once part ``i`` is spoken."""
    lang = espeak_language(language)
    pcm_parts: list[bytes] = []
    starts: list[Starts] = []
    with _LOCK:
        lib, rate = _engine()
        voice = _Voice(languages=lang.encode())
        if lib.espeak_SetVoiceByProperties(ctypes.byref(voice)) != 0:
            raise ConfigError(f"eSpeak NG could not select a {lang!r} voice")
        lib.espeak_SetParameter(RATE_PARAMETER, round(WORDS_PER_MINUTE / length_scale), 0)
        for i, text in enumerate(parts):
            pcm, events = _speak(lib, text)
            pcm_parts.append(pcm)
            starts.append(_word_starts(text, events))
            if on_part is not None:
                on_part(i)
    return rate, pcm_parts, starts
