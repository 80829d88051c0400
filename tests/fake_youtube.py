"""A local HTTP server speaking the YouTube Data API v3 subset tubeflow uses and Google's OAuth 2.0.

Google OAuth: an authorization endpoint that "signs in" as one of its accounts and redirects
with a code (checking client id, redirect URI and the PKCE S256 challenge), and a token endpoint
for the authorization-code grant (verifying the PKCE verifier) and the refresh-token grant.
Each account owns its YouTube channel, videos, captions and playlist items, so two tubeflow
channels connected to two accounts can be told apart.  YouTube: channels.list?mine=true,

It checks the protocol the way the real service does: refresh-token grant on /token, Bearer
tokens on every call, the resumable upload (POST with X-Upload-Content-* headers -> Location;
PUT chunks with Content-Range -> 308 + Range until complete -> 200 with the video resource;
"bytes */N" status queries), and thumbnails.set (JPEG/PNG under 2 MB for an existing video).
Failure switches let tests break it the way the real one breaks (5xx mid-upload, quota, revoked
tokens, tokens that expire).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Upload:
    size: int
    body: dict[str, Any]
    content_type: str
    data: bytearray = field(default_factory=bytearray)
    video_id: str = ""
    account: str = ""


@dataclass
class Account:
    name: str
    refresh_token: str
    channel_id: str
    title: str
    analytics_scope: bool = True  # consented to yt-analytics.readonly


QUOTA_COST = {"videos.insert": 1600, "thumbnails.set": 50, "captions.insert": 400, "playlistItems.insert": 50}


class FakeYouTube:
    def __init__(self, client_id: str = "cid", client_secret: str = "csecret", refresh_token: str = "rtoken"):
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.accounts: dict[str, Account] = {
            "default": Account("default", refresh_token, "UC" + "d" * 22, "Default channel")
        }
        self.consent_as = "default"  # the Google account "signed in" at the authorization endpoint
        self.codes: dict[str, dict[str, str]] = {}
        self.token_owner: dict[str, str] = {}  # access token -> account name
        self.captions: list[dict[str, Any]] = []
        self.playlist_items: list[dict[str, Any]] = []
        self.quota_used = 0
        self.tokens: set[str] = set()
        self.uploads: dict[str, Upload] = {}
        self.videos: dict[str, dict[str, Any]] = {}  # id -> {"snippet", "status", "data", "thumbnail"}
        self.log: list[tuple[str, str]] = []
        self.token_grants = 0
        # Failure switches
        self.fail_puts = 0  # answer the next N chunk PUTs with 503 (after storing nothing)
        self.fail_after_store = 0  # store the next N chunks, then answer 503 anyway (a lost response)
        self.quota_exceeded = False
        self.forbid_thumbnails = False
        # YouTube Analytics: video id -> day -> metric -> value, and the retention curve per video.
        self.analytics: dict[str, dict[str, dict[str, float]]] = {}
        self.retention: dict[str, list[tuple[float, float, float]]] = {}
        self.reach_available = True  # videoThumbnailImpressions* offered for this project
        self.reports: list[dict[str, str]] = []  # every reports.query asked, for assertions
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    def credentials_file(self, path: Path, refresh_token: str | None = None) -> Path:
        path.write_text(
            json.dumps(
                {
                    "type": "authorized_user",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": refresh_token or self.refresh_token,
                    "token_uri": self.token_uri,
                }
            )
        )
        return path

    def revoke_tokens(self) -> None:
        """Access tokens expire; the client must refresh and carry on."""
        self.tokens.clear()

    def add_account(self, name: str, title: str) -> Account:
        acc = Account(name, "rt-" + secrets.token_hex(8), "UC" + secrets.token_hex(11), title)
        self.accounts[name] = acc
        return acc

    def revoke_account(self, name: str) -> None:
        """The user removed the app's access: its refresh token and access tokens stop working.

        Consenting again (the authorization endpoint) hands out a new refresh token.
        """
        acc = self.accounts[name]
        acc.refresh_token = "rt-" + secrets.token_hex(8)
        for tok, owner in list(self.token_owner.items()):
            if owner == name:
                self.tokens.discard(tok)
                del self.token_owner[tok]

    def client_config(self, kind: str = "installed", redirect_uris: list[str] | None = None) -> dict[str, Any]:
        """The OAuth client JSON Google Cloud Console would hand out, pointing at this server."""
        return {
            kind: {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "project_id": "fake-project",
                "auth_uri": f"{self.base_url}/o/oauth2/auth",
                "token_uri": self.token_uri,
                "redirect_uris": redirect_uris or ["http://127.0.0.1"],
            }
        }

    def add_video(self, account: str, title: str, duration_s: int) -> str:
        """A video already on the account (published earlier), for analytics tests."""
        vid = secrets.token_urlsafe(8)[:11]
        self.videos[vid] = {
            "snippet": {"title": title},
            "status": {"privacyStatus": "public"},
            "data": b"",
            "account": account,
            "duration": f"PT{duration_s // 60}M{duration_s % 60}S",
        }
        return vid

    def videos_of(self, account: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.videos.items() if v.get("account") == account}

    def __enter__(self) -> FakeYouTube:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, code: int, obj: Any = None, headers: dict[str, str] | None = None) -> None:
                body = b"" if obj is None else json.dumps(obj).encode()
                self.send_response(code)
                if obj is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, code: int, reason: str, message: str) -> None:
                self._reply(code, {"error": {"code": code, "message": message, "errors": [{"reason": reason}]}})

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _authorized(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
                    self._error(401, "authError", "Invalid Credentials")
                    return False
                self.account = fake.token_owner.get(auth[7:], "default")
                return True

            def _spend(self, what: str) -> bool:
                if fake.quota_exceeded:
                    self._error(
                        403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota."
                    )
                    return False
                fake.quota_used += QUOTA_COST.get(what, 1)
                return True

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.log.append(("GET", url.path))
                if url.path == "/o/oauth2/auth":
                    return self._consent(q)
                if not self._authorized():
                    return None
                if url.path == "/youtube/v3/channels" and q.get("mine") == "true":
                    acc = fake.accounts[self.account]
                    item = {"kind": "youtube#channel", "id": acc.channel_id, "snippet": {"title": acc.title}}
                    return self._reply(200, {"kind": "youtube#channelListResponse", "items": [item]})
                if url.path == "/youtube/v3/videos":
                    ids = [i for i in q.get("id", "").split(",") if i]
                    if len(ids) > 50:
                        return self._error(400, "invalidParameter", "at most 50 ids")
                    mine = [i for i in ids if i in fake.videos and fake.videos[i].get("account") == self.account]
                    parts = set(q.get("part", "").split(","))
                    items = [fake.resource(i, parts) for i in mine]
                    return self._reply(200, {"kind": "youtube#videoListResponse", "items": items})
                if url.path == "/v2/reports":
                    return self._report(q)
                return self._error(404, "notFound", url.path)

            def _report(self, q: dict[str, str]) -> None:
                """YouTube Analytics API v2 reports.query, for one video (filters=video==ID)."""
                if not fake.accounts[self.account].analytics_scope:
                    return self._error(403, "insufficientPermissions", "Request had insufficient scopes.")
                fake.reports.append(dict(q))
                for k in ("ids", "startDate", "endDate", "metrics"):
                    if not q.get(k):
                        return self._error(400, "required", f"{k} is required")
                if q["ids"] != "channel==MINE":
                    return self._error(400, "invalid", "ids must be channel==MINE")
                start, end = q["startDate"], q["endDate"]
                if not (re.fullmatch(r"\d{4}-\d{2}-\d{2}", start) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", end)):
                    return self._error(400, "invalid", "dates are YYYY-MM-DD")
                if start > end:
                    return self._error(400, "invalid", "startDate after endDate")
                m = re.fullmatch(r"video==([\w-]+)", q.get("filters", ""))
                if not m or fake.videos.get(m.group(1), {}).get("account") != self.account:
                    return self._error(400, "invalid", "filters must name one of the channel's videos")
                vid, metrics, dim = m.group(1), q["metrics"].split(","), q.get("dimensions", "")

                def header(name: str, kind: str) -> dict[str, str]:
                    return {"name": name, "columnType": kind, "dataType": "STRING" if name == "day" else "FLOAT"}

                if dim == "elapsedVideoTimeRatio":
                    if set(metrics) - {"audienceWatchRatio", "relativeRetentionPerformance"}:
                        return self._error(400, "invalid", "retention takes audienceWatchRatio and relative")
                    rows: list[list[Any]] = [
                        [r, w, rel][: 1 + len(metrics)] for r, w, rel in fake.retention.get(vid, [])
                    ]
                elif dim == "day":
                    reach = {"videoThumbnailImpressions", "videoThumbnailImpressionsClickRate"}
                    if reach & set(metrics) and not fake.reach_available:
                        return self._error(400, "invalid", "The query is not supported.")
                    known = reach | {
                        "views",
                        "estimatedMinutesWatched",
                        "averageViewDuration",
                        "averageViewPercentage",
                        "likes",
                        "subscribersGained",
                    }
                    if set(metrics) - known:
                        return self._error(400, "invalid", f"unknown metrics {set(metrics) - known}")
                    days = fake.analytics.get(vid, {})
                    rows = [[d] + [days[d].get(k, 0) for k in metrics] for d in sorted(days) if start <= d <= end]
                else:
                    return self._error(400, "invalid", f"unsupported dimensions {dim!r}")
                headers = [header(dim, "DIMENSION")] + [header(k, "METRIC") for k in metrics]
                table = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows}
                return self._reply(200, table)

            def _consent(self, q: dict[str, str]) -> None:
                if q.get("client_id") != fake.client_id:
                    return self._reply(400, {"error": "invalid_client"})
                if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                    return self._reply(400, {"error": "invalid_request", "error_description": "code + PKCE S256"})
                if not q.get("code_challenge") or not q.get("state") or not q.get("redirect_uri"):
                    return self._reply(400, {"error": "invalid_request", "error_description": "challenge/state/uri"})
                code = secrets.token_urlsafe(12)
                fake.codes[code] = {
                    "account": fake.consent_as,
                    "challenge": q["code_challenge"],
                    "redirect_uri": q["redirect_uri"],
                    "scope": q.get("scope", ""),
                }
                sep = "&" if "?" in q["redirect_uri"] else "?"
                target = f"{q['redirect_uri']}{sep}code={code}&state={q['state']}&scope={q.get('scope', '')}"
                self.send_response(302)
                self.send_header("Location", target.replace(" ", "%20"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            def _token(self, form: dict[str, str]) -> None:
                basic = self.headers.get("Authorization", "")
                if basic.startswith("Basic "):  # client authentication by HTTP Basic, as Google also accepts
                    cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                    form = {**form, "client_id": cid, "client_secret": secret}
                if (form.get("client_id"), form.get("client_secret")) != (fake.client_id, fake.client_secret):
                    return self._reply(401, {"error": "invalid_client"})
                if form.get("grant_type") == "authorization_code":
                    grant = fake.codes.pop(form.get("code", ""), None)
                    if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                        return self._reply(400, {"error": "invalid_grant", "error_description": "bad code"})
                    digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                        return self._reply(400, {"error": "invalid_grant", "error_description": "PKCE mismatch"})
                    acc = fake.accounts[grant["account"]]
                    token = self._issue(acc.name)
                    return self._reply(
                        200,
                        {
                            "access_token": token,
                            "expires_in": 3599,
                            "token_type": "Bearer",
                            "refresh_token": acc.refresh_token,
                            "scope": grant["scope"],
                        },
                    )
                if form.get("grant_type") != "refresh_token":
                    return self._reply(400, {"error": "unsupported_grant_type"})
                owner = next(
                    (a.name for a in fake.accounts.values() if a.refresh_token == form.get("refresh_token")), None
                )
                if owner is None:
                    return self._reply(
                        400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                    )
                return self._reply(
                    200, {"access_token": self._issue(owner), "expires_in": 3599, "token_type": "Bearer"}
                )

            def _issue(self, account: str) -> str:
                token = "ya29." + secrets.token_hex(8)
                fake.tokens.add(token)
                fake.token_owner[token] = account
                fake.token_grants += 1
                return token

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = parse_qs(url.query)
                body = self._body()
                fake.log.append(("POST", url.path))
                if url.path == "/token":
                    return self._token({k: v[0] for k, v in parse_qs(body.decode()).items()})
                if not self._authorized():
                    return None
                if url.path == "/upload/youtube/v3/videos":
                    if q.get("uploadType") != ["resumable"] or set((q.get("part") or [""])[0].split(",")) != {
                        "snippet",
                        "status",
                    }:
                        return self._error(400, "invalidParameter", "expected uploadType=resumable&part=snippet,status")
                    if not self._spend("videos.insert"):
                        return None
                    try:
                        meta = json.loads(body)
                    except ValueError:
                        return self._error(400, "parseError", "body is not JSON")
                    title = (meta.get("snippet") or {}).get("title") or ""
                    if not title or len(title) > 100 or "<" in title:
                        return self._error(400, "invalidTitle", "bad title")
                    desc = (meta.get("snippet") or {}).get("description") or ""
                    if len(desc.encode()) > 5000 or "<" in desc:
                        return self._error(400, "invalidDescription", "description too long or has < >")
                    status = meta.get("status") or {}
                    if status.get("publishAt"):
                        at = datetime.fromisoformat(status["publishAt"].replace("Z", "+00:00"))
                        if status.get("privacyStatus") != "private" or at < datetime.now(UTC):
                            return self._error(400, "invalidPublishAt", "publishAt needs private and a future time")
                    size = self.headers.get("X-Upload-Content-Length")
                    ctype = self.headers.get("X-Upload-Content-Type", "")
                    if not size or not size.isdigit() or not ctype.startswith("video/"):
                        return self._error(400, "badContent", "X-Upload-Content-Length/Type required")
                    upload_id = secrets.token_hex(6)
                    fake.uploads[upload_id] = Upload(int(size), meta, ctype, account=self.account)
                    loc = f"{fake.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
                    return self._reply(200, None, {"Location": loc})
                if url.path == "/upload/youtube/v3/captions":
                    return self._caption(q, body)
                if url.path == "/youtube/v3/playlistItems":
                    snippet = json.loads(body or b"{}").get("snippet") or {}
                    vid = (snippet.get("resourceId") or {}).get("videoId", "")
                    if vid not in fake.videos or fake.videos[vid].get("account") != self.account:
                        return self._error(404, "videoNotFound", "no such video")
                    if not snippet.get("playlistId"):
                        return self._error(400, "playlistIdRequired", "playlistId")
                    if not self._spend("playlistItems.insert"):
                        return None
                    item = {"id": secrets.token_hex(6), "account": self.account, **snippet}
                    fake.playlist_items.append(item)
                    return self._reply(200, {"kind": "youtube#playlistItem", "id": item["id"], "snippet": snippet})
                if url.path == "/upload/youtube/v3/thumbnails/set":
                    vid = (q.get("videoId") or [""])[0]
                    if vid not in fake.videos or fake.videos[vid].get("account") != self.account:
                        return self._error(404, "videoNotFound", "no such video")
                    if fake.forbid_thumbnails:
                        return self._error(
                            403,
                            "forbidden",
                            "The authenticated user may not set custom video thumbnails.",
                        )
                    ctype = self.headers.get("Content-Type", "")
                    magic_ok = body[:3] == b"\xff\xd8\xff" or body[:8] == b"\x89PNG\r\n\x1a\n"
                    if ctype not in ("image/jpeg", "image/png") or not magic_ok:
                        return self._error(400, "invalidImage", "thumbnail must be JPEG or PNG")
                    if len(body) > 2 * 1024 * 1024:
                        return self._error(400, "mediaBodyTooLarge", "thumbnail over 2 MB")
                    if not self._spend("thumbnails.set"):
                        return None
                    fake.videos[vid]["thumbnail"] = body
                    return self._reply(
                        200, {"kind": "youtube#thumbnailSetResponse", "items": [{"default": {"url": "x"}}]}
                    )
                return self._error(404, "notFound", url.path)

            def _caption(self, q: dict[str, list[str]], body: bytes) -> None:
                ctype = self.headers.get("Content-Type", "")
                m = re.search(r"boundary=([^;]+)", ctype)
                if q.get("uploadType") != ["multipart"] or not ctype.startswith("multipart/related") or not m:
                    return self._error(400, "invalidParameter", "captions.insert needs a multipart upload")
                parts = [p for p in body.split(b"--" + m.group(1).encode()) if p.strip() not in (b"", b"--")]
                if len(parts) != 2:
                    return self._error(400, "invalidParameter", "expected metadata and media parts")
                meta = json.loads(parts[0].split(b"\r\n\r\n", 1)[1])
                media = parts[1].split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n").decode()
                snippet = meta.get("snippet") or {}
                vid = snippet.get("videoId", "")
                if vid not in fake.videos or fake.videos[vid].get("account") != self.account:
                    return self._error(404, "videoNotFound", "no such video")
                if not snippet.get("language") or "-->" not in media:
                    return self._error(400, "invalidMetadata", "language and a caption file are required")
                if not self._spend("captions.insert"):
                    return None
                cap = {"id": secrets.token_hex(6), "videoId": vid, "language": snippet["language"], "body": media}
                fake.captions.append(cap)
                return self._reply(200, {"kind": "youtube#caption", "id": cap["id"], "snippet": snippet})

            def do_PUT(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = parse_qs(url.query)
                body = self._body()
                fake.log.append(("PUT", self.headers.get("Content-Range", "")))
                if not self._authorized():
                    return None
                if url.path == "/youtube/v3/videos" and q.get("part") == ["status"]:
                    req = json.loads(body or b"{}")
                    v = fake.videos.get(req.get("id", ""))
                    if v is None or v.get("account") != self.account:
                        return self._error(404, "videoNotFound", "no such video")
                    fake.quota_used += 50
                    v["status"] = dict(req.get("status") or {})
                    return self._reply(200, fake.resource(req["id"]))
                up = fake.uploads.get((q.get("upload_id") or [""])[0])
                if url.path != "/upload/youtube/v3/videos" or up is None:
                    return self._error(404, "notFound", "no such upload session")
                with fake.lock:
                    if up.video_id:
                        return self._reply(200, fake.resource(up.video_id))
                    crange = self.headers.get("Content-Range", "")
                    m = re.fullmatch(r"bytes \*/(\d+)", crange)
                    if m:  # status query
                        return self._progress(up)
                    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", crange)
                    if not m or int(m.group(3)) != up.size:
                        return self._error(400, "badRange", f"bad Content-Range {crange!r}")
                    start, end = int(m.group(1)), int(m.group(2))
                    if end - start + 1 != len(body):
                        return self._error(400, "badRange", "Content-Range does not match the body length")
                    if start != len(up.data):
                        return self._error(400, "badRange", f"expected offset {len(up.data)}, got {start}")
                    if fake.fail_puts:
                        fake.fail_puts -= 1
                        return self._error(503, "backendError", "Backend Error")
                    up.data.extend(body)
                    if fake.fail_after_store:
                        fake.fail_after_store -= 1
                        return self._error(503, "backendError", "Backend Error")
                    return self._progress(up)

            def _progress(self, up: Upload) -> None:
                if len(up.data) < up.size:
                    headers = {"Range": f"bytes=0-{len(up.data) - 1}"} if up.data else {}
                    return self._reply(308, None, headers)
                vid = secrets.token_urlsafe(8)[:11]
                up.video_id = vid
                fake.videos[vid] = {
                    "snippet": up.body.get("snippet"),
                    "status": up.body.get("status"),
                    "data": bytes(up.data),
                    "account": up.account,
                }
                return self._reply(200, fake.resource(vid))

        return Handler

    def resource(self, vid: str, parts: set[str] | None = None) -> dict[str, Any]:
        v = self.videos[vid]
        out: dict[str, Any] = {
            "kind": "youtube#video",
            "id": vid,
            "snippet": v["snippet"],
            "status": {**(v["status"] or {}), "uploadStatus": "uploaded"},
        }
        if parts and "contentDetails" in parts:
            out["contentDetails"] = {"duration": v.get("duration", "PT0S")}
        if parts and "statistics" in parts:
            views = sum(int(d.get("views", 0)) for d in self.analytics.get(vid, {}).values())
            out["statistics"] = {"viewCount": str(views)}
        return out
