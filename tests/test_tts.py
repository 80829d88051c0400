"""TTS: Piper really speaks on this machine; Azure's error mapping is checked against a local
server that answers the SDK's websocket upgrade the way Azure does (no real network)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import socket
import struct
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.tts import PAUSE_S, TTSProvider, delivery_from_feedback, script_to_parts, words_path
from activities.tts_azure import AzureTTS
from activities.tts_engines import ENGINES, make_tts
from activities.tts_piper import PiperTTS, resolve_piper_voice
from niches.config import NicheConfig, load_niche
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
    # Piper draws phoneme durations with noise on every call: one short sentence varied by ~4%, so the
    # slower delivery (15%) is compared over several sentences, where that noise averages out.
    tts = make_tts(settings)
    text = PARTS * 3
    normal = tts.synthesize(text, tmp_path / "a.wav")
    slower = tts.synthesize(text, tmp_path / "b.wav", feedback=["Too fast, please slow down"])
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
    with pytest.raises(ConfigError, match="'piper', 'espeak' or 'azure'"):
        make_tts(Settings(home=tmp_path, tts="polly"))  # type: ignore[arg-type]  # from_env refuses it; the guard behind it still holds


class _LoudEngine:
    """A made-up engine: the registry line is all it takes for make_tts and the language check."""

    name = "loud"
    fallback = "piper"

    def voice_for(self, settings: Settings, niche: NicheConfig | None) -> str:
        return "loud (yo)" if niche is not None and niche.language == "yo" else ""

    def build(self, settings: Settings, niche: NicheConfig | None) -> TTSProvider:
        return PiperTTS(Path("loud.onnx"))


def test_a_registered_engine_is_chosen_and_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.languages import language_support

    monkeypatch.setitem(ENGINES, "loud", _LoudEngine())
    s = Settings(home=tmp_path, tts="loud")  # type: ignore[arg-type]  # registered above, not a setting choice
    english = load_niche("science", s)
    yoruba = dataclasses.replace(english, language="yo")
    loud = make_tts(s, yoruba)
    assert isinstance(loud, PiperTTS) and loud.model == Path("loud.onnx")
    assert language_support(s, yoruba).voice == "loud (yo)"
    assert language_support(s, english).voice == "piper"  # its fallback speaks English
    bundled = make_tts(s, english)
    assert isinstance(bundled, PiperTTS) and bundled.model != Path("loud.onnx")
    with pytest.raises(ConfigError, match="'piper', 'espeak', 'azure' or 'loud'"):
        make_tts(Settings(home=tmp_path, tts="polly"))  # type: ignore[arg-type]


def test_cost_and_lexicon_are_capabilities_of_the_engine(settings: Settings) -> None:
    from activities.lexicon import parse_edits

    lex = {p.word.lower(): p for p in parse_edits({"Rayleigh": "RAY-lee"})}
    piper = make_tts(settings)
    assert piper.price_per_mchar is None  # runs on the worker: nothing billed
    assert piper.use_lexicon(["Rayleigh scattering"], lex) == ["RAY-lee scattering"]
    s = settings.with_overrides(tts="azure", azure_speech_key="k", azure_speech_region="westeurope",
                                azure_tts_price_per_mchar=15.0)  # fmt: skip
    azure = make_tts(s)
    assert azure.price_per_mchar == 15.0
    assert azure.use_lexicon(["Rayleigh scattering"], lex) == ["Rayleigh scattering"]  # kept for the SSML
    assert isinstance(azure, AzureTTS) and "<sub" in azure.ssml("Rayleigh")


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


# ---------------------------------------------------------------- a local Azure Speech service
# The Speech SDK speaks a websocket protocol (text frames "Path: speech.config / synthesis.context /
# ssml"; the service answers turn.start, audio.metadata word boundaries, binary audio frames with a
# 2-byte header length, turn.end).  This server speaks enough of it for real synthesis calls.

WORD_S = 0.3  # each word the fake "speaks" lasts this long
AZURE_RATE = 24000


def _recv_frame(c: socket.socket) -> tuple[int, bytes] | None:
    head = c.recv(2, socket.MSG_WAITALL)
    if len(head) < 2:
        return None
    op, n = head[0] & 0x0F, head[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", c.recv(2, socket.MSG_WAITALL))[0]
    elif n == 127:
        n = struct.unpack(">Q", c.recv(8, socket.MSG_WAITALL))[0]
    mask = c.recv(4, socket.MSG_WAITALL) if head[1] & 0x80 else b"\0\0\0\0"
    data = bytearray(c.recv(n, socket.MSG_WAITALL)) if n else bytearray()
    for i in range(len(data)):
        data[i] ^= mask[i % 4]
    return op, bytes(data)


def _send_frame(c: socket.socket, op: int, data: bytes) -> None:
    n = len(data)
    if n < 126:
        head = bytes([0x80 | op, n])
    elif n < 65536:
        head = bytes([0x80 | op, 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | op, 127]) + struct.pack(">Q", n)
    c.sendall(head + data)


class FakeAzureSpeech:
    def __init__(self, key: str = "azure-test-key") -> None:
        self.key = key
        self.ssml: list[str] = []
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"ws://127.0.0.1:{self.srv.getsockname()[1]}/cognitiveservices/websocket/v1"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.srv.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(10)
            req = b""
            while b"\r\n\r\n" not in req:
                req += c.recv(4096)
            headers = dict(
                (k.strip().lower(), v.strip())
                for k, v in (ln.split(":", 1) for ln in req.decode().split("\r\n")[1:] if ":" in ln)
            )
            if headers.get("ocp-apim-subscription-key") != self.key:
                c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                return
            accept = base64.b64encode(
                hashlib.sha1((headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
            ).decode()
            c.sendall(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
            )
            while (frame := _recv_frame(c)) is not None:
                op, data = frame
                if op == 8:
                    return
                head, _, body = data.partition(b"\r\n\r\n")
                if op != 1 or b"Path:ssml" not in head:
                    continue
                rid = re.search(rb"X-RequestId:(\w+)", head).group(1).decode()  # type: ignore[union-attr]
                self.ssml.append(body.decode())
                self._speak(c, rid, body.decode())

    def _speak(self, c: socket.socket, rid: str, ssml: str) -> None:
        def text(path: str, payload: object) -> None:
            msg = f"X-RequestId:{rid}\r\nContent-Type:application/json\r\nPath:{path}\r\n\r\n{json.dumps(payload)}"
            _send_frame(c, 1, msg.encode())

        spoken = re.sub(r"<[^>]+>", " ", ssml).replace("&amp;", "&").split()
        text("turn.start", {"context": {"serviceTag": "fake"}})
        for i, word in enumerate(spoken):
            data = {"Offset": int(i * WORD_S * 1e7), "Duration": int(WORD_S * 0.8 * 1e7),
                    "text": {"Text": word, "Length": len(word), "BoundaryType": "WordBoundary"}}  # fmt: skip
            text("audio.metadata", {"Metadata": [{"Type": "WordBoundary", "Data": data}]})
        samples = int(len(spoken) * WORD_S * AZURE_RATE)
        pcm = struct.pack(f"<{samples}h", *([3000, -3000] * (samples // 2) + [0] * (samples % 2)))
        head = f"X-RequestId:{rid}\r\nPath:audio\r\nContent-Type:audio/x-wav\r\n".encode()
        for k in range(0, len(pcm), 32000):
            _send_frame(c, 2, struct.pack(">H", len(head)) + head + pcm[k : k + 32000])
        text("turn.end", {})


@pytest.fixture
def azure_fake() -> Iterator[FakeAzureSpeech]:
    fake = FakeAzureSpeech()
    yield fake
    fake.close()


def test_azure_synthesis_with_word_boundaries(settings: Settings, tmp_path: Path, azure_fake: FakeAzureSpeech) -> None:
    s = settings.with_overrides(tts="azure", azure_speech_key=azure_fake.key, azure_speech_endpoint=azure_fake.endpoint)
    tts = make_tts(s, load_niche("science", s))
    out = tmp_path / "voice.wav"
    parts = ["Salt & pepper.", "Blue light scatters most."]
    timing = tts.synthesize(parts, out, feedback=["a bit faster please"])

    channels, rate, duration = wav_info(out)
    assert (channels, rate) == (1, 24000)
    assert duration == pytest.approx(3 * WORD_S + PAUSE_S + 4 * WORD_S, abs=0.01)
    spans: list[tuple[object, object]] = [(p.start, p.end) for p in timing.parts]
    assert spans == [
        (0.0, pytest.approx(0.9, abs=0.01)),
        (pytest.approx(0.9 + PAUSE_S, abs=0.01), pytest.approx(duration, abs=0.01)),
    ]
    assert len(azure_fake.ssml) == 2 and 'name="en-US-AndrewMultilingualNeural"' in azure_fake.ssml[0]
    assert "Salt &amp; pepper." in azure_fake.ssml[0] and 'rate="+14%"' in azure_fake.ssml[0]
    words = json.loads(words_path(out).read_text())
    assert [w["word"] for w in words] == ["Salt", "&", "pepper.", "Blue", "light", "scatters", "most."]
    second = timing.parts[1].start
    assert words[3]["part"] == 1 and words[3]["start"] == pytest.approx(second, abs=0.002)
    assert words[4]["start"] == pytest.approx(second + WORD_S, abs=0.002)
    assert all(w["end"] > w["start"] for w in words)


def test_azure_fake_refuses_a_wrong_key(settings: Settings, tmp_path: Path, azure_fake: FakeAzureSpeech) -> None:
    s = settings.with_overrides(tts="azure", azure_speech_key="nope", azure_speech_endpoint=azure_fake.endpoint)
    with pytest.raises(PermanentError, match="rejected the key"):
        make_tts(s).synthesize(["Hello."], tmp_path / "a.wav")
