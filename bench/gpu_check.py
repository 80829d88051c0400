"""GPU-path check for the device machine: NVENC probe result and faster-whisper speed on CUDA vs CPU.

Prints one JSON object.  Run on a machine with an NVIDIA GPU:
    python bench/gpu_check.py path/to/speech.wav
The H100/H200 lent here have no NVENC engine, so the expected NVENC answer there is a clean
fallback to libx264 with the reason.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpu_activities import transcribe  # noqa: E402
from tubeflow.media.encoders import nvenc_status, select_encoder  # noqa: E402
from tubeflow.media.probe import probe  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402


def measure(audio: Path, settings: Settings, runs: int) -> dict[str, object]:
    t0 = time.monotonic()
    transcribe.load_model(settings)
    load_s = time.monotonic() - t0
    rtfs, words = [], 0
    for _ in range(runs):
        res = transcribe.transcribe_words(audio, "en", settings)
        rtfs.append(res.realtime_factor)
        words = len(res.words)
    return {
        "device": transcribe.pick_device(settings)[0],
        "compute_type": transcribe.pick_device(settings)[1],
        "model_load_s": round(load_s, 2),
        "realtime_factor_runs": rtfs,
        "realtime_factor_median": statistics.median(rtfs),
        "words": words,
    }


def main() -> None:
    audio = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    gpu_settings = Settings(force_cpu=False)
    nv = nvenc_status()
    out: dict[str, object] = {
        "audio_s": round(probe(audio).duration_s, 2),
        "nvenc": {"ok": nv.ok, "reason": nv.reason},
        "encoder_chosen": asdict(select_encoder(gpu_settings)),
        "cuda_visible_to_ctranslate2": transcribe.cuda_available(),
    }
    out["whisper_gpu"] = measure(audio, gpu_settings, runs)
    out["whisper_cpu"] = measure(audio, Settings(force_cpu=True), runs)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
