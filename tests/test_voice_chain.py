"""The voice chain: a voice that fails (no model, a crash, silence) hands the narration to the next
one, the result says which voice spoke and why; only a chain with no working voice fails the stage,
with one permanent error naming every voice and its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from activities import tts_engines
from activities.stage_activities import StageActivities
from activities.tts import PartDone, WorkerVoice, assemble, silence_of
from activities.tts_engines import VoiceChainFailed, chain_for, speak
from niches.config import NicheConfig
from tubeflow.channel_settings import SettingsInvalid, clean_value, parse_settings
from tubeflow.contracts import VoiceRequest, VoiceResult
from tubeflow.errors import PermanentError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

PARTS = ["Why is the sky blue?", "Sunlight scatters off the air."]


class _Crashes(WorkerVoice):
    name = "crashes"

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        raise RuntimeError("the synthesizer crashed")


class _Silent(WorkerVoice):
    name = "silent"

    def synthesize(
        self, parts: list[str], out_wav: Path, feedback: Sequence[str] = (), on_part: PartDone | None = None
    ) -> NarrationTiming:
        return assemble(parts, [b"\x00\x00" * 8000 for _ in parts], 16000, out_wav)


class _Engine:
    """A registry entry built in the test (the same protocol as Piper's and eSpeak's)."""

    fallback = ""

    def __init__(self, name: str, voice: WorkerVoice) -> None:
        self.name, self.voice = name, voice

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        return self.name

    def build(self, settings: Settings, niche: NicheConfig | None) -> WorkerVoice:
        return self.voice


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry = dict(tts_engines.ENGINES)
    registry["crashes"] = _Engine("crashes", _Crashes())  # type: ignore[assignment]
    registry["silent"] = _Engine("silent", _Silent())  # type: ignore[assignment]
    monkeypatch.setattr(tts_engines, "ENGINES", registry)
    yield


def _niche(tmp: Path, **kw: object) -> NicheConfig:
    return NicheConfig(name="test", title="Test", folder=str(tmp), **kw)  # type: ignore[arg-type]


def test_a_missing_voice_model_falls_back_to_the_next_voice(tmp_path: Path) -> None:
    niche = _niche(tmp_path, voice=str(tmp_path / "gone" / "en_US-nobody.onnx"))
    said = speak(Settings(home=tmp_path), niche, PARTS, {}, tmp_path / "v.wav", chain=["piper", "espeak"])
    assert said.voice.startswith("espeak") and said.provider.name == "espeak"
    assert len(said.notes) == 1 and "en_US-nobody.onnx does not exist" in said.notes[0], said.notes
    assert silence_of(tmp_path / "v.wav") == "" and said.timing.duration_s > 1.0  # real narration
    assert (said.timing.voice, said.timing.voice_notes) == (said.voice, said.notes)
    again = NarrationTiming.from_json(said.timing.to_json())
    assert (again.voice, again.voice_notes) == (said.voice, said.notes)


def test_a_crash_and_silence_fall_back_and_the_first_good_voice_speaks(tmp_path: Path, engines: None) -> None:
    said = speak(Settings(home=tmp_path), _niche(tmp_path), PARTS, {}, tmp_path / "v.wav",
                 chain=["crashes", "silent", "piper", "espeak"])  # fmt: skip
    assert said.voice == "piper"
    assert "the synthesizer crashed" in said.notes[0] and "silence" in said.notes[1], said.notes
    assert silence_of(tmp_path / "v.wav") == ""
    first = speak(Settings(home=tmp_path), _niche(tmp_path), PARTS, {}, tmp_path / "w.wav", chain=["piper"])
    assert first.voice == "piper" and first.notes == []  # nothing failed, nothing to say


def test_when_every_voice_fails_the_error_is_permanent_and_names_each(tmp_path: Path, engines: None) -> None:
    with pytest.raises(VoiceChainFailed) as e:
        speak(Settings(home=tmp_path), _niche(tmp_path), PARTS, {}, tmp_path / "v.wav",
              chain=["crashes", "silent", "kokoro"])  # fmt: skip
    assert isinstance(e.value, PermanentError)  # non-retryable: the same input fails the same way
    msg = str(e.value)
    assert "tried crashes, silent, kokoro" in msg and "the synthesizer crashed" in msg and "silence" in msg
    assert "kokoro: not a voice engine here" in msg and "voice_chain" in msg


def test_the_default_chain_and_the_channel_setting() -> None:
    assert chain_for(Settings()) == ["piper", "espeak"]
    assert chain_for(Settings(tts="azure")) == ["azure", "piper", "espeak"]  # Azure first when configured
    assert chain_for(Settings(tts="azure"), ["espeak", "piper"]) == ["espeak", "piper"]  # the channel's order
    assert clean_value("voice_chain", "Azure, piper,espeak") == ["azure", "piper", "espeak"]
    assert parse_settings({}).voice_chain == []
    for bad in ("piper,piper", "kokoro", 3):
        with pytest.raises(SettingsInvalid, match="voice_chain"):
            clean_value("voice_chain", bad)


async def test_the_voice_stage_falls_back_records_why_and_the_audio_is_produced(tmp_path: Path) -> None:
    """Through the activity, as a production runs it: the channel's niche names a Piper voice that
    is not installed; the narration is still produced (by eSpeak NG), and the result and the
    timing the audio checkpoint shows say which voice spoke and why."""
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database

    folder = tmp_path / "niches" / "gone"
    folder.mkdir(parents=True)
    (tmp_path / "niches" / "gone.yaml").write_text(
        "name: gone\ntitle: Gone voice\nvoice: voices/missing.onnx\n", encoding="utf-8"
    )
    settings = Settings(home=tmp_path, niches_dir=str(tmp_path / "niches"))
    storage = LocalStorage(tmp_path / "store")
    db = await open_database(settings)
    try:
        await repo.create_channel(db, "chain", "gone", {"voice_chain": ["piper", "espeak"]})
        await repo.create_production(db, "chain", "the sky", production_id="p1")
        script = {"title": "Sky", "hook": PARTS[0], "sections": [{"heading": "Air", "narration": PARTS[1]}]}
        key = storage.put_text("productions/p1/script-v1.json", json.dumps(script))
        stage = StageActivities(settings, storage, db)
        res: VoiceResult = await stage.synthesize_voice(VoiceRequest("p1", "gone", key, 1, [], "chain"))
    finally:
        await db.close()
    assert res.voice.startswith("espeak") and res.duration_s > 1.0
    assert len(res.voice_notes) == 1 and "missing.onnx does not exist" in res.voice_notes[0]
    assert silence_of(storage.fetch(res.audio_key)) == ""
    timing = NarrationTiming.from_json(storage.get_text(res.timing_key))
    assert timing.voice == res.voice and timing.voice_notes == res.voice_notes
    old = VoiceResult(audio_key="a", timing_key="t", duration_s=1.0)  # results from before the chain
    assert (old.voice, old.voice_notes) == ("", [])
