"""A local HTTP server speaking the TikTok APIs tubeflow uses, as TikTok's public reference documents them.

Login Kit v2: the authorization page (it "signs in" as one of its accounts, consents, and
redirects with ``code``, ``scopes`` and ``state``), and ``/v2/oauth/token/`` for the
authorization-code grant (checking the PKCE verifier: TikTok's challenge is the *hex* SHA-256)
and the refresh-token grant (which rotates the refresh token).  Display API: ``/v2/user/info/``
(each field needs its scope) and ``/v2/video/query/`` (at most 20 ids).  Content Posting API,
Direct Post: ``creator_info/query``, ``video/init`` (the Media Transfer Guide's chunk rules),
the chunk PUTs to the ``upload_url`` it hands out (Content-Range checked: 206 until the last
chunk, 201 then, 400/416 for a wrong range, 403 once the URL expired), and ``status/fetch``
(PROCESSING_UPLOAD until every byte arrived, then PROCESSING_DOWNLOAD, then PUBLISH_COMPLETE
with ``publicaly_available_post_id``, TikTok's spelling).  Every answer uses TikTok's envelope
``{"data": {...}, "error": {"code", "message", "log_id"}}``; OAuth errors are flat.

``min_chunk`` is TikTok's 5 MB floor for a chunk; tests lower it (and pass the same floor to
``post_short``) so a clip of a few kilobytes still goes up in several chunks: at the real floor
a multi-chunk test would have to send over 10 MB per run.

Failure switches: ``revoke(account)``, ``daily_cap``, ``audited``, ``fail_next(endpoint, ...)``,
``fail_publish(reason)``, ``expire_uploads()``, ``drop_after_chunks`` (the connection drops after N chunks, as when a
worker dies mid-upload; with ``drop_stored`` the dropped chunk was stored, so only the answer is
lost) and ``upload_ttl_s``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from activities.platform_api import PlatformApp

MB = 1024 * 1024
KNOWN_SCOPES = {
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
    "video.publish",
    "video.upload",
}
FIELD_SCOPES = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "display_name": "user.info.basic",
    "username": "user.info.profile",
    "bio_description": "user.info.profile",
    "is_verified": "user.info.profile",
    "follower_count": "user.info.stats",
}
VIDEO_FIELDS = {
    "id",
    "title",
    "create_time",
    "share_url",
    "duration",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
}
AUTH_PATH = "/v2/auth/authorize/"


@dataclass
class Account:
    name: str
    open_id: str
    username: str
    display_name: str
    refresh_token: str
    privacy_level_options: list[str] = field(
        default_factory=lambda: ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    )
    max_video_post_duration_sec: int = 600
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False


@dataclass
class Publish:
    publish_id: str
    account: str
    post_info: dict[str, Any]
    source_info: dict[str, Any]
    created_at: float
    upload_expires_at: float = 0.0
    upload_id: str = ""
    upload_token: str = ""
    data: bytearray = field(default_factory=bytearray)
    chunks: int = 0  # chunks received, in order
    polls_left: int = 1  # PROCESSING_DOWNLOAD answers before PUBLISH_COMPLETE
    fail_reason: str = ""
    status: str = "PROCESSING_UPLOAD"
    post_id: int = 0

    @property
    def size(self) -> int:
        return int(self.source_info.get("video_size") or 0)

    @property
    def complete(self) -> bool:
        return self.status == "PUBLISH_COMPLETE"


@dataclass
class Token:
    account: str
    scopes: set[str]


class FakeTikTok:
    def __init__(self, client_key: str = "tt-client-key", client_secret: str = "tt-client-secret") -> None:
        self.client_key, self.client_secret = client_key, client_secret
        self.accounts: dict[str, Account] = {}
        self.add_account("default", "tubeflow_demo", "Tubeflow Demo")
        self.consent_as = "default"  # the TikTok account "signed in" at the authorization page
        self.grant_scopes: set[str] | None = None  # None: the person grants every scope asked for
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.publishes: dict[str, Publish] = {}
        self.videos: dict[str, dict[str, Any]] = {}  # video id -> {"account", "view_count", ...}
        self.log: list[tuple[str, str]] = []
        self.query_batches: list[list[str]] = []
        # Switches
        self.min_chunk = 5 * MB
        self.max_chunk = 64 * MB
        self.upload_ttl_s = 3600.0
        self.processing_polls = 1
        self.daily_cap: int | None = None
        self.audited = True
        self.verified_url_prefixes: list[str] = []
        self.drop_after_chunks: int | None = None
        # A chunk PUT after this many chunks waits (chunk_held set) until release_held(), then is
        # dropped unstored: a test kills the uploading process meanwhile, mid-upload for real.
        self.hold_after_chunks: int | None = None
        self.chunk_held = threading.Event()
        self._release = threading.Event()
        self.drop_stored = False
        self._fail_next: dict[str, list[tuple[int, str, str]]] = {}
        self._fail_publish: list[str] = []
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # ------------------------------------------------------------------ for tests

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}{AUTH_PATH}"

    def app(self) -> PlatformApp:
        """The app registration tubeflow would build from settings, pointed at this server."""
        return PlatformApp(self.client_key, self.client_secret, self.base_url, self.auth_url)

    def add_account(self, name: str, username: str, display_name: str) -> Account:
        acc = Account(name, "open-" + secrets.token_hex(8), username, display_name, "rft." + secrets.token_hex(12))
        self.accounts[name] = acc
        return acc

    def revoke(self, account: str = "default") -> None:
        """The person removed the app on TikTok: its access tokens and refresh token stop working."""
        with self.lock:
            self.accounts[account].refresh_token = "rft." + secrets.token_hex(12)  # one the client never saw
            for tok in [t for t, v in self.tokens.items() if v.account == account]:
                del self.tokens[tok]

    def issue_token(self, account: str = "default", scopes: set[str] | None = None) -> str:
        """An access token as if the account had connected (tests that skip the consent page)."""
        token = "act." + secrets.token_hex(12)
        self.tokens[token] = Token(account, set(scopes if scopes is not None else KNOWN_SCOPES))
        return token

    def fail_next(self, endpoint: str, status: int, code: str, message: str = "") -> None:
        """Answer the next call to ``endpoint`` with this error.

        Endpoints: token, user_info, creator_info, init, upload, status, video_query.
        """
        self._fail_next.setdefault(endpoint, []).append((status, code, message or f"{code} (fake)"))

    def expire_uploads(self) -> None:
        """Every upload_url handed out so far stops taking bytes (they live an hour on TikTok)."""
        with self.lock:
            for pub in self.publishes.values():
                pub.upload_expires_at = 0.0

    def fail_publish(self, reason: str) -> None:
        """The next upload that completes ends FAILED with ``fail_reason=reason``."""
        self._fail_publish.append(reason)

    def release_held(self) -> None:
        self._release.set()

    def posts(self, account: str = "default") -> list[Publish]:
        """The posts that went live on ``account``."""
        return [p for p in self.publishes.values() if p.account == account and p.complete]

    def inits(self, account: str = "default") -> list[Publish]:
        return [p for p in self.publishes.values() if p.account == account]

    def add_video(
        self, account: str = "default", views: int = 0, likes: int = 0, comments: int = 0, shares: int = 0
    ) -> str:
        vid = str(7_300_000_000_000_000_000 + secrets.randbelow(10**17))
        self.videos[vid] = {
            "account": account,
            "view_count": views,
            "like_count": likes,
            "comment_count": comments,
            "share_count": shares,
            "title": "",
        }
        return vid

    def set_stats(self, video_id: str, *, views: int = 0, likes: int = 0, comments: int = 0, shares: int = 0) -> None:
        """A video's counters as the Display API's Video Object reports them (lifetime totals)."""
        with self.lock:
            self.videos[video_id].update(view_count=views, like_count=likes, comment_count=comments, share_count=shares)

    def __enter__(self) -> FakeTikTok:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ the server

    def _publishes_today(self, account: str) -> int:
        since = time.time() - 86400
        return sum(
            1 for p in self.publishes.values() if p.account == account and p.created_at > since and p.status != "FAILED"
        )

    def _advance(self, pub: Publish) -> None:
        """What TikTok has done with the publish by the time it is asked."""
        if pub.status in ("PUBLISH_COMPLETE", "FAILED"):
            return
        if pub.source_info.get("source") == "FILE_UPLOAD" and len(pub.data) < pub.size:
            pub.status = "PROCESSING_UPLOAD"
            return
        if pub.polls_left > 0:
            pub.polls_left -= 1
            pub.status = "PROCESSING_DOWNLOAD"
            return
        if self._fail_publish:
            pub.status, pub.fail_reason = "FAILED", self._fail_publish.pop(0)
            return
        pub.status = "PUBLISH_COMPLETE"
        if pub.post_info.get("privacy_level") != "SELF_ONLY":
            pub.post_id = 7_400_000_000_000_000_000 + secrets.randbelow(10**17)
            self.videos[str(pub.post_id)] = {
                "account": pub.account,
                "view_count": 0,
                "like_count": 0,
                "comment_count": 0,
                "share_count": 0,
                "title": pub.post_info.get("title", ""),
            }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            # -------------------------------------------------------- replies

            def _raw(
                self, code: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _ok(self, data: dict[str, Any], code: int = 200) -> None:
                log_id = secrets.token_hex(10).upper()
                self._raw(
                    code, json.dumps({"data": data, "error": {"code": "ok", "message": "", "log_id": log_id}}).encode()
                )

            def _err(self, status: int, code: str, message: str) -> None:
                log_id = secrets.token_hex(10).upper()
                body = {"data": {}, "error": {"code": code, "message": message, "log_id": log_id}}
                self._raw(status, json.dumps(body).encode(), extra={"x-tt-logid": log_id})

            def _oauth_err(self, status: int, error: str, description: str) -> None:
                body = {"error": error, "error_description": description, "log_id": secrets.token_hex(10).upper()}
                self._raw(status, json.dumps(body).encode())

            def _canned(self, endpoint: str, oauth: bool = False) -> bool:
                queue = fake._fail_next.get(endpoint)
                if not queue:
                    return False
                status, code, message = queue.pop(0)
                (self._oauth_err if oauth else self._err)(status, code, message)
                return True

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _json_body(self, raw: bytes) -> dict[str, Any] | None:
                if not self.headers.get("Content-Type", "").startswith("application/json"):
                    self._err(400, "invalid_params", "Content-Type must be application/json; charset=UTF-8")
                    return None
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._err(400, "invalid_params", "the body is not JSON")
                    return None
                if not isinstance(body, dict):
                    self._err(400, "invalid_params", "the body must be a JSON object")
                    return None
                return body

            def _auth(self, scope: str) -> Token | None:
                header = self.headers.get("Authorization", "")
                tok = fake.tokens.get(header[7:]) if header.startswith("Bearer ") else None
                if tok is None:
                    self._err(401, "access_token_invalid", "The access token is invalid or not found in the request.")
                    return None
                if scope and scope not in tok.scopes:
                    self._err(
                        401,
                        "scope_not_authorized",
                        "The user did not authorize the scope required for completing this request.",
                    )
                    return None
                return tok

            # -------------------------------------------------------- routes

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.log.append(("GET", url.path))
                with fake.lock:
                    if url.path == AUTH_PATH:
                        return self._consent(q)
                    if url.path == "/v2/user/info/":
                        return self._user_info(q)
                return self._err(404, "invalid_params", f"no such endpoint {url.path}")

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                raw = self._body()
                fake.log.append(("POST", url.path))
                with fake.lock:
                    if url.path == "/v2/oauth/token/":
                        return self._token({k: v[0] for k, v in parse_qs(raw.decode()).items()})
                    routes = {
                        "/v2/post/publish/creator_info/query/": ("creator_info", "video.publish", self._creator_info),
                        "/v2/post/publish/video/init/": ("init", "video.publish", self._init),
                        "/v2/post/publish/status/fetch/": ("status", "video.publish", self._status),
                        "/v2/video/query/": ("video_query", "video.list", self._video_query),
                    }
                    if url.path not in routes:
                        return self._err(404, "invalid_params", f"no such endpoint {url.path}")
                    name, scope, handle = routes[url.path]
                    tok = self._auth(scope)
                    if tok is None or self._canned(name):
                        return None
                    body = self._json_body(raw)
                    if body is None:
                        return None
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    return handle(fake.accounts[tok.account], body, q)

            def do_PUT(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                raw = self._body()
                fake.log.append(("PUT", self.headers.get("Content-Range", "")))
                with fake.lock:
                    return self._upload(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, raw)

            # -------------------------------------------------------- Login Kit

            def _consent(self, q: dict[str, str]) -> None:
                if q.get("client_key") != fake.client_key:
                    return self._raw(400, b"client_key: unknown app", "text/plain")
                if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                    return self._raw(
                        400, b"response_type=code and code_challenge_method=S256 are required", "text/plain"
                    )
                if not q.get("code_challenge") or not q.get("state") or not q.get("redirect_uri"):
                    return self._raw(400, b"code_challenge, state and redirect_uri are required", "text/plain")
                asked = [s for s in q.get("scope", "").split(",") if s]
                if not asked or set(asked) - KNOWN_SCOPES:
                    return self._raw(400, f"unknown scope in {asked}".encode(), "text/plain")
                granted = [s for s in asked if fake.grant_scopes is None or s in fake.grant_scopes]
                code = secrets.token_urlsafe(16)
                fake.codes[code] = {
                    "account": fake.consent_as,
                    "challenge": q["code_challenge"],
                    "redirect_uri": q["redirect_uri"],
                    "scopes": granted,
                }
                sep = "&" if "?" in q["redirect_uri"] else "?"
                target = (
                    q["redirect_uri"]
                    + sep
                    + urlencode({"code": code, "scopes": ",".join(granted), "state": q["state"]})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            def _token(self, form: dict[str, str]) -> None:
                if self._canned("token", oauth=True):
                    return None
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    return self._oauth_err(
                        400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
                    )
                if form.get("client_key") != fake.client_key or form.get("client_secret") != fake.client_secret:
                    return self._oauth_err(401, "invalid_client", "Client key or secret is incorrect.")
                grant = form.get("grant_type")
                if grant == "authorization_code":
                    given = fake.codes.pop(form.get("code", ""), None)
                    if given is None:
                        return self._oauth_err(400, "invalid_grant", "Authorization code is expired.")
                    if given["redirect_uri"] != form.get("redirect_uri"):
                        return self._oauth_err(400, "invalid_grant", "redirect_uri does not match the authorization.")
                    verifier = form.get("code_verifier", "")
                    if not re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier) or (
                        hashlib.sha256(verifier.encode()).hexdigest() != given["challenge"]
                    ):
                        return self._oauth_err(400, "invalid_request", "Code verifier or code challenge is invalid.")
                    return self._grant(fake.accounts[given["account"]], set(given["scopes"]))
                if grant == "refresh_token":
                    owner = next(
                        (a for a in fake.accounts.values() if a.refresh_token == form.get("refresh_token")), None
                    )
                    if owner is None:
                        return self._oauth_err(400, "invalid_grant", "Refresh token is invalid or expired.")
                    scopes = next(
                        (t.scopes for t in fake.tokens.values() if t.account == owner.name), set(KNOWN_SCOPES)
                    )
                    owner.refresh_token = "rft." + secrets.token_hex(12)  # TikTok may hand out a new refresh token
                    return self._grant(owner, scopes)
                return self._oauth_err(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")

            def _grant(self, acc: Account, scopes: set[str]) -> None:
                token = fake.issue_token(acc.name, scopes)
                body = {
                    "access_token": token,
                    "expires_in": 86400,
                    "open_id": acc.open_id,
                    "refresh_expires_in": 31536000,
                    "refresh_token": acc.refresh_token,
                    "scope": ",".join(sorted(scopes)),
                    "token_type": "Bearer",
                }
                return self._raw(200, json.dumps(body).encode())

            def _user_info(self, q: dict[str, str]) -> None:
                tok = self._auth("user.info.basic")
                if tok is None or self._canned("user_info"):
                    return None
                fields = [f for f in q.get("fields", "").split(",") if f]
                if not fields or set(fields) - set(FIELD_SCOPES):
                    return self._err(400, "invalid_params", f"fields must be among {sorted(FIELD_SCOPES)}")
                if any(FIELD_SCOPES[f] not in tok.scopes for f in fields):
                    return self._err(
                        401,
                        "scope_not_authorized",
                        "The user did not authorize the scope required for completing this request.",
                    )
                acc = fake.accounts[tok.account]
                values = {
                    "open_id": acc.open_id,
                    "union_id": "u-" + acc.open_id,
                    "avatar_url": "",
                    "display_name": acc.display_name,
                    "username": acc.username,
                    "bio_description": "",
                    "is_verified": False,
                    "follower_count": 0,
                }
                return self._ok({"user": {f: values[f] for f in fields}})

            # -------------------------------------------------------- Content Posting API

            def _capped(self, acc: Account) -> bool:
                if fake.daily_cap is not None and fake._publishes_today(acc.name) >= fake.daily_cap:
                    self._err(403, "spam_risk_too_many_posts", "The daily post cap for this creator is reached.")
                    return True
                return False

            def _creator_info(self, acc: Account, body: dict[str, Any], q: dict[str, str]) -> None:
                if self._capped(acc):
                    return None
                return self._ok(
                    {
                        "creator_avatar_url": "",
                        "creator_username": acc.username,
                        "creator_nickname": acc.display_name,
                        "privacy_level_options": list(acc.privacy_level_options),
                        "comment_disabled": acc.comment_disabled,
                        "duet_disabled": acc.duet_disabled,
                        "stitch_disabled": acc.stitch_disabled,
                        "max_video_post_duration_sec": acc.max_video_post_duration_sec,
                    }
                )

            def _init(self, acc: Account, body: dict[str, Any], q: dict[str, str]) -> None:
                info, source = body.get("post_info"), body.get("source_info")
                if not isinstance(info, dict) or not isinstance(source, dict):
                    return self._err(400, "invalid_params", "post_info and source_info are required")
                problem = self._post_info_problem(acc, info)
                if problem:
                    return self._err(400, *problem)
                if self._capped(acc):
                    return None
                if not fake.audited and info["privacy_level"] != "SELF_ONLY":
                    return self._err(
                        403,
                        "unaudited_client_can_only_post_to_private_accounts",
                        "Please review our integration guidelines.",
                    )
                kind = source.get("source")
                if kind == "PULL_FROM_URL":
                    video_url = str(source.get("video_url") or "")
                    if not any(video_url.startswith(p) for p in fake.verified_url_prefixes):
                        return self._err(403, "url_ownership_unverified", "The video_url's domain is not verified.")
                elif kind == "FILE_UPLOAD":
                    problem_text = self._chunk_problem(source)
                    if problem_text:
                        return self._err(400, "invalid_params", problem_text)
                else:
                    return self._err(400, "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL")
                n = len(fake.publishes) + 1
                tag = "file" if kind == "FILE_UPLOAD" else "url"
                now = time.time()
                pub = Publish(
                    f"v_pub_{tag}~v2-1.{7_000_000 + n}",
                    acc.name,
                    dict(info),
                    dict(source),
                    now,
                    now + fake.upload_ttl_s,
                    polls_left=fake.processing_polls,
                )
                data: dict[str, Any] = {"publish_id": pub.publish_id}
                if kind == "FILE_UPLOAD":
                    pub.upload_id, pub.upload_token = str(8_000_000 + n), secrets.token_hex(8)
                    query = urlencode({"upload_id": pub.upload_id, "upload_token": pub.upload_token})
                    data["upload_url"] = f"{fake.base_url}/upload/?{query}"
                fake.publishes[pub.publish_id] = pub
                return self._ok(data)

            def _post_info_problem(self, acc: Account, info: dict[str, Any]) -> tuple[str, str] | None:
                title = info.get("title", "")
                if not isinstance(title, str) or len(title.encode("utf-16-le")) // 2 > 2200:
                    return "invalid_params", "post_info.title must be a string of at most 2200 UTF-16 runes"
                if info.get("privacy_level") not in acc.privacy_level_options:
                    return "privacy_level_option_mismatch", "privacy_level is not among the creator's options"
                for key in (
                    "disable_comment",
                    "disable_duet",
                    "disable_stitch",
                    "is_aigc",
                    "brand_content_toggle",
                    "brand_organic_toggle",
                ):
                    if not isinstance(info.get(key, False), bool):
                        return "invalid_params", f"post_info.{key} must be a boolean"
                for key, off in (
                    ("disable_comment", acc.comment_disabled),
                    ("disable_duet", acc.duet_disabled),
                    ("disable_stitch", acc.stitch_disabled),
                ):
                    if off and not info.get(key):
                        return "invalid_params", f"post_info.{key} must be true: the creator turned it off"
                cover = info.get("video_cover_timestamp_ms", 0)
                if not isinstance(cover, int) or cover < 0:
                    return "invalid_params", "post_info.video_cover_timestamp_ms must be a non-negative integer"
                return None

            def _chunk_problem(self, source: dict[str, Any]) -> str:
                """The Media Transfer Guide's chunk restrictions, with ``min_chunk`` as the 5 MB floor."""
                size, chunk, count = source.get("video_size"), source.get("chunk_size"), source.get("total_chunk_count")
                if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
                    return "video_size, chunk_size and total_chunk_count must be positive integers"
                assert isinstance(size, int) and isinstance(chunk, int) and isinstance(count, int)
                if size < fake.min_chunk and (chunk != size or count != 1):
                    return "a video under the minimum chunk size must be uploaded whole (chunk_size = video_size)"
                if size >= fake.min_chunk and not (fake.min_chunk <= chunk <= min(size, fake.max_chunk)):
                    return f"chunk_size must be between {fake.min_chunk} and {fake.max_chunk} bytes"
                if count != size // chunk:
                    return "total_chunk_count must be video_size / chunk_size, rounded down"
                if not 1 <= count <= 1000:
                    return "between 1 and 1000 chunks"
                if size - (count - 1) * chunk > 2 * fake.max_chunk:
                    return "the last chunk may not exceed 128 MB"
                return ""

            def _upload(self, path: str, q: dict[str, str], raw: bytes) -> None:
                pub = next(
                    (p for p in fake.publishes.values() if p.upload_id and p.upload_id == q.get("upload_id")), None
                )
                if path != "/upload/" or pub is None or q.get("upload_token") != pub.upload_token:
                    return self._err(404, "invalid_params", "no such upload")
                if self._canned("upload"):
                    return None
                if time.time() > pub.upload_expires_at:
                    return self._err(403, "invalid_params", "the upload_url has expired")
                if not self.headers.get("Content-Type", "").startswith("video/"):
                    return self._err(400, "invalid_params", "Content-Type must be the video's MIME type")
                m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", self.headers.get("Content-Range", ""))
                if not m:
                    return self._err(400, "invalid_params", "Content-Range must be 'bytes FIRST-LAST/TOTAL'")
                first, last, total = (int(g) for g in m.groups())
                if total != pub.size or last - first + 1 != len(raw):
                    return self._err(400, "invalid_params", "Content-Range does not match video_size or the body")
                chunk, count = int(pub.source_info["chunk_size"]), int(pub.source_info["total_chunk_count"])

                def bounds(i: int) -> tuple[int, int]:
                    return i * chunk, (pub.size - 1 if i == count - 1 else (i + 1) * chunk - 1)

                resend = pub.chunks > 0 and (first, last) == bounds(pub.chunks - 1)  # the last one again
                if not resend and (pub.chunks >= count or (first, last) != bounds(pub.chunks)):
                    return self._raw(416, b"", extra={"Content-Range": f"bytes */{pub.size}"})
                if fake.hold_after_chunks is not None and pub.chunks >= fake.hold_after_chunks and not resend:
                    fake.chunk_held.set()
                    fake._release.wait(60)
                    self.close_connection = True  # the client is gone: nothing stored, no answer
                    return None
                if fake.drop_after_chunks is not None and pub.chunks >= fake.drop_after_chunks and not resend:
                    fake.drop_after_chunks = None
                    if fake.drop_stored:
                        pub.data.extend(raw)
                        pub.chunks += 1
                    self.close_connection = True  # no answer: the connection just ends
                    return None
                if resend:
                    pub.data[first : last + 1] = raw
                else:
                    pub.data.extend(raw)
                    pub.chunks += 1
                return self._raw(201 if pub.chunks == count else 206, b"")

            def _status(self, acc: Account, body: dict[str, Any], q: dict[str, str]) -> None:
                pub = fake.publishes.get(str(body.get("publish_id") or ""))
                if pub is None or pub.account != acc.name:
                    return self._err(400, "invalid_publish_id", "publish_id does not exist or is not this user's")
                fake._advance(pub)
                data: dict[str, Any] = {"status": pub.status, "uploaded_bytes": len(pub.data)}
                if pub.status == "FAILED":
                    data["fail_reason"] = pub.fail_reason
                if pub.status == "PUBLISH_COMPLETE":
                    data["publicaly_available_post_id"] = [pub.post_id] if pub.post_id else []
                return self._ok(data)

            # -------------------------------------------------------- Display API

            def _video_query(self, acc: Account, body: dict[str, Any], q: dict[str, str]) -> None:
                fields = [f for f in q.get("fields", "").split(",") if f]
                if not fields or set(fields) - VIDEO_FIELDS:
                    return self._err(400, "invalid_params", "fields must name Video Object fields")
                ids = (body.get("filters") or {}).get("video_ids")
                if not isinstance(ids, list) or not ids or len(ids) > 20:
                    return self._err(400, "invalid_params", "filters.video_ids takes 1 to 20 ids")
                fake.query_batches.append([str(i) for i in ids])
                videos = []
                for vid in ids:
                    v = fake.videos.get(str(vid))
                    if v is not None and v["account"] == acc.name:
                        row = {"id": str(vid), **{k: v[k] for k in v if k != "account"}}
                        videos.append({f: row[f] for f in fields if f in row})
                return self._ok({"videos": videos, "cursor": 0, "has_more": False})

        return Handler
