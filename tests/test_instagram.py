"""Instagram Reels (activities/instagram.py) against a local server speaking the Graph API:
Facebook Login to a long-lived token and the professional account, posting exactly once through a
resumable upload that survives a cut connection and a crash around media_publish, the posting
cap and rate limits, a revoked login, insights, and captions within Instagram's limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from activities import instagram
from activities.platform_api import MemoryLedger, PlatformApp, PlatformToken, ShortPost, platform_app
from tubeflow.errors import AccountNeedsReconnect, MediaError, PermanentError, PostingCapReached, TransientError
from tubeflow.settings import Settings

try:
    from tests.fake_instagram import FakeInstagram, Page
    from tests.mediagen import color_bars_clip
except ImportError:  # pragma: no cover
    from fake_instagram import FakeInstagram, Page  # type: ignore[no-redef,import-not-found]
    from mediagen import color_bars_clip  # type: ignore[no-redef,import-not-found]

REDIRECT = "http://127.0.0.1:8765/oauth/instagram/callback"
CAPTION = "Why the sky is blue, in 30 seconds.\n\n#science #sky"
RECONNECT = "tubeflow channel connect CHANNEL --platform instagram"


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real vertical H.264 MP4 (2 s, 180x320), big enough to cut mid-upload."""
    return color_bars_clip(tmp_path_factory.mktemp("ig") / "reel.mp4", seconds=2.0, width=180, height=320)


@pytest.fixture
def fake() -> Iterator[FakeInstagram]:
    with FakeInstagram() as f:
        yield f


@pytest.fixture
def app(fake: FakeInstagram) -> PlatformApp:
    settings = Settings(
        facebook_app_id=fake.app_id,
        facebook_app_secret=fake.app_secret,
        instagram_graph_url=fake.graph_url,
        instagram_upload_url=fake.upload_url,
        facebook_auth_url=fake.auth_url,
    )
    return platform_app(settings, "instagram")


