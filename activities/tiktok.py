"""TikTok: Login Kit v2 OAuth with PKCE, Content Posting API "Direct Post", Display API video figures.

Plain synchronous httpx (the cross-posting adapter runs it in a thread), written from TikTok's
public reference so tests run the same code against ``tests/fake_tiktok.py``.  A Direct Post is
four steps: ``creator_info/query`` (what this creator may post: privacy levels, the longest
video), ``video/init`` (a ``publish_id`` and an ``upload_url``), the chunk PUTs, and polling
``status/fetch`` until TikTok publishes or fails it.  Every step is written to the
:class:`~activities.platform_api.PostLedger`, so an attempt that dies anywhere resumes from the
platform's own answer and never calls ``video/init`` twice while the first post may still appear.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from activities.platform_api import PlatformApp, PlatformToken, PostLedger, PostOutcome, ShortPost
from tubeflow.errors import (
    AccountNeedsReconnect,
    ConfigError,
    PermanentError,
    PostingCapReached,
    TransientError,
)

# user.info.profile is what `username` (the @handle in post URLs) needs since TikTok's 2024 scope
# migration, and video/query (video_stats) needs video.list: user.info.basic alone gives neither.
SCOPES = "user.info.basic,user.info.profile,video.publish,video.list"
RECONNECT = "`tubeflow channel connect CHANNEL --platform tiktok`"
REFRESH_MARGIN_S = 600.0  # refresh when the access token (24 h) expires within 10 minutes

# Media Transfer Guide: chunks of 5-64 MB except the last (which takes the trailing bytes, up to
# 128 MB); a file under 5 MB is one chunk; a file over 64 MB is several; 1 to 1000 chunks.
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
MAX_CHUNKS = 1000
DEFAULT_CHUNK = 10 * 1024 * 1024
UPLOAD_URL_TTL_S = 3600.0  # "upload_url ... valid for one hour after initialization"
CAPTION_LIMIT = 2200  # post_info.title, in UTF-16 code units
MAX_HASHTAGS = 5
STATS_BATCH = 20  # video/query takes at most 20 ids
STATS_FIELDS = "id,view_count,like_count,comment_count,share_count"

DAILY_CAPS = {"spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"}
PRIVACY_FALLBACK = ("PUBLIC_TO_EVERYONE", "FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS")
ERROR_HINTS = {
    "privacy_level_option_mismatch": "the privacy level is not one creator_info/query offers this account",
    "url_ownership_unverified": (
        "video_url's domain or URL prefix is not verified for this app (TikTok for Developers > your app > "
        "Content Posting API > Verify domains)"
    ),
    "invalid_params": "TikTok found a field it does not accept; the message names it",
    "spam_risk_text": "TikTok flagged the caption as spam; edit it and publish again",
}
FAIL_HINTS = {
    "file_format_check_failed": "TikTok takes MP4, WebM or MOV with H.264, H.265, VP8 or VP9",
    "duration_check_failed": "the video is longer than this account may post (or under 3 s)",
    "frame_rate_check_failed": "TikTok needs 23 to 60 frames per second",
    "picture_size_check_failed": "each side of the picture must be 360 to 4096 pixels",
    "video_pull_failed": "TikTok could not download video_url: it must be public and on a verified domain",
    "publish_cancelled": "the post was cancelled on TikTok's side",
    "spam_risk_text": "TikTok flagged the caption as spam; edit it and publish again",
    "spam_risk": "TikTok's spam checks refused the post",
}
# FAILED for these reasons is TikTok's own trouble: a new init may succeed.
RETRYABLE_FAILS = {"internal", ""}


# ----------------------------------------------------------------------------------------- OAuth


def new_code_verifier() -> str:
    """A PKCE verifier: 64 characters from RFC 7636's unreserved set (TikTok takes 43 to 128)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    return "".join(secrets.choice(alphabet) for _ in range(64))


