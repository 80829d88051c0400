"""Azure Speech neural voices (paid: billed per character sent; the channel lexicon goes into SSML)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from activities.lexicon import Pronunciation, to_ssml
from activities.tts import (
    Delivery,
    PartDone,
    TTSProvider,
    WordBoundary,
    assemble,
    check_parts,
    delivery_from_feedback,
    words_path,
)
from niches.config import NicheConfig
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings

log = logging.getLogger(__name__)

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
        self.lexicon: dict[str, Pronunciation] = {}  # the channel's (use_lexicon): <phoneme>/<sub> in SSML
        self.price_per_mchar: float | None = settings.azure_tts_price_per_mchar

    def use_lexicon(self, parts: list[str], lexicon: Mapping[str, Pronunciation]) -> list[str]:
        self.lexicon = dict(lexicon)
        return parts

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

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        import azure.cognitiveservices.speech as speechsdk

        parts = check_parts(parts)
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
            if on_part is not None:
                on_part(i)
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


class AzureEngine:
    name = "azure"
    fallback = ""

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        return f"azure {niche.azure_voice}" if niche is not None and niche.azure_voice else ""

    def build(self, settings: Settings, niche: NicheConfig | None) -> TTSProvider:
        return AzureTTS(settings, niche)


ENGINE = AzureEngine()
