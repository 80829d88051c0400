"""GPU-path check for the device machine: the NVENC probe's answer and faster-whisper speed.

Prints one JSON object.  Run on a machine with an NVIDIA GPU:
    python bench/gpu_check.py narration.wav timing.json [runs]
(a TTS narration and its timing document, as the pipeline stores them).  The H100/H200 lent here
have no NVENC engine, so the expected NVENC answer there is a clean fallback to libx264 with the
reason.  Whisper is timed three ways: the production GPU path (narration parts decoded as one
batch), the GPU one window at a time, and the CPU path.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpu_activities import transcribe  # noqa: E402
from tubeflow.media.encoders import nvenc_status, select_encoder  # noqa: E402
from tubeflow.media.probe import probe  # noqa: E402
from tubeflow.render_plan import NarrationTiming  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402


def measure(
    audio: Path, timing: NarrationTiming, settings: Settings, runs: int, batched: bool | None
) -> dict[str, Any]:
    t0 = time.monotonic()
    transcribe.load_model(settings)
    load_s = time.monotonic() - t0
    rtfs, words = [], 0
    for _ in range(runs):
        res = transcribe.transcribe_words(audio, "en", settings, timing=timing, batched=batched)
        rtfs.append(res.realtime_factor)
        words = len(res.words)
    device, compute = transcribe.pick_device(settings)
    return {
        "device": device,
        "compute_type": compute,
        "batched": batched,
        "model_load_s": round(load_s, 2),
        "realtime_factor_runs": rtfs,
        "realtime_factor_median_after_first": statistics.median(rtfs[1:] or rtfs),
        "words": words,
    }


def main() -> None:
    audio, timing_path = Path(sys.argv[1]), Path(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    timing = NarrationTiming.from_json(timing_path.read_text())
    gpu, cpu = Settings(force_cpu=False), Settings(force_cpu=True)
    nv = nvenc_status()
    out: dict[str, object] = {
        "audio_s": round(probe(audio).duration_s, 1),
        "script_parts": len(timing.parts),
        "nvenc": {"ok": nv.ok, "reason": nv.reason},
        "encoder_chosen": asdict(select_encoder(gpu)),
        "cuda_visible_to_ctranslate2": transcribe.cuda_available(),
    }
    out["whisper_gpu_batched_parts"] = measure(audio, timing, gpu, runs, None)
    out["whisper_gpu_sequential"] = measure(audio, timing, gpu, runs, False)
    out["whisper_cpu"] = measure(audio, timing, cpu, runs, None)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