def code_challenge(code_verifier: str) -> str:
    """TikTok's S256 challenge: the *hex* SHA-256 of the verifier.

    TikTok departs from RFC 7636 here (which uses unpadded base64url): Login Kit for Desktop says
    "you must use hex encoding of SHA256 to generate the code challenge", and a base64url challenge
    is refused at the token exchange with "Code verifier or code challenge is invalid".
    """
    return hashlib.sha256(code_verifier.encode("ascii")).hexdigest()


def authorize_url(app: PlatformApp, redirect_uri: str, state: str, code_verifier: str) -> str:
    """Where the person consents; TikTok sends them back to ``redirect_uri`` with ``code`` and ``state``."""
    query = {
        "client_key": app.client_id,
        "scope": SCOPES,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    return f"{app.auth_url}{'&' if '?' in app.auth_url else '?'}{urlencode(query)}"


def exchange_code(app: PlatformApp, code: str, redirect_uri: str, code_verifier: str) -> PlatformToken:
    """Trade the callback's code for tokens, then read who the account is (open_id, @handle)."""
    form = {
        "client_key": app.client_id,
        "client_secret": app.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    with _http() as http:
        token = _token_call(http, app, form, refreshing=False)
        fields = {"fields": "open_id,display_name,username"}
        data = _call(http, app, token, "GET", "/v2/user/info/", "user/info", params=fields)
    user = data.get("user") or {}
    token.account_id = str(user.get("open_id") or token.account_id)
    handle = str(user.get("username") or "")
    token.account_name = f"@{handle}" if handle else str(user.get("display_name") or "")
    return token


def refresh(app: PlatformApp, token: PlatformToken) -> PlatformToken:
    """A fresh access token; TikTok may rotate the refresh token too, so store what this returns."""
    if not token.refresh_token or (token.refresh_expires_at and token.refresh_expires_at < time.time()):
        raise AccountNeedsReconnect(
            f"the TikTok authorization of {token.account_name or 'this account'} has expired (refresh tokens "
            f"last 365 days); run {RECONNECT}"
        )
    form = {
        "client_key": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": token.refresh_token,
    }
    with _http() as http:
        new = _token_call(http, app, form, refreshing=True)
    new.account_id = new.account_id or token.account_id
    new.account_name = token.account_name
    new.refresh_token = new.refresh_token or token.refresh_token
    return new


def needs_refresh(token: PlatformToken, now: float) -> bool:
    return token.expires_at - now < REFRESH_MARGIN_S


def _token_call(http: httpx.Client, app: PlatformApp, form: dict[str, str], *, refreshing: bool) -> PlatformToken:
    what = "the token refresh" if refreshing else "the authorization code exchange"
    try:
        resp = http.post(f"{app.api_base}/v2/oauth/token/", data=form)
    except httpx.TransportError as e:
        raise TransientError(f"TikTok unreachable during {what} ({e.__class__.__name__})") from e
    body = _json(resp)
    err = body.get("error")
    if (isinstance(err, str) and err not in ("", "ok")) or resp.status_code >= 400:
        code = err if isinstance(err, str) else ""
        desc = str(body.get("error_description") or "")
        log = f"; log_id {body['log_id']}" if body.get("log_id") else ""
        detail = f"{code or resp.status_code}: {desc}{log}"
        if resp.status_code >= 500 or code in ("server_error", "temporarily_unavailable"):
            raise TransientError(f"TikTok could not complete {what} right now ({detail})")
        if code == "invalid_client":
            raise ConfigError(
                f"TikTok rejected the app's credentials ({detail}): check TUBEFLOW_TIKTOK_CLIENT_KEY and "
                "TUBEFLOW_TIKTOK_CLIENT_SECRET"
            )
        if refreshing:
            raise AccountNeedsReconnect(
                f"TikTok refused to refresh the token ({detail}): the authorization was revoked or has expired; "
                f"run {RECONNECT}"
            )
        raise PermanentError(f"TikTok refused {what} ({detail}); start the connection again with {RECONNECT}")
    if not body.get("access_token"):
        raise TransientError(f"TikTok answered {what} without an access token")
    now = time.time()
    return PlatformToken(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or ""),
        expires_at=now + float(body.get("expires_in") or 0),
        refresh_expires_at=now + float(body.get("refresh_expires_in") or 0) if body.get("refresh_expires_in") else 0,
        account_id=str(body.get("open_id") or ""),
        scopes=[s for s in str(body.get("scope") or "").split(",") if s],
    )


# ------------------------------------------------------------------------------------ API errors


def _http() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0))


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


