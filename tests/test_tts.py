"""TTS: Piper really speaks on this machine; Azure's error mapping is checked against a local
server that answers the SDK's websocket upgrade the way Azure does (no real network)."""

from __future__ import annotations

import socket
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.tts import (
    PAUSE_S,
    AzureTTS,
    PiperTTS,
    delivery_from_feedback,
    make_tts,
    resolve_piper_voice,
    script_to_parts,
)
from niches.config import load_niche
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings

PARTS = ["Why is the sky blue?", "Sunlight scatters off tiny air molecules. Blue light scatters the most."]


def wav_info(path: Path) -> tuple[int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getframerate(), w.getnframes() / w.getframerate()


def test_piper_speaks_and_times_each_part(settings: Settings, tmp_path: Path) -> None:
    tts = make_tts(settings, load_niche("science", settings))
    assert isinstance(tts, PiperTTS)
    out = tmp_path / "voice.wav"
    timing = tts.synthesize(PARTS, out)

    channels, rate, duration = wav_info(out)
    assert channels == 1 and rate == timing.sample_rate
    assert abs(duration - timing.duration_s) < 0.01
    words = sum(len(p.split()) for p in PARTS)
    # Speech runs at roughly 1.5-4 words per second; silence-only or runaway output fails this.
    assert words / 4 < duration < words / 1.2
    assert [p.kind for p in timing.parts] == ["hook", "section"]
    assert [p.section for p in timing.parts] == [None, 0]
    assert timing.parts[0].start == 0.0
    assert timing.parts[-1].end == pytest.approx(duration, abs=0.01)
    gap = timing.parts[1].start - timing.parts[0].end
    assert gap == pytest.approx(PAUSE_S, abs=0.01)
    for p in timing.parts:
        assert p.end > p.start + 0.5


def test_piper_slower_on_feedback(settings: Settings, tmp_path: Path) -> None:
    tts = make_tts(settings)
    normal = tts.synthesize(PARTS[:1], tmp_path / "a.wav")
    slower = tts.synthesize(PARTS[:1], tmp_path / "b.wav", feedback=["Too fast, please slow down"])
    assert slower.duration_s > normal.duration_s * 1.05


def test_feedback_words_map_to_delivery() -> None:
    assert delivery_from_feedback(["speak slower"]).length_scale > 1
    assert delivery_from_feedback(["it drags, speed up"]).length_scale < 1
    assert delivery_from_feedback(["more pauses between parts"]).pause_s > PAUSE_S
    assert delivery_from_feedback([]).length_scale == 1.0


def test_empty_part_is_a_permanent_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match=r"part\(s\) \[1\]"):
        make_tts(settings).synthesize(["Hello there.", "   "], tmp_path / "x.wav")


def test_missing_voice_file_names_the_setting(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, piper_voice=str(tmp_path / "nope.onnx"))
    with pytest.raises(ConfigError, match="TUBEFLOW_PIPER_VOICE"):
        resolve_piper_voice(s, None)


def test_script_to_parts_hook_first() -> None:
    script = {"hook": "H", "sections": [{"narration": "A"}, {"narration": "B"}]}
    assert script_to_parts(script) == ["H", "A", "B"]


def test_unknown_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="piper' or 'azure"):
        make_tts(Settings(home=tmp_path, tts="polly"))


# ---------------------------------------------------------------- Azure


def test_azure_needs_key_and_region(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AZURE_SPEECH_KEY"):
        make_tts(Settings(home=tmp_path, tts="azure"))
    with pytest.raises(ConfigError, match="AZURE_SPEECH_REGION"):
        make_tts(Settings(home=tmp_path, tts="azure", azure_speech_key="k"))


def test_azure_ssml_uses_niche_voice_and_escapes(settings: Settings) -> None:
    s = settings.with_overrides(tts="azure", azure_speech_key="k", azure_speech_region="westeurope")
    tts = make_tts(s, load_niche("science", s))
    assert isinstance(tts, AzureTTS)
    ssml = tts.ssml("Salt & <pepper>", delivery_from_feedback(["slower"]))
    assert 'name="en-US-AndrewMultilingualNeural"' in ssml and 'xml:lang="en-US"' in ssml
    assert "Salt &amp; &lt;pepper&gt;" in ssml
    assert 'rate="-13%"' in ssml


@pytest.fixture
def upgrade_refuser() -> Iterator[tuple[str, list[bytes], list[str]]]:
    """A TCP server refusing the websocket upgrade with a chosen HTTP status, as Azure's edge does."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    status = ["401 Unauthorized"]
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(f"HTTP/1.1 {status[0]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"ws://127.0.0.1:{srv.getsockname()[1]}/cognitiveservices/websocket/v1", seen, status
    stop.set()
    t.join(2)
    srv.close()


def _azure(settings: Settings, endpoint: str, key: str = "bogus-key") -> AzureTTS:
    s = settings.with_overrides(tts="azure", azure_speech_key=key, azure_speech_endpoint=endpoint)
    tts = make_tts(s)
    assert isinstance(tts, AzureTTS)
    return tts


def test_azure_wrong_key_is_permanent(settings: Settings, tmp_path: Path, upgrade_refuser) -> None:  # type: ignore[no-untyped-def]
    endpoint, seen, _ = upgrade_refuser
    with pytest.raises(PermanentError, match="Azure Speech rejected the key"):
        _azure(settings, endpoint).synthesize(["Hello."], tmp_path / "a.wav")
    # The SDK really sent our key on the upgrade request.
    assert any(b"Ocp-Apim-Subscription-Key: bogus-key" in req for req in seen)


def test_azure_throttling_is_transient(settings: Settings, tmp_path: Path, upgrade_refuser) -> None:  # type: ignore[no-untyped-def]
    endpoint, _, status = upgrade_refuser
    status[0] = "429 Too Many Requests"
    with pytest.raises(TransientError, match="throttling") as err:
        _azure(settings, endpoint).synthesize(["Hello."], tmp_path / "a.wav")
    assert err.value.retry_after_s and err.value.retry_after_s > 0


def test_azure_unreachable_is_transient_and_quick(settings: Settings, tmp_path: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(TransientError, match="Azure Speech failed"):
        _azure(settings, f"ws://127.0.0.1:{port}/cognitiveservices/websocket/v1").synthesize(
            ["Hello."], tmp_path / "a.wav"
        )
