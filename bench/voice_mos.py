"""Offline voices scored by an objective MOS predictor: prints ONE JSON object.

Every offline voice the project has (Piper "joe" through activities/tts.py, eSpeak NG in English
and in Brazilian Portuguese) reads the same 10 sentences; DNSMOS (Microsoft's P.835/P.808 speech
quality predictor, the ONNX models that ship inside the ``speechmos`` wheel: nothing downloads)
scores each clip.  DNSMOS was trained on noisy/enhanced speech, not on TTS, so read it as "how
clean and natural does this sound to a P.808 panel model", not as a TTS naturalness MOS.

``speechmos`` needs librosa, which the project does not install; the scoring half therefore runs
in a separate interpreter given by ``--scorer-python`` (a throwaway venv with speechmos, librosa
and onnxruntime), and the synthesis half in the project's venv:

    python3 -m venv /tmp/qvenv && /tmp/qvenv/bin/pip install speechmos librosa onnxruntime requests
    python bench/voice_mos.py --scorer-python /tmp/qvenv/bin/python > bench/results/voice_mos-2core.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES_EN = [
    "Why is the sky blue on a clear afternoon?",
    "Sunlight looks white, but it is a mix of every colour of the rainbow.",
    "On its way through the atmosphere, sunlight meets nitrogen and oxygen molecules.",
    "Short wavelengths are scattered far more strongly than long ones.",
    "That is why the sky glows blue, and sunsets turn orange and red.",
    "In 1871, Lord Rayleigh worked out the inverse fourth power law.",
    "Compound interest means you earn interest on your interest, year after year.",
    "Fifteen percent of three hundred and twenty is forty-eight.",
    "Next time someone asks, you will know the answer.",
    "Thanks for watching, and see you in the next video!",
]
SENTENCES_PT = [
    "Por que o céu é azul numa tarde de sol?",
    "A luz do sol parece branca, mas é uma mistura de todas as cores do arco-íris.",
    "No caminho pela atmosfera, a luz encontra moléculas de nitrogênio e oxigênio.",
    "Os comprimentos de onda curtos são espalhados muito mais do que os longos.",
    "É por isso que o céu brilha azul e o pôr do sol fica laranja e vermelho.",
    "Em 1871, Lord Rayleigh descobriu a lei da quarta potência inversa.",
    "Juros compostos são juros sobre juros, ano após ano.",
    "Quinze por cento de trezentos e vinte são quarenta e oito.",
    "Da próxima vez que alguém perguntar, você vai saber a resposta.",
    "Obrigado por assistir, e até o próximo vídeo!",
]


def synthesize(out: Path) -> list[dict[str, Any]]:
    """Every offline voice reads its language's sentences; returns what was written and how fast."""
    from activities.tts_espeak import EspeakTTS
    from activities.tts_piper import PiperTTS, resolve_piper_voice
    from tubeflow.settings import Settings

    settings = Settings.from_env()
    voices: list[tuple[str, str, Any, list[str]]] = [
        ("piper-joe", "en", PiperTTS(resolve_piper_voice(settings, None)), SENTENCES_EN),
        ("espeak-en", "en", EspeakTTS("en"), SENTENCES_EN),
        ("espeak-pt-br", "pt-BR", EspeakTTS("pt-BR"), SENTENCES_PT),
    ]
    clips = []
    for name, language, tts, sentences in voices:
        for i, text in enumerate(sentences):
            wav = out / f"{name}-{i:02d}.wav"
            t0 = time.perf_counter()
            timing = tts.synthesize([text], wav)
            clips.append(
                {
                    "voice": name,
                    "language": language,
                    "sentence": i,
                    "wav": str(wav),
                    "audio_s": round(timing.duration_s, 3),
                    "synth_s": round(time.perf_counter() - t0, 3),
                }
            )
    return clips


def score(paths: list[str]) -> list[dict[str, float]]:
    """DNSMOS of each WAV (runs in the scorer interpreter: needs speechmos and librosa)."""
    import librosa  # type: ignore[import-not-found]
    import numpy as np
    from speechmos import dnsmos  # type: ignore[import-not-found]

    out = []
    for p in paths:
        audio, _ = librosa.load(p, sr=16000)
        audio = np.clip(audio, -1.0, 1.0)  # resampling overshoots a full-scale peak; DNSMOS refuses > 1
        r = dnsmos.run(audio, sr=16000)
        out.append({k: round(float(r[k]), 3) for k in ("ovrl_mos", "sig_mos", "bak_mos", "p808_mos")})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scorer-python", default=sys.executable, help="an interpreter with speechmos and librosa")
    ap.add_argument("--score", nargs="*", help=argparse.SUPPRESS)  # the scorer half, WAV paths
    args = ap.parse_args()
    if args.score is not None:
        print(json.dumps(score(args.score)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        clips = synthesize(Path(tmp))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [args.scorer_python, __file__, "--score", *[c["wav"] for c in clips]],
            check=False,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        score_s = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"the scorer failed:\n{proc.stderr[-3000:]}")
    scores = json.loads(proc.stdout.strip().splitlines()[-1])
    for c, s in zip(clips, scores, strict=True):
        c.update(s)
        del c["wav"]
    table = {}
    for voice in dict.fromkeys(c["voice"] for c in clips):
        mine = [c for c in clips if c["voice"] == voice]
        table[voice] = {
            "language": mine[0]["language"],
            **{
                f"{k}_mean": round(statistics.mean(c[k] for c in mine), 3)
                for k in ("ovrl_mos", "sig_mos", "bak_mos", "p808_mos")
            },
            "p808_mos_min": min(c["p808_mos"] for c in mine),
            "realtime_factor": round(sum(c["synth_s"] for c in mine) / sum(c["audio_s"] for c in mine), 3),
        }
    print(
        json.dumps(
            {
                "bench": "bench/voice_mos.py: DNSMOS (speechmos wheel, ONNX, offline) on 10 sentences per voice",
                "machine": f"2-core dev box, shared with other jobs, no GPU ({platform.machine()}, Python "
                f"{platform.python_version()})",
                "scorer": "speechmos 0.0.1.1 dnsmos (sig_bak_ovr.onnx + model_v8.onnx), 16 kHz",
                "caveat": "DNSMOS predicts P.835/P.808 ratings of (denoised) speech, not TTS naturalness; "
                "use it to rank voices, not as an absolute MOS",
                "table": table,
                "score_s": round(score_s, 1),
                "clips": clips,
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