class _RateLimited(PostingCapReached):
    """A per-minute rate limit (not a daily cap): a poll loop may just slow down."""


def api_error(status: int, code: str, message: str, log_id: str, what: str, retry_after: str = "") -> Exception:
    """TikTok's ``error.code`` (and the HTTP status) as the error that tells the workflow what to do."""
    said = f"{code or status}: {message}" if message else (code or str(status))
    said += f"; log_id {log_id}" if log_id else ""
    if code == "scope_not_authorized":
        return AccountNeedsReconnect(
            f"TikTok refused {what} ({said}): the account did not grant every permission tubeflow asks for "
            f"({SCOPES}); run {RECONNECT} and allow them all"
        )
    if code == "access_token_invalid" or status == 401:
        return AccountNeedsReconnect(
            f"TikTok refused {what} ({said}): the access token is invalid or was revoked; run {RECONNECT}"
        )
    if code in DAILY_CAPS:
        who = "this app's daily active-user cap" if code == "reached_active_user_cap" else "this account's posting cap"
        return PostingCapReached(
            f"TikTok refused {what} ({said}): {who} is reached; trying again in 24 h", _iso_in(86400)
        )
    if code == "rate_limit_exceeded" or status == 429:
        wait = max(180.0, float(retry_after) if retry_after.isdigit() else 0.0)
        return _RateLimited(f"TikTok rate limit during {what} ({said}); trying again in a few minutes", _iso_in(wait))
    if code == "unaudited_client_can_only_post_to_private_accounts":
        return PermanentError(
            f"TikTok refused {what} ({said}): this app (TUBEFLOW_TIKTOK_CLIENT_KEY) has not passed TikTok's "
            "Content Posting API audit, and until it does it may only post to private accounts; make the TikTok "
            "account private and the channel publish privately (SELF_ONLY), or submit the app for audit in "
            "TikTok for Developers"
        )
    if status >= 500 or code == "internal_error":
        return TransientError(f"TikTok is unavailable for {what} ({said})", retry_after_s=10.0)
    hint = f"; {ERROR_HINTS[code]}" if code in ERROR_HINTS else ""
    return PermanentError(f"TikTok rejected {what} ({status} {said}){hint}")


def _check(resp: httpx.Response, what: str) -> dict[str, Any]:
    """The ``data`` of a success envelope (``error.code == "ok"``), or the mapped error."""
    body = _json(resp)
    found = body.get("error")
    err: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(err.get("code") or "")
    if resp.status_code < 400 and code in ("", "ok"):
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    log_id = str(err.get("log_id") or resp.headers.get("x-tt-logid") or "")
    message = str(err.get("message") or ("" if body else resp.text[:200]))
    raise api_error(resp.status_code, code, message, log_id, what, resp.headers.get("Retry-After", ""))


def _call(
    http: httpx.Client,
    app: PlatformApp,
    token: PlatformToken,
    method: str,
    path: str,
    what: str,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token.access_token}"}
    if body is not None:
        headers["Content-Type"] = "application/json; charset=UTF-8"
    try:
        resp = http.request(method, f"{app.api_base}{path}", params=params, json=body, headers=headers)
    except httpx.TransportError as e:
        raise TransientError(f"TikTok unreachable during {what} ({e.__class__.__name__})") from e
    return _check(resp, what)


# ------------------------------------------------------------------------------------- posting


