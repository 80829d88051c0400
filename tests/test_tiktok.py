"""activities/tiktok.py against tests/fake_tiktok.py: OAuth with PKCE, Direct Post exactly once, figures, captions.

The clip is a real 2-second MP4 (~150 KB).  TikTok's 5 MB chunk floor would make it one chunk,
so these tests lower the floor to 16 KiB on both sides (the fake's ``min_chunk`` and
post_short's ``min_chunk``) and send it in 40 000-byte chunks: three PUTs, the last one taking
the trailing bytes, as the Media Transfer Guide's example does at full size.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from activities import tiktok
from activities.platform_api import MemoryLedger, PlatformApp, PlatformToken, ShortPost
from tests.fake_tiktok import FakeTikTok
from tests.mediagen import color_bars_clip
from tubeflow.errors import AccountNeedsReconnect, PermanentError, PostingCapReached, TransientError

FLOOR = 16 * 1024
CHUNK = 40_000
FAST: dict[str, Any] = {"poll_s": 0.01, "timeout_s": 10.0, "chunk_size": CHUNK, "min_chunk": FLOOR}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return color_bars_clip(tmp_path_factory.mktemp("tiktok") / "short.mp4", seconds=2, width=180, height=320, fps=25)


@pytest.fixture
def fake() -> Any:
    with FakeTikTok() as f:
        f.min_chunk = FLOOR
        yield f


def token_for(fake: FakeTikTok, account: str = "default") -> PlatformToken:
    acc = fake.accounts[account]
    return PlatformToken(
        access_token=fake.issue_token(account),
        refresh_token=acc.refresh_token,
        expires_at=time.time() + 86400,
        account_id=acc.open_id,
        account_name=f"@{acc.username}",
    )


def short(clip: Path, **kw: Any) -> ShortPost:
    fields: dict[str, Any] = {
        "production_id": "prod-1",
        "index": 0,
        "video": clip,
        "caption": "Why the sky is blue\n\n#science #light",
        "title": "Why the sky is blue",
        "cover_ms": 1200,
    }
    fields.update(kw)
    return ShortPost(**fields)


def puts(fake: FakeTikTok) -> list[str]:
    return [what for method, what in fake.log if method == "PUT"]


class KilledLedger(MemoryLedger):
    """A worker SIGKILLed right after the ledger write that ``when`` picks out."""

    def __init__(self, when: Any) -> None:
        super().__init__()
        self.when = when

    def save(self, state: dict[str, Any]) -> None:
        super().save(state)
        if self.when(state):
            raise SystemExit("worker killed")


def carry_over(ledger: MemoryLedger) -> MemoryLedger:
    """The ledger as the next attempt reads it back from storage."""
    nxt = MemoryLedger()
    nxt.state = dict(ledger.state)
    return nxt


# ------------------------------------------------------------------------------------------ OAuth


def test_authorize_url_asks_for_the_scopes_with_a_hex_s256_challenge(fake: FakeTikTok) -> None:
    verifier = tiktok.new_code_verifier()
    assert 43 <= len(verifier) <= 128 and verifier != tiktok.new_code_verifier()
    url = urlparse(tiktok.authorize_url(fake.app(), "http://127.0.0.1:8765/callback/", "st-1", verifier))
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake.auth_url
    assert q["client_key"] == fake.client_key and q["response_type"] == "code" and q["state"] == "st-1"
    assert q["scope"] == tiktok.SCOPES and "video.publish" in q["scope"].split(",")
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == hashlib.sha256(verifier.encode()).hexdigest()


def consent(fake: FakeTikTok, verifier: str, redirect: str = "http://127.0.0.1:8765/callback/") -> str:
    resp = httpx.get(tiktok.authorize_url(fake.app(), redirect, "state-42", verifier))
    assert resp.status_code == 302
    back = urlparse(resp.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert f"{back.scheme}://{back.netloc}{back.path}" == redirect and q["state"] == "state-42"
    return q["code"]


def test_oauth_round_trip_with_pkce_then_refresh(fake: FakeTikTok) -> None:
    app, redirect = fake.app(), "http://127.0.0.1:8765/callback/"
    verifier = tiktok.new_code_verifier()
    token = tiktok.exchange_code(app, consent(fake, verifier, redirect), redirect, verifier)
    acc = fake.accounts["default"]
    assert token.account_id == acc.open_id and token.account_name == "@tubeflow_demo"
    assert set(token.scopes) == set(tiktok.SCOPES.split(","))
    assert token.access_token in fake.tokens and token.refresh_token == acc.refresh_token
    assert not tiktok.needs_refresh(token, time.time())
    assert tiktok.needs_refresh(token, token.expires_at - 599) and tiktok.needs_refresh(token, token.expires_at + 1)

    renewed = tiktok.refresh(app, token)
    assert renewed.access_token != token.access_token and renewed.access_token in fake.tokens
    assert renewed.refresh_token != token.refresh_token  # the fake rotates it: the new one must be kept
    assert (renewed.account_id, renewed.account_name) == (token.account_id, token.account_name)
    with pytest.raises(AccountNeedsReconnect):
        tiktok.refresh(app, token)  # the old refresh token was replaced
    assert tiktok.refresh(app, renewed).access_token in fake.tokens


def test_a_wrong_verifier_is_refused_at_the_token_exchange(fake: FakeTikTok) -> None:
    redirect = "http://127.0.0.1:8765/callback/"
    code = consent(fake, tiktok.new_code_verifier(), redirect)
    with pytest.raises(PermanentError, match="Code verifier or code challenge is invalid") as err:
        tiktok.exchange_code(fake.app(), code, redirect, tiktok.new_code_verifier())
    assert not isinstance(err.value, AccountNeedsReconnect)
    assert not fake.tokens


def test_a_revoked_authorization_needs_reconnecting(fake: FakeTikTok) -> None:
    token = token_for(fake)
    fake.revoke()
    with pytest.raises(AccountNeedsReconnect, match="tubeflow channel connect CHANNEL --platform tiktok"):
        tiktok.refresh(fake.app(), token)


def test_a_denied_scope_needs_reconnecting(fake: FakeTikTok) -> None:
    fake.grant_scopes = {"user.info.basic", "video.publish"}  # the person untoggled the profile scope
    redirect, verifier = "http://127.0.0.1:8765/callback/", tiktok.new_code_verifier()
    with pytest.raises(AccountNeedsReconnect, match="scope_not_authorized"):
        tiktok.exchange_code(fake.app(), consent(fake, verifier, redirect), redirect, verifier)


# ---------------------------------------------------------------------------------------- posting


def test_a_short_goes_up_in_chunks_and_posts_once(fake: FakeTikTok, clip: Path) -> None:
    ledger = MemoryLedger()
    post = short(clip)
    outcome = tiktok.post_short(fake.app(), token_for(fake), post, ledger, **FAST)

    [live] = fake.posts()
    assert len(fake.inits()) == 1
    assert bytes(live.data) == clip.read_bytes()
    size = clip.stat().st_size
    assert puts(fake) == [f"bytes 0-39999/{size}", f"bytes 40000-79999/{size}", f"bytes 80000-{size - 1}/{size}"]
    assert live.source_info == {
        "source": "FILE_UPLOAD",
        "video_size": size,
        "chunk_size": CHUNK,
        "total_chunk_count": 3,
    }
    info = live.post_info
    assert info["title"] == post.caption and info["is_aigc"] is True and info["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert info["video_cover_timestamp_ms"] == 1200
    assert info["brand_content_toggle"] is False and info["brand_organic_toggle"] is False
    assert outcome.post_id == str(live.post_id) and outcome.post_id.isdigit()
    assert outcome.url == f"https://www.tiktok.com/@tubeflow_demo/video/{live.post_id}"
    assert ledger.state["outcome"]["post_id"] == outcome.post_id and ledger.state["next_chunk"] == 3


def test_a_completed_ledger_returns_without_calling_tiktok(fake: FakeTikTok, clip: Path) -> None:
    ledger = MemoryLedger()
    first = tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    fake.log.clear()
    nowhere = PlatformApp("k", "s", "http://127.0.0.1:9", "http://127.0.0.1:9/auth")  # any call would fail
    again = tiktok.post_short(nowhere, PlatformToken("expired"), short(clip), carry_over(ledger), **FAST)
    assert again == first and fake.log == [] and len(fake.posts()) == 1


def test_a_dropped_connection_mid_upload_resumes_into_one_post(fake: FakeTikTok, clip: Path) -> None:
    fake.drop_after_chunks = 1
    ledger = MemoryLedger()
    with pytest.raises(TransientError, match="chunk 2/3"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    assert ledger.state["next_chunk"] == 1 and not fake.posts()

    outcome = tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    [live] = fake.posts()
    assert len(fake.inits()) == 1 and outcome.post_id == str(live.post_id)
    assert bytes(live.data) == clip.read_bytes()


def test_a_lost_answer_to_a_stored_chunk_resends_it_harmlessly(fake: FakeTikTok, clip: Path) -> None:
    fake.drop_after_chunks, fake.drop_stored = 1, True  # chunk 2 arrived; its 206 never did
    ledger = MemoryLedger()
    with pytest.raises(TransientError):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    [live] = fake.posts()
    assert len(fake.inits()) == 1 and bytes(live.data) == clip.read_bytes()
    assert puts(fake).count(f"bytes 40000-79999/{clip.stat().st_size}") == 2


@pytest.mark.parametrize(
    "killed_when",
    [
        lambda s: s.get("publish_id") and s.get("next_chunk") == 0,  # right after video/init
        lambda s: s.get("next_chunk") == 1,  # after the first chunk
        lambda s: s.get("next_chunk") == 3,  # every byte sent, not yet published
    ],
    ids=["after-init", "after-chunk-1", "after-last-chunk"],
)
def test_a_worker_killed_after_any_step_resumes_into_one_post(fake: FakeTikTok, clip: Path, killed_when: Any) -> None:
    ledger = KilledLedger(killed_when)
    with pytest.raises(SystemExit):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    outcome = tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    [live] = fake.posts()
    assert len(fake.inits()) == 1 and outcome.post_id == str(live.post_id)
    assert bytes(live.data) == clip.read_bytes()


def test_an_expired_upload_url_starts_a_new_upload_and_still_posts_once(fake: FakeTikTok, clip: Path) -> None:
    fake.drop_after_chunks = 1
    ledger = MemoryLedger()
    with pytest.raises(TransientError):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    fake.expire_uploads()  # TikTok no longer takes bytes on that URL (the client's clock says it still should)
    tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    first, second = fake.inits()
    assert first.status == "PROCESSING_UPLOAD" and len(first.data) < first.size  # can never publish
    assert fake.posts() == [second] and bytes(second.data) == clip.read_bytes()


def test_an_upload_past_its_hour_is_not_resumed(fake: FakeTikTok, clip: Path) -> None:
    ledger = KilledLedger(lambda s: s.get("next_chunk") == 1)
    with pytest.raises(SystemExit):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    later = carry_over(ledger)
    later.state["upload_expires_at"] = time.time() - 1
    fake.log.clear()
    tiktok.post_short(fake.app(), token_for(fake), short(clip), later, **FAST)
    assert len(fake.inits()) == 2 and len(fake.posts()) == 1
    assert f"bytes 40000-79999/{clip.stat().st_size}" in puts(fake) and puts(fake)[0].startswith("bytes 0-")
    assert later.state["abandoned"] == [fake.inits()[0].publish_id]


def test_a_failed_publish_is_permanent_and_a_later_retry_posts_afresh(fake: FakeTikTok, clip: Path) -> None:
    fake.fail_publish("frame_rate_check_failed")
    ledger = MemoryLedger()
    with pytest.raises(PermanentError, match="frame_rate_check_failed.*23 to 60"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    assert "publish_id" not in ledger.state and not fake.posts()
    tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    assert len(fake.inits()) == 2 and len(fake.posts()) == 1


def test_tiktoks_internal_failure_found_on_resume_posts_again(fake: FakeTikTok, clip: Path) -> None:
    fake.fail_publish("internal")
    fake.processing_polls = 0  # the resumed attempt's first status/fetch already says FAILED
    ledger = KilledLedger(lambda s: s.get("next_chunk") == 3)
    with pytest.raises(SystemExit):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), ledger, **FAST)
    tiktok.post_short(fake.app(), token_for(fake), short(clip), carry_over(ledger), **FAST)
    first, second = fake.inits()
    assert first.status == "FAILED" and fake.posts() == [second]


def test_a_revoked_token_needs_reconnecting(fake: FakeTikTok, clip: Path) -> None:
    token = token_for(fake)
    fake.revoke()
    with pytest.raises(AccountNeedsReconnect, match="access_token_invalid.*--platform tiktok"):
        tiktok.post_short(fake.app(), token, short(clip), MemoryLedger(), **FAST)
    assert not fake.inits()


def test_the_daily_cap_waits_a_day(fake: FakeTikTok, clip: Path) -> None:
    fake.daily_cap = 1
    tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    with pytest.raises(PostingCapReached, match="spam_risk_too_many_posts") as err:
        tiktok.post_short(fake.app(), token_for(fake), short(clip, index=1), MemoryLedger(), **FAST)
    wait = datetime.fromisoformat(err.value.retry_at).timestamp() - time.time()
    assert 23 * 3600 < wait <= 24 * 3600 + 5
    assert len(fake.inits()) == 1


def test_a_rate_limit_waits_minutes(fake: FakeTikTok, clip: Path) -> None:
    fake.fail_next("init", 429, "rate_limit_exceeded", "API rate limit was exceeded")
    with pytest.raises(PostingCapReached, match="rate limit") as err:
        tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    wait = datetime.fromisoformat(err.value.retry_at).timestamp() - time.time()
    assert 60 < wait < 15 * 60
    assert not fake.inits()


def test_a_private_channel_posts_self_only(fake: FakeTikTok, clip: Path) -> None:
    outcome = tiktok.post_short(fake.app(), token_for(fake), short(clip, private=True), MemoryLedger(), **FAST)
    [live] = fake.posts()
    assert live.post_info["privacy_level"] == "SELF_ONLY"
    assert outcome.post_id == live.publish_id and outcome.url == ""  # a private post has no public id


def test_privacy_falls_back_to_what_the_account_offers(fake: FakeTikTok, clip: Path) -> None:
    fake.accounts["default"].privacy_level_options = ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]  # a private account
    tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    assert fake.posts()[0].post_info["privacy_level"] == "FOLLOWER_OF_CREATOR"
    fake.accounts["default"].privacy_level_options = ["PUBLIC_TO_EVERYONE"]
    with pytest.raises(PermanentError, match="no SELF_ONLY"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip, private=True), MemoryLedger(), **FAST)
    assert len(fake.inits()) == 1


def test_interactions_the_creator_turned_off_stay_off(fake: FakeTikTok, clip: Path) -> None:
    fake.accounts["default"].comment_disabled = True
    fake.accounts["default"].stitch_disabled = True
    tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    info = fake.posts()[0].post_info
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (True, False, True)


def test_a_video_longer_than_the_account_allows_is_refused(fake: FakeTikTok, clip: Path) -> None:
    fake.accounts["default"].max_video_post_duration_sec = 1
    with pytest.raises(PermanentError, match=r"2\.0 seconds long.*at most 1 seconds"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    assert not fake.inits()


def test_an_unaudited_app_explains_the_audit(fake: FakeTikTok, clip: Path) -> None:
    fake.audited = False
    with pytest.raises(PermanentError, match="audit") as err:
        tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    assert type(err.value) is PermanentError and not fake.inits()


def test_server_errors_are_transient_and_other_refusals_carry_the_log_id(fake: FakeTikTok, clip: Path) -> None:
    fake.fail_next("creator_info", 503, "internal_error", "Something went wrong")
    with pytest.raises(TransientError):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    fake.fail_next("init", 400, "invalid_params", "title contains a banned word")
    with pytest.raises(PermanentError, match="title contains a banned word; log_id [0-9A-F]{20}"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip), MemoryLedger(), **FAST)
    assert not fake.inits()


def test_pull_from_url_sends_no_bytes(fake: FakeTikTok, clip: Path) -> None:
    fake.verified_url_prefixes = ["https://media.example.org/"]
    post = short(clip, video_url="https://media.example.org/prod-1/short-0.mp4")
    tiktok.post_short(fake.app(), token_for(fake), post, MemoryLedger(), **FAST)
    [live] = fake.posts()
    assert live.source_info == {"source": "PULL_FROM_URL", "video_url": post.video_url} and puts(fake) == []
    with pytest.raises(PermanentError, match="url_ownership_unverified.*Verify domains"):
        tiktok.post_short(
            fake.app(),
            token_for(fake),
            short(clip, video_url="https://elsewhere.example/x.mp4"),
            MemoryLedger(),
            **FAST,
        )


def test_a_pull_whose_answer_was_lost_is_not_posted_again(fake: FakeTikTok, clip: Path) -> None:
    ledger = MemoryLedger()
    ledger.state = {"pull_unconfirmed": True}  # the attempt that sent video/init never heard back
    with pytest.raises(PermanentError, match="may already be on TikTok"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip, video_url="https://m.example/x.mp4"), ledger)
    assert fake.log == []


# ---------------------------------------------------------------------------------------- figures


def test_video_stats_asks_in_batches_of_twenty(fake: FakeTikTok) -> None:
    ids = [fake.add_video(views=100 + i, likes=i, comments=2 * i, shares=3 * i) for i in range(45)]
    foreign = fake.add_video(account=fake.add_account("other", "someone", "Someone").name, views=5)
    stats = tiktok.video_stats(fake.app(), token_for(fake), [*ids, foreign, "v_pub_file~v2-1.123", ids[0]])
    assert [len(b) for b in fake.query_batches] == [20, 20, 6]
    assert set(stats) == set(ids)
    assert stats[ids[7]] == {"views": 107, "likes": 7, "comments": 14, "shares": 21}
    assert tiktok.video_stats(fake.app(), token_for(fake), []) == {}


# ---------------------------------------------------------------------------------------- caption


def test_caption_builds_at_most_five_clean_hashtags() -> None:
    text = tiktok.caption_for(
        "Why the sky is blue",
        "Rayleigh scattering, explained.",
        ["science", "Sky-Colour", "#light", "science", "SCIENCE", "physics!", "  ", "__", "a b", "optics", "extra"],
    )
    assert text == "Why the sky is blue\n\nRayleigh scattering, explained.\n\n#science #SkyColour #light #physics #ab"
    assert tiktok.caption_for("", "", ["x"]) == "#x"
    assert tiktok.caption_for("Title", "", []) == "Title"


def test_caption_is_trimmed_at_a_word_boundary_within_2200_utf16_units() -> None:
    words = ["ocean🌊"] * 600  # the emoji is two UTF-16 units: 7 units and a space per word
    text = tiktok.caption_for("Waves", " ".join(words), ["sea", "tides"])
    assert tiktok.utf16_len(text) <= 2200 and len(text) < 2200  # counted in UTF-16, not code points
    body, tags = text.rsplit("\n\n", 1)
    assert tags == "#sea #tides" and body.endswith("ocean🌊…")
    assert body.startswith("Waves\n\nocean🌊 ocean🌊")
    one_word = tiktok.caption_for("x" * 3000, "", [])
    assert tiktok.utf16_len(one_word) == 2200 and one_word.endswith("…")


def test_a_caption_over_the_limit_is_refused_before_anything_is_sent(fake: FakeTikTok, clip: Path) -> None:
    with pytest.raises(PermanentError, match="2201 UTF-16 units"):
        tiktok.post_short(fake.app(), token_for(fake), short(clip, caption="a" * 2201), MemoryLedger(), **FAST)
    assert fake.log == []


# ------------------------------------------------------------------------------------ chunk rules


def test_chunk_plan_follows_the_media_transfer_guide() -> None:
    mb = 1024 * 1024
    assert tiktok.chunk_plan(50_000_123, 10_000_000) == (10_000_000, 5)  # the guide's own example
    assert tiktok.chunk_range(4, 10_000_000, 5, 50_000_123) == (40_000_000, 50_000_122)
    assert tiktok.chunk_plan(3 * mb, 10 * mb) == (3 * mb, 1)  # under 5 MB: whole
    assert tiktok.chunk_plan(3 * mb, 1 * mb) == (3 * mb, 1)
    assert tiktok.chunk_plan(12 * mb, 10 * mb) == (10 * mb, 1)  # one chunk carrying the trailing 2 MB
    assert tiktok.chunk_plan(30 * mb, 1 * mb) == (5 * mb, 6)  # never under the 5 MB floor
    assert tiktok.chunk_plan(200 * mb, 100 * mb) == (64 * mb, 3)  # never over 64 MB
    assert tiktok.chunk_plan(70 * mb, 100 * mb) == (35 * mb, 2)  # over 64 MB: several chunks
    with pytest.raises(PermanentError):
        tiktok.chunk_plan(0, 10 * mb)
