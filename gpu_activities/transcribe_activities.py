"""Transcription of the narration on the GPU queue (Whisper, words aligned to the script)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from gpu_activities.adapter_base import Beat, GpuAdapter, run_with_heartbeat
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    TranscribeRequest,
    TranscribeResult,
)
from tubeflow.keys import ProductionKeys, spoken_words_for, timing_for_voice
from tubeflow.render_plan import NarrationTiming


class TranscribeActivities(GpuAdapter):
    @implements(act.TRANSCRIBE)
    @permanent_errors
    async def transcribe(self, req: TranscribeRequest) -> TranscribeResult:
        from gpu_activities.align import align_to_script
        from gpu_activities.transcribe import align_script_words, estimate_timing, transcribe_words
        from tubeflow.media.probe import probe

        t0 = time.monotonic()
        key = ProductionKeys(req.production_id).words()

        def work(cancel: threading.Event, beat: Beat) -> tuple[list[dict[str, Any]], str, float]:
            audio = self.storage.fetch(req.audio_key)
            if req.timing_key:
                timing: NarrationTiming | None = NarrationTiming.from_json(self.storage.get_text(req.timing_key))
            else:
                timing = self._timing_for(req.audio_key)
            script = json.loads(self.storage.get_text(req.script_key)) if req.script_key else None
            spoken_key = spoken_words_for(req.audio_key)
            if script is not None and self.storage.exists(spoken_key):
                # The voice engine said when each word was spoken (Azure, eSpeak): exact, and no Whisper run.
                spoken = json.loads(self.storage.get_text(spoken_key))
                words, stats = align_to_script(script, spoken, timing)
                device, rtf = f"tts word boundaries ({stats.anchored}/{stats.script_words} anchored)", 0.0
            else:
                result = transcribe_words(audio, req.language, self.settings, timing=timing)
                words, device, rtf = result.words, result.device, result.realtime_factor
                if script is not None and words:
                    # Whisper gives the timing only; the captions say what the script says.
                    words, stats = align_to_script(script, words, timing, probe(audio).duration_s)
                    device = f"{device} (script spelling, {stats.anchored}/{stats.script_words} words anchored)"
                elif script is not None:
                    timing = timing or estimate_timing(script, probe(audio).duration_s)
                    words = align_script_words(timing, script)
                    device = f"{device} (script alignment: Whisper heard no words)"
            self.storage.put_text(key, json.dumps(words), "application/json")
            return words, device, rtf

        words, device, rtf = await run_with_heartbeat(work)
        used = time.monotonic() - t0
        return TranscribeResult(
            words_key=key,
            word_count=len(words),
            device=device,
            realtime_factor=rtf,
            gpu_seconds=round(used, 2),
            cost_usd=self._cost(used),
        )

    def _timing_for(self, audio_key: str) -> NarrationTiming | None:
        """TTS stores voice-vN.wav next to timing-vN.json; use it when it is there."""
        key = timing_for_voice(audio_key)
        if key is None or not self.storage.exists(key):
            return None
        return NarrationTiming.from_json(self.storage.get_text(key))