def chunk_plan(size: int, chunk_size: int, min_chunk: int = MIN_CHUNK, max_chunk: int = MAX_CHUNK) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) under TikTok's chunk rules; the last chunk takes the remainder."""
    if size <= 0:
        raise PermanentError("the video file is empty")
    if size < min_chunk:
        return size, 1
    chunk = min(max(chunk_size, min_chunk), max_chunk)
    if chunk >= size:
        return size, 1
    count = size // chunk
    if count == 1 and size > max_chunk:  # over 64 MB must be several chunks: two halves
        chunk = size // 2
        count = 2
    if count > MAX_CHUNKS:
        raise PermanentError(f"the video is {size} bytes: over TikTok's {MAX_CHUNKS} chunks of {max_chunk} bytes")
    return chunk, count


def chunk_range(index: int, chunk: int, count: int, size: int) -> tuple[int, int]:
    """First and last byte of chunk ``index`` (inclusive), as Content-Range states them."""
    first = index * chunk
    return first, size - 1 if index == count - 1 else first + chunk - 1


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def video_duration_s(path: Path) -> float:
    """The file's duration, read through PyAV (the project's probe: the FFmpeg wheel has no ffprobe)."""
    from tubeflow.media.probe import probe

    return probe(path).duration_s


class _UploadExpired(Exception):
    """The upload URL no longer takes bytes: the upload it belonged to can never become a post."""


def _choose_privacy(options: list[str], private: bool) -> str:
    if private:
        if "SELF_ONLY" in options:
            return "SELF_ONLY"
        raise PermanentError(
            f"the channel publishes privately but this TikTok account offers no SELF_ONLY post (it offers "
            f"{', '.join(options) or 'nothing'})"
        )
    for level in PRIVACY_FALLBACK + ("SELF_ONLY",):
        if level in options:
            return level
    raise PermanentError(
        f"TikTok offers this account no privacy level tubeflow can use ({', '.join(options) or 'none'}); "
        "check the account on TikTok (a banned or restricted account cannot post)"
    )


