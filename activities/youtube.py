"""YouTube Data API v3: OAuth2 token refresh, resumable video upload, thumbnails.set.

Written against the documented HTTP protocol with httpx (no Google client library): the base URL
and the token URI come from settings and the credentials file, so tests run the same code
against a local fake server.  A resumable upload survives a dropped connection (it asks the
server how much arrived and continues), and the upload session and the final video id are kept
in storage so a retried activity resumes or returns the earlier result instead of publishing a
duplicate video.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from activities.publish_metadata import build_metadata, entry_name
from tubeflow.contracts import PublishRequest, PublishResult, production_prefix
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings
from tubeflow.storage import Storage

DEFAULT_BASE_URL = "https://www.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
CHUNK = 8 * 256 * 1024  # resumable chunks must be multiples of 256 KiB
EDUCATION_CATEGORY = "27"


def _reason(resp: httpx.Response) -> str:
    try:
        err = resp.json().get("error")
    except ValueError:
        return resp.text[:200]
    if isinstance(err, dict):
        reasons = [e.get("reason", "") for e in err.get("errors") or [] if isinstance(e, dict)]
        return ",".join(r for r in reasons if r) or str(err.get("message", ""))
    return str(err or "")


def check(resp: httpx.Response, what: str) -> None:
    """Map YouTube answers onto retry semantics with a message saying what to do."""
    code = resp.status_code
    if code < 400:
        return
    reason = _reason(resp)
    if code == 401:
        raise PermanentError(
            f"YouTube refused {what} (401 {reason}): the OAuth token is invalid; re-authorize the channel and "
            "update the file in TUBEFLOW_YOUTUBE_CREDENTIALS"
        )
    if code == 403 and ("rateLimitExceeded" in reason or "userRateLimitExceeded" in reason):
        raise TransientError(f"YouTube rate limit during {what} ({reason})", retry_after_s=60.0)
    if code == 403 and "quotaExceeded" in reason:
        # The daily quota resets at midnight Pacific time; retrying hourly publishes once it does.
        raise TransientError(f"YouTube daily API quota exhausted during {what}; will retry", retry_after_s=3600.0)
    if code == 403:
        raise PermanentError(
            f"YouTube forbade {what} (403 {reason}): the credentials lack the youtube.upload scope or the "
            "channel cannot upload (verify the account, or custom thumbnails need a verified phone number)"
        )
    if code == 429 or code >= 500:
        retry = resp.headers.get("Retry-After")
        raise TransientError(
            f"YouTube is unavailable for {what} ({code} {reason})",
            retry_after_s=float(retry) if retry and retry.isdigit() else 10.0,
        )
    raise PermanentError(f"YouTube rejected {what} ({code} {reason})")


class Credentials:
    """An OAuth2 authorized-user file (what ``google-auth-oauthlib`` writes), refreshed on demand."""

    def __init__(self, data: dict[str, Any], source: str = "credentials") -> None:
        missing = [k for k in ("client_id", "client_secret", "refresh_token") if not data.get(k)]
        if missing:
            raise ConfigError(f"{source}: missing {missing}; create it with an OAuth2 installed-app flow")
        self.data = data
        self.token_uri = str(data.get("token_uri") or DEFAULT_TOKEN_URI)
        self.access_token = str(data.get("token") or "")
        self.expires_at = 0.0 if not self.access_token else float(data.get("expires_at") or 0.0)

    @classmethod
    def load(cls, path: str) -> Credentials:
        if not path:
            raise ConfigError("TUBEFLOW_PUBLISHER=youtube needs TUBEFLOW_YOUTUBE_CREDENTIALS (authorized-user JSON)")
        p = Path(path).expanduser()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"TUBEFLOW_YOUTUBE_CREDENTIALS={path} cannot be read ({e})") from e
        except ValueError as e:
            raise ConfigError(f"TUBEFLOW_YOUTUBE_CREDENTIALS={path} is not JSON ({e})") from e
        if not isinstance(data, dict):
            raise ConfigError(f"TUBEFLOW_YOUTUBE_CREDENTIALS={path} must hold a JSON object")
        return cls(data, p.name)

    def token(self, http: httpx.Client, force: bool = False) -> str:
        if self.access_token and not force and time.time() < self.expires_at - 60:
            return self.access_token
        try:
            resp = http.post(
                self.token_uri,
                data={
                    "grant_type": "refresh_token",
                    "client_id": self.data["client_id"],
                    "client_secret": self.data["client_secret"],
                    "refresh_token": self.data["refresh_token"],
                },
            )
        except httpx.TransportError as e:
            raise TransientError(f"OAuth token endpoint unreachable ({e.__class__.__name__})") from e
        if resp.status_code in (400, 401):
            raise PermanentError(
                f"Google refused to refresh the YouTube token ({resp.status_code} {_reason(resp)}): the refresh "
                "token was revoked or expired; run the OAuth consent flow again and replace the credentials file"
            )
        check(resp, "the token refresh")
        body = resp.json()
        self.access_token = str(body["access_token"])
        self.expires_at = time.time() + float(body.get("expires_in") or 3600)
        return self.access_token


class YouTubeClient:
    def __init__(self, creds: Credentials, base_url: str = "", http: httpx.Client | None = None, chunk: int = CHUNK):
        if chunk % (256 * 1024):
            raise ConfigError("YouTube upload chunk size must be a multiple of 256 KiB")
        self.creds = creds
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.http = http or httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0))
        self.chunk = chunk
        self.retry_base_s = 0.5  # first pause after a failed chunk; doubles per consecutive failure

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.token(self.http)}"}

    def _send(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        """One request; a 401 gets one token refresh and a second try (tokens expire mid-upload)."""
        extra = kw.pop("headers", {})
        for attempt in range(2):
            headers = {**extra, **self._auth()}
            try:
                resp = self.http.request(method, url, headers=headers, **kw)
            except httpx.TransportError as e:
                raise TransientError(f"YouTube unreachable during {what} ({e.__class__.__name__})") from e
            if resp.status_code != 401 or attempt:
                return resp
            self.creds.token(self.http, force=True)
        return resp

    def start_upload(self, body: dict[str, Any], size: int, content_type: str = "video/mp4") -> str:
        resp = self._send(
            "POST",
            f"{self.base_url}/upload/youtube/v3/videos",
            "the upload request",
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=body,
            headers={"X-Upload-Content-Type": content_type, "X-Upload-Content-Length": str(size)},
        )
        check(resp, "the upload request")
        location = resp.headers.get("Location")
        if not location:
            raise TransientError("YouTube accepted the upload request but sent no upload URL")
        return location

    def uploaded_bytes(self, session_url: str, size: int) -> int | dict[str, Any]:
        """Bytes the server holds for this session, or the finished video resource."""
        resp = self._send("PUT", session_url, "the upload status", headers={"Content-Range": f"bytes */{size}"})
        if resp.status_code in (200, 201):
            return resp.json()
        if resp.status_code == 404:
            raise PermanentError("the YouTube upload session expired (404); publish again to start a new upload")
        if resp.status_code != 308:
            check(resp, "the upload status")
            raise TransientError(f"unexpected {resp.status_code} asking YouTube for the upload status")
        rng = resp.headers.get("Range")
        return int(rng.rsplit("-", 1)[1]) + 1 if rng else 0

    def upload(self, session_url: str, path: Path, max_stalls: int = 5) -> dict[str, Any]:
        """PUT the file chunk by chunk; after a failure ask where the server is and carry on."""
        size = path.stat().st_size
        offset = 0
        stalls = 0
        with path.open("rb") as fh:
            while True:
                fh.seek(offset)
                data = fh.read(self.chunk)
                end = offset + len(data) - 1
                try:
                    resp = self._send(
                        "PUT",
                        session_url,
                        "the video upload",
                        content=data,
                        headers={"Content-Type": "video/mp4", "Content-Range": f"bytes {offset}-{end}/{size}"},
                    )
                    if resp.status_code in (200, 201):
                        return resp.json()
                    if resp.status_code == 308:
                        rng = resp.headers.get("Range")
                        offset = int(rng.rsplit("-", 1)[1]) + 1 if rng else 0
                        stalls = 0
                        continue
                    check(resp, "the video upload")
                    raise TransientError(f"unexpected {resp.status_code} during the video upload")
                except TransientError:
                    stalls += 1
                    if stalls > max_stalls:
                        raise
                    time.sleep(min(8.0, self.retry_base_s * 2 ** (stalls - 1)))
                    state = self.uploaded_bytes(session_url, size)
                    if isinstance(state, dict):
                        return state
                    offset = state

    def set_thumbnail(self, video_id: str, path: Path) -> None:
        suffix = path.suffix.lower()
        ctype = "image/png" if suffix == ".png" else "image/jpeg"
        resp = self._send(
            "POST",
            f"{self.base_url}/upload/youtube/v3/thumbnails/set",
            "thumbnails.set",
            params={"videoId": video_id, "uploadType": "media"},
            content=path.read_bytes(),
            headers={"Content-Type": ctype},
        )
        check(resp, "thumbnails.set")


class YouTubePublisher:
    """Uploads as private by default (``extra["privacy"]`` may say public/unlisted): a person flips it live."""

    name = "youtube"

    def __init__(self, client: YouTubeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings, chunk: int = CHUNK) -> YouTubePublisher:
        return cls(
            YouTubeClient(Credentials.load(settings.youtube_credentials), settings.youtube_base_url, chunk=chunk)
        )

    def publish(self, storage: Storage, req: PublishRequest, script: dict[str, Any]) -> PublishResult:
        state_key = f"{production_prefix(req.production_id)}/youtube/{entry_name(req)}.json"
        state: dict[str, Any] = json.loads(storage.get_text(state_key)) if storage.exists(state_key) else {}
        if state.get("video_id") and state.get("thumbnail_done"):
            return PublishResult(location=state["url"], video_id=state["video_id"])

        video = storage.fetch(req.video_key)
        size = video.stat().st_size
        if not state.get("video_id"):
            meta = build_metadata(storage, req, script, float(req.extra.get("duration_s") or 0.0))
            privacy = str(req.extra.get("privacy") or "private")
            if privacy not in ("private", "unlisted", "public"):
                raise PermanentError(f"privacy must be private, unlisted or public, not {privacy!r}")
            body = {
                "snippet": {
                    "title": meta["title"],
                    "description": meta["description"],
                    "tags": meta["tags"],
                    "categoryId": str(req.extra.get("category_id") or EDUCATION_CATEGORY),
                    "defaultLanguage": meta["language"],
                    "defaultAudioLanguage": meta["language"],
                },
                "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": False},
            }
            resource: dict[str, Any] | None = None
            if state.get("session_url") and state.get("size") == size:
                try:
                    got = self.client.uploaded_bytes(state["session_url"], size)
                    resource = got if isinstance(got, dict) else None
                except PermanentError:
                    state.pop("session_url", None)  # expired session: start a new one below
            if resource is None:
                if not state.get("session_url"):
                    state = {"session_url": self.client.start_upload(body, size), "size": size}
                    storage.put_text(state_key, json.dumps(state), "application/json")
                resource = self.client.upload(state["session_url"], video)
            video_id = str(resource.get("id") or "")
            if not video_id:
                raise TransientError("YouTube finished the upload but returned no video id")
            state.update(video_id=video_id, url=f"https://youtu.be/{video_id}", thumbnail_done=False)
            storage.put_text(state_key, json.dumps(state), "application/json")

        if req.thumbnail_key:
            self.client.set_thumbnail(state["video_id"], storage.fetch(req.thumbnail_key))
        state["thumbnail_done"] = True
        storage.put_text(state_key, json.dumps(state), "application/json")
        return PublishResult(location=state["url"], video_id=state["video_id"])