def connect(app: PlatformApp) -> PlatformToken:
    """What the dashboard does: send the person to the dialog, take the code off the redirect."""
    resp = httpx.get(instagram.authorize_url(app, REDIRECT, "st-42"))
    assert resp.status_code == 302
    target = urlparse(resp.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    q = parse_qs(target.query)
    assert q["state"] == ["st-42"]
    return instagram.exchange_code(app, q["code"][0], REDIRECT)


@pytest.fixture
def token(app: PlatformApp) -> PlatformToken:
    return connect(app)


def short(reel: Path, **kw: Any) -> ShortPost:
    fields: dict[str, Any] = {"production_id": "p1", "index": 0, "video": reel, "caption": CAPTION, "title": "Sky"}
    return ShortPost(**{**fields, **kw})


def post(app: PlatformApp, token: PlatformToken, shortpost: ShortPost, ledger: Any) -> Any:
    return instagram.post_reel(app, token, shortpost, ledger, poll_s=0.01, timeout_s=10.0)


class CrashAfterPublish(MemoryLedger):
    """A worker killed right after media_publish answered: the save of the media id never lands."""

    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    def save(self, state: dict[str, Any]) -> None:
        if state.get("media_id") and not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed")
        super().save(state)


# --- OAuth -----------------------------------------------------------------------------------------


def test_authorize_url_asks_for_the_publishing_permissions(app: PlatformApp) -> None:
    url = urlparse(instagram.authorize_url(app, REDIRECT, "s"))
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["client_id"] == "fb-app" and q["redirect_uri"] == REDIRECT and q["response_type"] == "code"
    assert q["scope"].split(",") == list(instagram.SCOPES)
    assert "instagram_content_publish" in q["scope"] and "client_secret" not in q


def test_oauth_round_trip_gives_a_long_lived_token_and_the_professional_account(
    fake: FakeInstagram, app: PlatformApp
) -> None:
    # The professional account sits behind a Page past the first page of /me/accounts results.
    fake.users["default"].pages = [Page(str(2000000 + i), f"Page {i}") for i in range(120)] + [
        Page("3000001", "Science Page", "17841400000000009", "sky_facts")
    ]
    before = time.time()
    tok = connect(app)
    assert tok.account_id == "17841400000000009" and tok.account_name == "sky_facts"
    assert tok.refresh_token == ""
    assert before + 59 * 86400 < tok.expires_at < time.time() + 61 * 86400  # long-lived, not the 90-minute one
    assert set(instagram.SCOPES) <= set(tok.scopes)
    assert fake.token_exchanges == 1
    owner, _ = fake.tokens[tok.access_token]
    assert owner == "default"
    assert PlatformToken.from_json(tok.to_json()) == tok


def test_a_code_is_good_once(app: PlatformApp) -> None:
    resp = httpx.get(instagram.authorize_url(app, REDIRECT, "s"))
    code = parse_qs(urlparse(resp.headers["location"]).query)["code"][0]
    instagram.exchange_code(app, code, REDIRECT)
    with pytest.raises(PermanentError, match="authorization code"):
        instagram.exchange_code(app, code, REDIRECT)


def test_no_professional_account_says_what_to_link(fake: FakeInstagram, app: PlatformApp) -> None:
    fake.users["default"].pages = [Page("2000001", "A Page with no Instagram")]
    with pytest.raises(PermanentError) as err:
        connect(app)
    assert "professional" in str(err.value) and "Facebook Page" in str(err.value)
    assert not isinstance(err.value, AccountNeedsReconnect)


def test_declined_publishing_permission_is_named(fake: FakeInstagram, app: PlatformApp) -> None:
    fake.users["default"].declined = {"instagram_content_publish"}
    with pytest.raises(PermanentError, match="instagram_content_publish"):
        connect(app)


def test_refresh_exchanges_the_long_lived_token_again(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken
) -> None:
    now = time.time()
    assert not instagram.needs_refresh(token, now)
    assert instagram.needs_refresh(token, token.expires_at - 6 * 86400)
    assert not instagram.needs_refresh(token, token.expires_at - 8 * 86400)
    assert not instagram.needs_refresh(PlatformToken("t"), now)  # no expiry known: nothing to do
    fresh = instagram.refresh(app, token)
    assert fresh.access_token != token.access_token and fresh.expires_at >= token.expires_at
    assert (fresh.account_id, fresh.account_name, fresh.scopes) == (token.account_id, token.account_name, token.scopes)
    fake.revoke()
    with pytest.raises(AccountNeedsReconnect, match=RECONNECT):
        instagram.refresh(app, fresh)


# --- posting ---------------------------------------------------------------------------------------


def test_posts_a_reel_once_with_the_ai_label(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    out = post(app, token, short(reel, cover_ms=1500), ledger)
    [media] = fake.posts()
    assert out.post_id == media.id and out.url == media.permalink and out.status == "published"
    assert media.caption == CAPTION and media.data == reel.read_bytes()
    assert media.params["media_type"] == "REELS" and media.params["upload_type"] == "resumable"
    assert media.params["is_ai_generated"] == "true" and media.params["share_to_feed"] == "true"
    assert media.params["thumb_offset"] == "1500"
    assert fake.publish_calls == 1
    # The container was polled through IN_PROGRESS before media_publish, and the upload went to
    # the upload host named by the container's uri (rewritten from rupload.facebook.com).
    assert fake.containers[media.container_id].polls_left == 0
    assert [u["offset"] for u in fake.uploads] == [0]
    assert ("POST", f"/ig-api-upload/v21.0/{media.container_id}") in fake.log
    got = httpx.get(
        f"{fake.graph_url}/{media.id}", params={"fields": "is_ai_generated", "access_token": token.access_token}
    )
    assert got.json()["is_ai_generated"] is True
    assert ledger.state["done"] and ledger.state["media_id"] == media.id


def test_private_and_human_made(fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path) -> None:
    post(app, token, short(reel, private=True, aigc=False, cover_url="https://cdn.example/cover.jpg"), MemoryLedger())
    [media] = fake.posts()
    assert media.params["share_to_feed"] == "false"  # Reels cannot be private: kept off the grid
    assert "is_ai_generated" not in media.params
    assert media.params["cover_url"] == "https://cdn.example/cover.jpg" and "thumb_offset" not in media.params


def test_a_cut_upload_resumes_from_the_servers_offset(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    size = reel.stat().st_size
    ledger = MemoryLedger()
    fake.drop_after_bytes = size // 3
    with pytest.raises(TransientError, match="broke off"):
        post(app, token, short(reel), ledger)
    assert fake.posts() == [] and ledger.state["step"] == "container"
    container = ledger.state["container_id"]
    out = post(app, token, short(reel), ledger)
    assert fake.uploads == [
        {"container": container, "offset": 0, "bytes": size // 3},
        {"container": container, "offset": size // 3, "bytes": size - size // 3},  # only the rest
    ]
    [media] = fake.posts()
    assert media.id == out.post_id and media.container_id == container and media.data == reel.read_bytes()
    assert ("GET", f"/ig-api-upload/v21.0/{container}") in fake.log


def test_crash_after_media_publish_does_not_post_twice(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = CrashAfterPublish()
    with pytest.raises(RuntimeError, match="worker killed"):
        post(app, token, short(reel), ledger)
    assert ledger.state["step"] == "publishing" and "media_id" not in ledger.state
    [media] = fake.posts()
    gone = short(reel, video=reel.parent / "not-fetched-this-time.mp4")  # no bytes are needed past the upload
    out = post(app, token, gone, ledger)
    assert out.post_id == media.id and out.url == media.permalink
    assert len(fake.posts()) == 1 and fake.publish_calls == 1


def test_a_missing_video_is_a_media_error(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, tmp_path: Path
) -> None:
    with pytest.raises(MediaError, match="missing"):
        post(app, token, short(tmp_path / "nope.mp4"), MemoryLedger())
    assert fake.containers == {}


def test_a_lost_media_publish_answer_does_not_post_twice(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    fake.drop_publish_response = True
    with pytest.raises(TransientError):
        post(app, token, short(reel), ledger)
    out = post(app, token, short(reel), ledger)
    [media] = fake.posts()
    assert out.post_id == media.id and fake.publish_calls == 1


def test_a_finished_ledger_makes_no_http_call(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    first = post(app, token, short(reel), ledger)
    calls = len(fake.log)
    assert post(app, token, short(reel), ledger) == first
    nowhere = PlatformApp("x", "y", "http://127.0.0.1:9/v21.0", "http://127.0.0.1:9/dialog", "http://127.0.0.1:9")
    assert post(nowhere, token, short(reel), ledger) == first
    assert len(fake.log) == calls and len(fake.posts()) == 1


def test_an_expired_container_is_replaced_since_nothing_was_posted(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    fake.drop_after_bytes = 1000
    with pytest.raises(TransientError):
        post(app, token, short(reel), ledger)
    old = ledger.state["container_id"]
    fake.expire_container(old)
    out = post(app, token, short(reel), ledger)
    [media] = fake.posts()
    assert media.id == out.post_id and media.container_id != old and media.data == reel.read_bytes()


def test_slow_processing_ends_the_attempt_not_the_post(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    fake.processing_polls = 10_000
    with pytest.raises(TransientError, match="still processing"):
        instagram.post_reel(app, token, short(reel), ledger, poll_s=0.01, timeout_s=0.2)
    fake.containers[ledger.state["container_id"]].polls_left = 1
    out = post(app, token, short(reel), ledger)
    [media] = fake.posts()
    assert media.id == out.post_id and len(fake.containers) == 1 and len(fake.uploads) == 1


def test_revoked_login_needs_a_reconnect(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    fake.revoke()
    with pytest.raises(AccountNeedsReconnect, match=RECONNECT):
        post(app, token, short(reel), MemoryLedger())
    assert fake.containers == {} and fake.posts() == []


def test_the_daily_cap_waits_until_a_slot_frees(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    fake.quota_used = 50
    with pytest.raises(PostingCapReached) as err:
        post(app, token, short(reel), MemoryLedger())
    wait = datetime.fromisoformat(err.value.retry_at).timestamp() - time.time()
    assert 0 < wait <= 86400 + 5 and "50 of 50" in str(err.value)
    assert fake.containers == {}  # nothing uploaded for a post that cannot go out


def test_the_cap_estimate_uses_the_oldest_post_in_the_window(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    post(app, token, short(reel), MemoryLedger())
    [media] = fake.posts()
    media.timestamp = time.time() - 20 * 3600  # it leaves the 24 h window in 4 h
    fake.quota_used = 49
    with pytest.raises(PostingCapReached) as err:
        post(app, token, short(reel, index=1), MemoryLedger())
    wait = datetime.fromisoformat(err.value.retry_at).timestamp() - time.time()
    assert 4 * 3600 - 5 < wait < 4 * 3600 + 120


def test_a_rate_limit_at_publish_waits_as_the_usage_header_says(
    fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path
) -> None:
    ledger = MemoryLedger()
    fake.rate_limit_minutes = 30
    with pytest.raises(PostingCapReached) as err:
        post(app, token, short(reel), ledger)
    wait = datetime.fromisoformat(err.value.retry_at).timestamp() - time.time()
    assert 30 * 60 - 5 < wait <= 30 * 60 and "Application request limit reached" in str(err.value)
    assert fake.posts() == []
    fake.rate_limit_minutes = None
    out = post(app, token, short(reel), ledger)
    [media] = fake.posts()
    assert media.id == out.post_id and len(fake.containers) == 1 and fake.publish_calls == 2


def test_graph_errors_map_onto_retry_semantics() -> None:
    def answer(status: int, code: int, subcode: int = 0, headers: dict[str, str] | None = None) -> httpx.Response:
        err = {"message": "m", "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "T1"}
        return httpx.Response(status, json={"error": err}, headers=headers)

    with pytest.raises(AccountNeedsReconnect, match=RECONNECT):
        instagram.check(answer(400, 190, 463), "x")
    for code in (4, 17, 32, 613):
        with pytest.raises(PostingCapReached):
            instagram.check(answer(400, code), "x")
    with pytest.raises(TransientError) as transient:
        instagram.check(
            answer(400, 17, headers={"X-App-Usage": '{"estimated_time_to_regain_access": 5}'}), "x", caps=False
        )
    assert transient.value.retry_after_s == 300
    with pytest.raises(TransientError):
        instagram.check(answer(400, 9007, 2207027), "media_publish")
    with pytest.raises(TransientError):
        instagram.check(answer(500, 2), "x")
    with pytest.raises(PermanentError, match="spam"):
        instagram.check(answer(400, 4, 2207051), "x")
    with pytest.raises(PermanentError) as permanent:
        instagram.check(answer(400, 100, 2207057), "x")
    assert "fbtrace_id T1" in str(permanent.value) and type(permanent.value) is PermanentError


# --- insights and captions -------------------------------------------------------------------------


def test_reel_insights(fake: FakeInstagram, app: PlatformApp, token: PlatformToken, reel: Path) -> None:
    mid = post(app, token, short(reel), MemoryLedger()).post_id
    fake.set_insights(mid, views=120, plays=120, reach=90, saved=4, likes=11, comments=2, shares=3)
    want = {"views": 120, "reach": 90, "saves": 4, "likes": 11, "comments": 2, "shares": 3}
    assert instagram.reel_insights(app, token, [mid, "17900000000000000"]) == {mid: want}
    fake.views_supported = False  # an API version from before views: plays stands in
    fake.set_insights(mid, plays=77)
    assert instagram.reel_insights(app, token, [mid])[mid]["views"] == 77


def test_caption_for_keeps_instagrams_limits() -> None:
    description = "Sunlight scatters. " * 200
    tags_in = ["science", "Rayleigh scattering", "sky!", "2024", "science", "physics", "light", "colour", "nature"]
    caption = instagram.caption_for("Why the sky is blue", description, tags_in)
    body, tags = caption.rsplit("\n\n", 1)
    whole = f"Why the sky is blue\n\n{description}"
    assert len(caption) <= 2200 and body.endswith("…") and len(body) > 2000
    assert whole.startswith(body[:-1]) and whole[len(body) - 1] == " "  # cut between words
    assert tags.split() == ["#science", "#Rayleighscattering", "#sky", "#physics", "#light"]
    assert instagram.caption_for("Title", "", []) == "Title"
    many = " ".join(f"#t{i}" for i in range(28))
    assert instagram.caption_for("T", many, ["a", "b", "c", "d"]).count("#") == 30
    assert instagram.fit_caption(" ".join(f"#t{i}" for i in range(40))).count("#") == 30