class _Poster:
    """One post_short call: the ledger's state in memory, saved after each step."""

    def __init__(
        self,
        http: httpx.Client,
        app: PlatformApp,
        token: PlatformToken,
        post: ShortPost,
        ledger: PostLedger,
        state: dict[str, Any],
        poll_s: float,
        timeout_s: float,
        chunk_size: int,
        min_chunk: int,
    ) -> None:
        self.http, self.app, self.token, self.post, self.ledger = http, app, token, post, ledger
        self.state = state
        self.poll_s, self.timeout_s, self.chunk_size, self.min_chunk = poll_s, timeout_s, chunk_size, min_chunk

    def call(self, path: str, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return _call(self.http, self.app, self.token, "POST", path, what, body=body if body is not None else {})

    def save(self) -> None:
        self.ledger.save(dict(self.state))

    def forget_publish(self) -> None:
        """The publish is over (FAILED or its upload expired): keep its id for the record, start clean."""
        old = self.state.pop("publish_id", None)
        for key in (
            "source",
            "upload_url",
            "upload_expires_at",
            "video_size",
            "chunk_size",
            "total_chunk_count",
            "next_chunk",
        ):
            self.state.pop(key, None)
        if old:
            self.state["abandoned"] = [*self.state.get("abandoned", []), old]
        self.save()

    def run(self) -> PostOutcome:
        if self.state.get("publish_id"):
            done = self.resume()
            if done is not None:
                return done
        if self.state.get("pull_unconfirmed"):
            raise PermanentError(
                "an earlier attempt asked TikTok to pull the video from its URL and lost the answer, so the Short "
                "may already be on TikTok; check the account before publishing it there again"
            )
        for _ in range(2):  # a second init only when the first upload URL died before the upload finished
            self.init()
            try:
                self.upload(0)
            except _UploadExpired:
                self.forget_publish()
                continue
            return self.wait()
        raise TransientError("TikTok's upload URL stopped taking bytes twice in a row; trying again later")

    def resume(self) -> PostOutcome | None:
        """Ask TikTok where the recorded publish stands; None when it is over and a new init is safe."""
        data = self.status()
        status = str(data.get("status") or "")
        if status == "PUBLISH_COMPLETE":
            return self.finish(data)
        if status == "FAILED":
            error = self.failed(data)
            if isinstance(error, TransientError):
                return None  # TikTok's own failure: nothing was posted, a new init may work
            raise error
        if status == "PROCESSING_UPLOAD" and self.state.get("source") == "FILE_UPLOAD":
            fresh = time.time() < float(self.state.get("upload_expires_at") or 0) - 60
            same = self.post.video.is_file() and self.state.get("video_size") == self.post.video.stat().st_size
            if not (fresh and same and self.state.get("upload_url")):
                self.forget_publish()  # bytes missing and no way to send them: it can never publish
                return None
            try:
                self.upload(int(self.state.get("next_chunk") or 0))
            except _UploadExpired:
                self.forget_publish()
                return None
        return self.wait()

    def creator(self) -> dict[str, Any]:
        return self.call("/v2/post/publish/creator_info/query/", "creator_info/query")

    def init(self) -> None:
        post = self.post
        caption_units = utf16_len(post.caption)
        if caption_units > CAPTION_LIMIT:
            raise PermanentError(
                f"the TikTok caption is {caption_units} UTF-16 units; TikTok allows {CAPTION_LIMIT} (see caption_for)"
            )
        if not post.video_url and not post.video.is_file():
            raise PermanentError(f"the Short's video {post.video} is missing; fetch it from storage again")
        creator = self.creator()
        options = [str(o) for o in creator.get("privacy_level_options") or []]
        privacy = _choose_privacy(options, post.private)
        longest = int(creator.get("max_video_post_duration_sec") or 0)
        if longest and post.video.exists():
            duration = video_duration_s(post.video)
            if duration > longest:
                raise PermanentError(
                    f"the Short is {duration:.1f} seconds long; this TikTok account may post at most {longest} seconds"
                )
        post_info = {
            "title": post.caption,
            "privacy_level": privacy,
            "disable_comment": bool(creator.get("comment_disabled")),
            "disable_duet": bool(creator.get("duet_disabled")),
            "disable_stitch": bool(creator.get("stitch_disabled")),
            "video_cover_timestamp_ms": int(post.cover_ms),
            "brand_content_toggle": False,
            "brand_organic_toggle": False,
            "is_aigc": bool(post.aigc),
        }
        handle = str(creator.get("creator_username") or "")
        if handle:
            self.state["handle"] = handle
        if post.video_url:
            self.init_pull(post_info)
            return
        size = post.video.stat().st_size
        chunk, count = chunk_plan(size, self.chunk_size, self.min_chunk)
        source = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}
        data = self.call("/v2/post/publish/video/init/", "video/init", {"post_info": post_info, "source_info": source})
        if not data.get("publish_id") or not data.get("upload_url"):
            raise TransientError("TikTok accepted video/init but sent no publish_id or upload_url")
        self.state.update(
            publish_id=str(data["publish_id"]),
            source="FILE_UPLOAD",
            upload_url=str(data["upload_url"]),
            upload_expires_at=time.time() + UPLOAD_URL_TTL_S,
            video_size=size,
            chunk_size=chunk,
            total_chunk_count=count,
            next_chunk=0,
        )
        self.save()

    def init_pull(self, post_info: dict[str, Any]) -> None:
        """PULL_FROM_URL: TikTok starts posting as soon as it has the request, so a lost answer is marked."""
        source = {"source": "PULL_FROM_URL", "video_url": self.post.video_url}
        self.state["pull_unconfirmed"] = True
        self.save()
        url = f"{self.app.api_base}/v2/post/publish/video/init/"
        headers = {
            "Authorization": f"Bearer {self.token.access_token}",
            "Content-Type": "application/json; charset=UTF-8",
        }
        try:
            resp = self.http.post(url, json={"post_info": post_info, "source_info": source}, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:  # never reached TikTok
            self.state.pop("pull_unconfirmed")
            self.save()
            raise TransientError(f"TikTok unreachable during video/init ({e.__class__.__name__})") from e
        except httpx.TransportError as e:  # may have reached TikTok: the mark stays
            raise TransientError(f"TikTok's answer to video/init was lost ({e.__class__.__name__})") from e
        self.state.pop("pull_unconfirmed")
        try:
            data = _check(resp, "video/init")
        except Exception:
            self.save()
            raise
        if not data.get("publish_id"):
            self.save()
            raise TransientError("TikTok accepted video/init but sent no publish_id")
        self.state.update(publish_id=str(data["publish_id"]), source="PULL_FROM_URL")
        self.save()

    def upload(self, start: int) -> None:
        """PUT chunks ``start``.. in order; the ledger learns each one TikTok took."""
        if self.state.get("source") != "FILE_UPLOAD":
            return
        url, size = str(self.state["upload_url"]), int(self.state["video_size"])
        chunk, count = int(self.state["chunk_size"]), int(self.state["total_chunk_count"])
        with self.post.video.open("rb") as fh:
            for index in range(start, count):
                first, last = chunk_range(index, chunk, count, size)
                fh.seek(first)
                data = fh.read(last - first + 1)
                headers = {
                    "Content-Type": "video/mp4",
                    "Content-Length": str(len(data)),
                    "Content-Range": f"bytes {first}-{last}/{size}",
                }
                try:
                    resp = self.http.put(url, content=data, headers=headers)
                except httpx.TransportError as e:
                    raise TransientError(
                        f"the TikTok upload broke off at chunk {index + 1}/{count} ({e.__class__.__name__}); "
                        "a retry continues from there"
                    ) from e
                if resp.status_code in (403, 404, 410):
                    raise _UploadExpired()
                if resp.status_code not in (200, 201, 206):
                    _check(resp, f"the upload of chunk {index + 1}/{count}")
                    raise PermanentError(f"TikTok answered {resp.status_code} to chunk {index + 1}/{count}")
                self.state["next_chunk"] = index + 1
                self.save()

    def status(self) -> dict[str, Any]:
        return self.call("/v2/post/publish/status/fetch/", "status/fetch", {"publish_id": self.state["publish_id"]})

    def wait(self) -> PostOutcome:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                data = self.status()
            except _RateLimited:
                if time.monotonic() > deadline:
                    raise
                data = {"status": "RATE_LIMITED"}  # status/fetch allows 30 calls a minute: slow down
                time.sleep(max(self.poll_s, 5.0))
            status = str(data.get("status") or "")
            if status == "PUBLISH_COMPLETE":
                return self.finish(data)
            if status == "FAILED":
                raise self.failed(data)
            if time.monotonic() > deadline:
                raise TransientError(
                    f"TikTok is still processing publish {self.state['publish_id']} ({status}) after "
                    f"{self.timeout_s:.0f} s; a retry checks it again without posting twice"
                )
            time.sleep(self.poll_s)

    def failed(self, data: dict[str, Any]) -> Exception:
        reason = str(data.get("fail_reason") or "")
        publish_id = self.state.get("publish_id")
        self.forget_publish()
        what = f"the post (publish {publish_id})"
        if reason in DAILY_CAPS or reason == "auth_removed":
            code = "access_token_invalid" if reason == "auth_removed" else reason
            return api_error(400, code, f"publish FAILED: {reason}", "", what)
        if reason in RETRYABLE_FAILS:
            return TransientError(f"TikTok failed {what} ({reason or 'no reason given'}); trying again")
        hint = f": {FAIL_HINTS[reason]}" if reason in FAIL_HINTS else ""
        return PermanentError(f"TikTok failed {what} ({reason}){hint}")

    def finish(self, data: dict[str, Any]) -> PostOutcome:
        ids = [str(i) for i in data.get("publicaly_available_post_id") or []]  # sic: TikTok's spelling
        post_id = ids[0] if ids else str(self.state["publish_id"])
        handle = (self.token.account_name.lstrip("@") or str(self.state.get("handle") or "")) if ids else ""
        url = f"https://www.tiktok.com/@{handle}/video/{post_id}" if handle else ""
        outcome = PostOutcome(post_id=post_id, url=url)
        self.state["outcome"] = {"post_id": outcome.post_id, "url": outcome.url, "status": outcome.status}
        self.save()
        return outcome


def post_short(
    app: PlatformApp,
    token: PlatformToken,
    post: ShortPost,
    ledger: PostLedger,
    *,
    poll_s: float = 2.0,
    timeout_s: float = 600.0,
    chunk_size: int = DEFAULT_CHUNK,
    min_chunk: int = MIN_CHUNK,
) -> PostOutcome:
    """Direct-post one Short, resuming whatever an earlier attempt recorded in ``ledger``.

    ``min_chunk`` is TikTok's 5 MB chunk floor; only tests lower it (with the fake's ``min_chunk``)
    so a small clip still goes up in several chunks.  The caller refreshes ``token`` first
    (:func:`needs_refresh`): a refreshed token must be stored, and this function cannot return one.
    """
    state = ledger.load()
    outcome = state.get("outcome")
    if isinstance(outcome, dict) and outcome.get("post_id"):
        return PostOutcome(**outcome)
    with _http() as http:
        poster = _Poster(http, app, token, post, ledger, state, poll_s, timeout_s, chunk_size, min_chunk)
        return poster.run()


# ------------------------------------------------------------------------------------- figures


def video_stats(app: PlatformApp, token: PlatformToken, video_ids: list[str]) -> dict[str, dict[str, int]]:
    """Views, likes, comments and shares per video, 20 ids per video/query call.

    Ids that are not TikTok video ids (a private post is known only by its publish id) are skipped,
    and so are videos TikTok does not return (deleted, or not this account's).
    """
    wanted = list(dict.fromkeys(v for v in video_ids if v.isdigit()))
    out: dict[str, dict[str, int]] = {}
    with _http() as http:
        for start in range(0, len(wanted), STATS_BATCH):
            batch = wanted[start : start + STATS_BATCH]
            body = {"filters": {"video_ids": batch}}
            fields = {"fields": STATS_FIELDS}
            data = _call(http, app, token, "POST", "/v2/video/query/", "video/query", params=fields, body=body)
            for video in data.get("videos") or []:
                out[str(video.get("id"))] = {
                    "views": int(video.get("view_count") or 0),
                    "likes": int(video.get("like_count") or 0),
                    "comments": int(video.get("comment_count") or 0),
                    "shares": int(video.get("share_count") or 0),
                }
    return out


# ------------------------------------------------------------------------------------- caption


def hashtags(tags: list[str]) -> list[str]:
    """``#word`` per tag: letters, digits and underscores only, first spelling kept, at most 5."""
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        word = re.sub(r"\W+", "", tag)
        if not word.strip("_") or word.casefold() in seen:
            continue
        seen.add(word.casefold())
        out.append(f"#{word}")
        if len(out) == MAX_HASHTAGS:
            break
    return out


def _trim_words(text: str, budget: int) -> str:
    """``text`` within ``budget`` UTF-16 units, cut at a word boundary with an ellipsis."""
    if utf16_len(text) <= budget:
        return text
    if budget <= 1:
        return ""
    cut, used = 0, 0
    for i, ch in enumerate(text):
        used += utf16_len(ch)
        if used > budget - 1:  # room for the ellipsis
            break
        cut = i + 1
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        if space > 0:
            head = head[:space]
    return head.rstrip() + "…"


def caption_for(title: str, description: str, tags: list[str]) -> str:
    """The TikTok caption: title, description, then hashtags, within 2200 UTF-16 units.

    Hashtags are kept whole (they are what TikTok indexes); the text before them gives way.
    """
    tail = " ".join(hashtags(tags))
    body = "\n\n".join(p.strip() for p in (title, description) if p and p.strip())
    if not tail:
        return _trim_words(body, CAPTION_LIMIT)
    if not body:
        return tail
    budget = CAPTION_LIMIT - utf16_len(tail) - 2
    return f"{_trim_words(body, budget)}\n\n{tail}"
