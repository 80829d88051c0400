"""Publishing: the outbox on disk (idempotent), and the YouTube client against a local server that
speaks the Data API upload protocol (resumable upload, token refresh, thumbnails.set)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from activities.broll import build_plan
from activities.outbox import OutboxPublisher
from activities.publish_metadata import chapters_from, youtube_chapters_ok
from activities.publishers import make_publisher
from activities.thumbnails import make_thumbnails
from activities.youtube import YouTubePublisher
from niches.config import NicheConfig
from tubeflow.contracts import PublishRequest
from tubeflow.errors import AccountNeedsReconnect, ConfigError, PermanentError, QuotaExhausted
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage, S3Storage
from tubeflow.youtube_quota import PACIFIC

try:
    from tests.fake_youtube import FakeYouTube
except ImportError:  # pragma: no cover
    from fake_youtube import FakeYouTube  # type: ignore[no-redef,import-not-found]

SCRIPT = {
    "title": "Why the sky is blue",
    "hook": "Look up.",
    "sections": [
        {"heading": "Sunlight", "narration": "a", "broll_cues": []},
        {"heading": "Scattering", "narration": "Rayleigh scattering.", "broll_cues": []},
        {"heading": "Sunsets", "narration": "c", "broll_cues": []},
    ],
    "description": "Why is the sky blue and sunsets red?",
    "tags": ["science", "sky"],
    "language": "en",
    "sources": [{"claim": "Rayleigh", "source": "https://en.wikipedia.org/wiki/Rayleigh_scattering"}],
}
TIMING = NarrationTiming(
    duration_s=48.0,
    sample_rate=22050,
    parts=[
        PartTiming(0, "hook", 0.0, 3.0, "Look up.", None),
        PartTiming(1, "section", 3.35, 15.0, "a", 0),
        PartTiming(2, "section", 15.35, 30.0, "b", 1),
        PartTiming(3, "section", 30.35, 48.0, "c", 2),
    ],
)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    s = LocalStorage(tmp_path / "store")
    s.put_bytes("productions/p1/video.mp4", os.urandom(700 * 1024), "video/mp4")  # > 2 upload chunks
    s.put_bytes("productions/p1/thumbnails/v1-2.jpg", b"\xff\xd8\xff\xe0" + os.urandom(2000), "image/jpeg")
    s.put_text("productions/p1/timing-v1.json", "{}")  # an older, unusable take
    s.put_text("productions/p1/timing-v2.json", TIMING.to_json())
    s.put_text("productions/p1/broll/credits.json", json.dumps({"k": "Video by Ann on Pexels"}))
    return s


def request(**kw: object) -> PublishRequest:
    base: dict[str, object] = {
        "production_id": "p1",
        "channel": "demo",
        "video_key": "productions/p1/video.mp4",
        "thumbnail_key": "productions/p1/thumbnails/v1-2.jpg",
        "script_key": "productions/p1/script-v1.json",
    }
    base.update(kw)
    return PublishRequest(**base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- outbox


def test_outbox_writes_video_thumbnail_metadata(settings: Settings, store: LocalStorage) -> None:
    pub = make_publisher(settings)
    assert isinstance(pub, OutboxPublisher)
    res = pub.publish(store, request(), SCRIPT)
    folder = settings.resolved_outbox_dir() / "demo" / "p1"
    assert res.location == "demo/p1" and res.video_id == "p1"
    assert (folder / "video.mp4").read_bytes() == store.get_bytes("productions/p1/video.mp4")
    assert (folder / "thumbnail.jpg").read_bytes() == store.get_bytes("productions/p1/thumbnails/v1-2.jpg")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["title"] == "Why the sky is blue" and meta["tags"] == ["science", "sky"] and meta["language"] == "en"
    assert meta["chapters"] == [
        {"start": 0.0, "title": "Sunlight"},
        {"start": 15.35, "title": "Scattering"},
        {"start": 30.35, "title": "Sunsets"},
    ]
    assert "0:00 Sunlight\n0:15 Scattering\n0:30 Sunsets" in meta["description"]
    assert "https://en.wikipedia.org/wiki/Rayleigh_scattering" in meta["description"]
    assert "Video by Ann on Pexels" in meta["description"]
    assert meta["sources"][0]["claim"] == "Rayleigh" and meta["duration_s"] == 48.0
    assert len(meta["video_sha256"]) == 64


def test_outbox_is_idempotent(settings: Settings, store: LocalStorage) -> None:
    pub = make_publisher(settings)
    pub.publish(store, request(), SCRIPT)
    root = settings.resolved_outbox_dir()
    first = (root / "demo" / "p1" / "metadata.json").read_text()
    stamp = (root / "demo" / "p1" / "metadata.json").stat().st_mtime_ns
    again = pub.publish(store, request(), SCRIPT)
    assert again.location == "demo/p1"
    assert sorted(p.name for p in (root / "demo").iterdir()) == ["p1"]  # no duplicate, no leftovers
    assert (root / "demo" / "p1" / "metadata.json").stat().st_mtime_ns == stamp  # untouched
    # A changed video (re-render) replaces the entry in place and keeps the first publish time.
    store.put_bytes("productions/p1/video.mp4", b"new video")
    pub.publish(store, request(), SCRIPT)
    assert sorted(p.name for p in (root / "demo").iterdir()) == ["p1"]
    meta = json.loads((root / "demo" / "p1" / "metadata.json").read_text())
    assert meta["published_at"] == json.loads(first)["published_at"]
    assert (root / "demo" / "p1" / "video.mp4").read_bytes() == b"new video"


def test_outbox_shorts_get_their_own_folders(settings: Settings, store: LocalStorage) -> None:
    pub = make_publisher(settings)
    for i in (1, 2):
        res = pub.publish(store, request(kind="short", extra={"index": i}), SCRIPT)
        assert res.location == f"demo/p1-short-{i}"
    meta = json.loads((settings.resolved_outbox_dir() / "demo" / "p1-short-2" / "metadata.json").read_text())
    assert meta["title"].endswith("#shorts") and meta["chapters"] == [] and meta["kind"] == "short"


def test_outbox_refuses_bad_names_and_kinds(settings: Settings, store: LocalStorage) -> None:
    pub = make_publisher(settings)
    with pytest.raises(PermanentError, match="outbox folder"):
        pub.publish(store, request(channel="../etc"), SCRIPT)
    with pytest.raises(PermanentError, match="'long' or 'short'"):
        pub.publish(store, request(kind="reel"), SCRIPT)


def test_chapter_rules() -> None:
    chapters = chapters_from(TIMING, SCRIPT)
    assert youtube_chapters_ok(chapters, 48.0)
    assert not youtube_chapters_ok(chapters[:2], 48.0)  # fewer than three
    assert not youtube_chapters_ok(chapters, 35.0)  # last one shorter than 10 s
    assert chapters_from(None, SCRIPT) == []


def test_unknown_publisher(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outbox' or 'youtube"):
        make_publisher(Settings(home=tmp_path, publisher="tiktok"))  # type: ignore[arg-type]  # from_env refuses it; the guard behind it still holds


async def test_a_registered_platform_publishes_for_channels_without_an_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new platform is its module's PublishingPlatform plus one registry line: nothing else to edit."""
    from activities.publish_metadata import PublishingPlatform
    from activities.publishers import PLATFORMS, publisher_for_channel
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database

    made: list[str] = []

    def tiktok(settings: Settings) -> OutboxPublisher:
        made.append(settings.publisher)
        return OutboxPublisher(tmp_path / "tiktok-outbox")

    monkeypatch.setitem(PLATFORMS, "tiktok", PublishingPlatform("tiktok", tiktok, quota_project="tt"))
    s = Settings(home=tmp_path, publisher="tiktok")  # type: ignore[arg-type]  # registered above, not a setting choice
    db = await open_database(s)
    try:
        await repo.create_channel(db, "sky", "science")
        chosen = await publisher_for_channel(s, db, "sky")
    finally:
        await db.close()
    assert made == ["tiktok"] and chosen.project == "tt"
    with pytest.raises(ConfigError, match="'outbox', 'youtube' or 'tiktok', not 'vimeo'"):
        make_publisher(Settings(home=tmp_path, publisher="vimeo"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- YouTube


@pytest.fixture
def yt() -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        yield fake


def yt_publisher(settings: Settings, fake: FakeYouTube, tmp_path: Path, **creds: str) -> YouTubePublisher:
    cred_file = fake.credentials_file(tmp_path / "creds.json", **creds)
    s = settings.with_overrides(publisher="youtube", youtube_credentials=str(cred_file), youtube_base_url=fake.base_url)
    pub = YouTubePublisher.from_settings(s, chunk=256 * 1024)
    pub.client.retry_base_s = 0.01
    assert isinstance(make_publisher(s), YouTubePublisher)
    return pub


def test_youtube_resumable_upload_and_thumbnail(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    pub = yt_publisher(settings, yt, tmp_path)
    res = pub.publish(store, request(), SCRIPT)
    video = yt.videos[res.video_id]
    assert res.location == f"https://youtu.be/{res.video_id}"
    assert video["data"] == store.get_bytes("productions/p1/video.mp4")
    assert video["thumbnail"] == store.get_bytes("productions/p1/thumbnails/v1-2.jpg")
    assert video["snippet"]["title"] == "Why the sky is blue" and video["snippet"]["tags"] == ["science", "sky"]
    assert "0:15 Scattering" in video["snippet"]["description"]
    assert video["status"]["privacyStatus"] == "private"
    puts = [r for m, r in yt.log if m == "PUT"]
    assert puts[:3] == ["bytes 0-262143/716800", "bytes 262144-524287/716800", "bytes 524288-716799/716800"]


def test_youtube_upload_carries_the_final_checkpoints_hand_edits(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    # What the workflow puts into the publish request when the final checkpoint was approved with edits.
    edits = {"title": "Blue skies, explained", "description": "One word fixed.\n\nSee you soon.", "tags": ["sky"]}
    pub = yt_publisher(settings, yt, tmp_path)
    res = pub.publish(store, request(extra=edits), SCRIPT)
    snippet = yt.videos[res.video_id]["snippet"]
    assert (snippet["title"], snippet["description"], snippet["tags"]) == (
        "Blue skies, explained",
        "One word fixed.\n\nSee you soon.",
        ["sky"],
    )


def test_youtube_publish_twice_uploads_once(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    pub = yt_publisher(settings, yt, tmp_path)
    first = pub.publish(store, request(), SCRIPT)
    second = yt_publisher(settings, yt, tmp_path).publish(store, request(), SCRIPT)  # a retried activity
    assert first == second and len(yt.videos) == 1 and len(yt.uploads) == 1


def test_youtube_resumes_after_server_errors(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    yt.fail_puts = 1  # a chunk is refused
    yt.fail_after_store = 1  # a chunk arrives but the answer is lost
    res = yt_publisher(settings, yt, tmp_path).publish(store, request(), SCRIPT)
    assert yt.videos[res.video_id]["data"] == store.get_bytes("productions/p1/video.mp4")
    assert any(r == "bytes */716800" for m, r in yt.log if m == "PUT")  # it asked where to resume


def test_youtube_refreshes_an_expired_token(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    pub = yt_publisher(settings, yt, tmp_path)
    session = pub.client.start_upload({"snippet": {"title": "t"}, "status": {}}, 10)
    yt.revoke_tokens()
    assert pub.client.uploaded_bytes(session, 10) == 0
    assert yt.token_grants == 2


def test_youtube_revoked_refresh_token_is_permanent(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    pub = yt_publisher(settings, yt, tmp_path, refresh_token="revoked")
    with pytest.raises(AccountNeedsReconnect, match="consent flow again"):
        pub.publish(store, request(), SCRIPT)


def test_youtube_quota_waits_for_the_reset_and_forbidden_thumbnail_permanent(
    settings: Settings, store: LocalStorage, yt: FakeYouTube, tmp_path: Path
) -> None:
    yt.quota_exceeded = True
    with pytest.raises(QuotaExhausted, match="quota") as err:
        yt_publisher(settings, yt, tmp_path).publish(store, request(), SCRIPT)
    reset = datetime.fromisoformat(err.value.reset_at)
    assert reset.astimezone(PACIFIC).time() == time(0, 0) and reset > datetime.now(UTC)
    assert reset - datetime.now(UTC) <= timedelta(hours=25)
    yt.quota_exceeded = False
    yt.forbid_thumbnails = True
    with pytest.raises(PermanentError, match="403"):
        yt_publisher(settings, yt, tmp_path).publish(store, request(), SCRIPT)
    # The video went up before the thumbnail failed; the retry sets the thumbnail without re-uploading.
    yt.forbid_thumbnails = False
    res = yt_publisher(settings, yt, tmp_path).publish(store, request(), SCRIPT)
    assert len(yt.videos) == 1 and "thumbnail" in yt.videos[res.video_id]


def test_youtube_missing_credentials(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TUBEFLOW_YOUTUBE_CREDENTIALS"):
        make_publisher(settings.with_overrides(publisher="youtube"))
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"client_id": "x"}))
    with pytest.raises(ConfigError, match="refresh_token"):
        make_publisher(settings.with_overrides(publisher="youtube", youtube_credentials=str(bad)))


# ---------------------------------------------------------------- on S3 (moto's standalone server)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "NO_PROXY": "127.0.0.1,localhost",
        }.items():
            mp.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def test_broll_thumbnails_and_outbox_through_s3(settings: Settings, tmp_path: Path, s3_endpoint: str) -> None:
    """Everything is addressed by key: a second storage client (another machine) sees every picture."""
    store = S3Storage("tubeflow-cpu", endpoint_url=s3_endpoint, cache_dir=tmp_path / "cache-a")
    store.ensure_bucket()
    media = tmp_path / "niche" / "media"
    media.mkdir(parents=True)
    Image.new("RGB", (320, 180), (200, 40, 40)).save(media / "sunlight-beam.jpg")
    niche = NicheConfig(name="t", title="T", folder=str(tmp_path / "niche"))
    plan, warnings = build_plan(settings, store, niche, SCRIPT, TIMING, "p9", 1, [])
    assert warnings == []
    other = S3Storage("tubeflow-cpu", endpoint_url=s3_endpoint, cache_dir=tmp_path / "cache-b")
    for m in plan.all_items() + [c for p in plan.parts for c in p.candidates]:
        assert Image.open(other.fetch(m.key)).size in {(320, 180)}
    assert any(m.source == "library" for m in plan.all_items())
    thumbs = make_thumbnails(settings, store, niche, SCRIPT, plan, "p9", 1, [])
    store.put_bytes("productions/p9/video.mp4", b"video bytes")
    store.put_text("productions/p9/timing-v1.json", TIMING.to_json())
    res = OutboxPublisher(tmp_path / "outbox").publish(
        other, request(production_id="p9", video_key="productions/p9/video.mp4", thumbnail_key=thumbs[1]), SCRIPT
    )
    folder = tmp_path / "outbox" / res.location
    assert (folder / "video.mp4").read_bytes() == b"video bytes"
    assert Image.open(folder / "thumbnail.jpg").size == (1280, 720)
    assert json.loads((folder / "metadata.json").read_text())["chapters"][1]["title"] == "Scattering"
