"""A local HTTP server speaking the YouTube Data API v3 upload subset and Google's token endpoint.

It checks the protocol the way the real service does: refresh-token grant on /token, Bearer
tokens on every call, the resumable upload (POST with X-Upload-Content-* headers -> Location;
PUT chunks with Content-Range -> 308 + Range until complete -> 200 with the video resource;
"bytes */N" status queries), and thumbnails.set (JPEG/PNG under 2 MB for an existing video).
Failure switches let tests break it the way the real one breaks (5xx mid-upload, quota, revoked
tokens, tokens that expire).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
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


class FakeYouTube:
    def __init__(self, client_id: str = "cid", client_secret: str = "csecret", refresh_token: str = "rtoken"):
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
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
                return True

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = parse_qs(url.query)
                body = self._body()
                fake.log.append(("POST", url.path))
                if url.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    if form.get("grant_type") != "refresh_token":
                        return self._reply(400, {"error": "unsupported_grant_type"})
                    if (form.get("client_id"), form.get("client_secret")) != (fake.client_id, fake.client_secret):
                        return self._reply(401, {"error": "invalid_client"})
                    if form.get("refresh_token") != fake.refresh_token:
                        return self._reply(
                            400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                        )
                    token = "ya29." + secrets.token_hex(8)
                    fake.tokens.add(token)
                    fake.token_grants += 1
                    return self._reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
                if not self._authorized():
                    return None
                if url.path == "/upload/youtube/v3/videos":
                    if q.get("uploadType") != ["resumable"] or set((q.get("part") or [""])[0].split(",")) != {
                        "snippet",
                        "status",
                    }:
                        return self._error(400, "invalidParameter", "expected uploadType=resumable&part=snippet,status")
                    if fake.quota_exceeded:
                        return self._error(
                            403,
                            "quotaExceeded",
                            "The request cannot be completed because you have exceeded your quota.",
                        )
                    try:
                        meta = json.loads(body)
                    except ValueError:
                        return self._error(400, "parseError", "body is not JSON")
                    title = (meta.get("snippet") or {}).get("title") or ""
                    if not title or len(title) > 100 or "<" in title:
                        return self._error(400, "invalidTitle", "bad title")
                    if len((meta.get("snippet") or {}).get("description") or "") > 5000:
                        return self._error(400, "invalidDescription", "description too long")
                    size = self.headers.get("X-Upload-Content-Length")
                    ctype = self.headers.get("X-Upload-Content-Type", "")
                    if not size or not size.isdigit() or not ctype.startswith("video/"):
                        return self._error(400, "badContent", "X-Upload-Content-Length/Type required")
                    upload_id = secrets.token_hex(6)
                    fake.uploads[upload_id] = Upload(int(size), meta, ctype)
                    loc = f"{fake.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
                    return self._reply(200, None, {"Location": loc})
                if url.path == "/upload/youtube/v3/thumbnails/set":
                    vid = (q.get("videoId") or [""])[0]
                    if vid not in fake.videos:
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
                    fake.videos[vid]["thumbnail"] = body
                    return self._reply(
                        200, {"kind": "youtube#thumbnailSetResponse", "items": [{"default": {"url": "x"}}]}
                    )
                return self._error(404, "notFound", url.path)

            def do_PUT(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                q = parse_qs(url.query)
                body = self._body()
                fake.log.append(("PUT", self.headers.get("Content-Range", "")))
                if not self._authorized():
                    return None
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
                }
                return self._reply(200, fake.resource(vid))

        return Handler

    def resource(self, vid: str) -> dict[str, Any]:
        v = self.videos[vid]
        return {
            "kind": "youtube#video",
            "id": vid,
            "snippet": v["snippet"],
            "status": {**(v["status"] or {}), "uploadStatus": "uploaded"},
        }
