"""YouTube Data API v3: resumable video upload, scheduled publishing, thumbnails, captions, playlists.

Token refresh goes through Google's own ``google-auth`` (the token URI comes from the
credentials, the API base URL from settings); the Data API calls are the documented HTTP
protocol over httpx, so tests run the same code against a local fake server.  A resumable
upload survives a dropped connection (it asks the server how much arrived and continues), and
the upload session, the video id and each finished step are kept in storage so a retried
activity resumes or returns the earlier result instead of publishing a duplicate video.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import httpx

from activities.publish_metadata import PublishingPlatform, PublishOptions, build_metadata, captions_srt, entry_name
from tubeflow.contracts import PublishRequest, PublishResult
from tubeflow.errors import AccountNeedsReconnect, ConfigError, PermanentError, QuotaExhausted, TransientError
from tubeflow.keys import ProductionKeys
from tubeflow.settings import Settings
from tubeflow.storage import Storage
from tubeflow.youtube_quota import next_reset

DEFAULT_BASE_URL = "https://www.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
CHUNK = 8 * 256 * 1024  # resumable chunks must be multiples of 256 KiB
EDUCATION_CATEGORY = "27"
FILE_PROJECT = "default"  # the quota ledger's name for the project behind TUBEFLOW_YOUTUBE_CREDENTIALS


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
        raise AccountNeedsReconnect(
            f"YouTube refused {what} (401 {reason}): the OAuth token is invalid; reconnect the channel "
            "(`tubeflow channel connect CHANNEL`, or replace the file in TUBEFLOW_YOUTUBE_CREDENTIALS)"
        )
    if code == 403 and ("rateLimitExceeded" in reason or "userRateLimitExceeded" in reason):
        raise TransientError(f"YouTube rate limit during {what} ({reason})", retry_after_s=60.0)
    if code == 403 and ("quotaExceeded" in reason or "dailyLimitExceeded" in reason):
        # The daily quota resets at midnight Pacific time: the workflow waits for it, nothing retries before.
        reset = next_reset(datetime.now(UTC))
        raise QuotaExhausted(
            f"YouTube daily API quota exhausted during {what}; publishing waits for the reset at "
            f"{reset.isoformat()} (midnight Pacific)",
            reset.isoformat(),
        )
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
        """A valid access token, refreshed through google-auth when missing, expiring or refused."""
        if self.access_token and not force and time.time() < self.expires_at - 60:
            return self.access_token
        creds = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]  # google-auth leaves __init__ unannotated
            token=None,
            refresh_token=self.data["refresh_token"],
            token_uri=self.token_uri,
            client_id=self.data["client_id"],
            client_secret=self.data["client_secret"],
        )
        try:
            creds.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]  # unannotated in google-auth
        except google.auth.exceptions.RefreshError as e:
            if getattr(e, "retryable", False):
                raise TransientError(f"Google could not refresh the YouTube token right now ({_safe(e)})") from None
            raise AccountNeedsReconnect(
                f"Google refused to refresh the YouTube token ({_safe(e)}): the authorization was revoked or "
                "expired; run the OAuth consent flow again (`tubeflow channel connect CHANNEL`, or replace the "
                "file in TUBEFLOW_YOUTUBE_CREDENTIALS)"
            ) from None
        except google.auth.exceptions.TransportError as e:
            raise TransientError(f"OAuth token endpoint unreachable ({e.__class__.__name__})") from None
        self.access_token = str(creds.token)
        expiry = creds.expiry  # naive UTC
        self.expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry else time.time() + 3600
        return self.access_token


def _safe(e: Exception) -> str:
    """The error's first line; google-auth puts the token endpoint's JSON there, never the token itself."""
    return str(e.args[0] if e.args else e).splitlines()[0][:200]


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
        return str(location)

    def uploaded_bytes(self, session_url: str, size: int) -> int | dict[str, Any]:
        """Bytes the server holds for this session, or the finished video resource."""
        resp = self._send("PUT", session_url, "the upload status", headers={"Content-Range": f"bytes */{size}"})
        if resp.status_code in (200, 201):
            return cast(dict[str, Any], resp.json())
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
                        return cast(dict[str, Any], resp.json())
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

    def _json_call(self, method: str, path: str, what: str, **kw: Any) -> dict[str, Any]:
        resp = self._send(method, f"{self.base_url}{path}", what, **kw)
        check(resp, what)
        return resp.json() if resp.content else {}

    def my_channel(self) -> dict[str, str]:
        """The YouTube channel these credentials publish to (channels.list?mine=true)."""
        body = self._json_call(
            "GET", "/youtube/v3/channels", "channels.list", params={"part": "snippet", "mine": "true"}
        )
        items = body.get("items") or []
        if not items:
            raise PermanentError("this Google account has no YouTube channel; create one, then connect again")
        return {"id": str(items[0]["id"]), "title": str(items[0].get("snippet", {}).get("title", ""))}

    def insert_caption(self, video_id: str, language: str, name: str, srt: str) -> str:
        """captions.insert as a multipart upload: the track's snippet (JSON), then the SubRip file."""
        boundary = "tubeflow-caption-boundary"
        meta = json.dumps({"snippet": {"videoId": video_id, "language": language, "name": name, "isDraft": False}})
        body = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n"
            f"--{boundary}\r\nContent-Type: application/x-subrip\r\n\r\n{srt}\r\n--{boundary}--\r\n"
        ).encode()
        got = self._json_call(
            "POST",
            "/upload/youtube/v3/captions",
            "captions.insert",
            params={"uploadType": "multipart", "part": "snippet"},
            content=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
        return str(got.get("id") or "")

    def add_to_playlist(self, playlist_id: str, video_id: str) -> str:
        got = self._json_call(
            "POST",
            "/youtube/v3/playlistItems",
            "playlistItems.insert",
            params={"part": "snippet"},
            json={"snippet": {"playlistId": playlist_id, "resourceId": {"kind": "youtube#video", "videoId": video_id}}},
        )
        return str(got.get("id") or "")

    def get_video(self, video_id: str) -> dict[str, Any]:
        body = self._json_call("GET", "/youtube/v3/videos", "videos.list", params={"part": "status", "id": video_id})
        items = body.get("items") or []
        if not items:
            raise PermanentError(f"YouTube has no video {video_id!r} on this account")
        return dict(items[0])

    def reschedule(self, video_id: str, publish_at: str) -> dict[str, Any]:
        """videos.update of the status part: private until ``publish_at``, then public."""
        status = dict(self.get_video(video_id).get("status") or {})
        keep = {k: status[k] for k in ("selfDeclaredMadeForKids", "containsSyntheticMedia") if k in status}
        return self._json_call(
            "PUT",
            "/youtube/v3/videos",
            "videos.update",
            params={"part": "status"},
            json={"id": video_id, "status": {**keep, "privacyStatus": "private", "publishAt": publish_at}},
        )


class YouTubePublisher:
    """Uploads as private; with a slot and ``privacy=public`` YouTube publishes it at ``publishAt``.

    Every step (upload, thumbnail, captions, playlist) is recorded in a state file in storage once
    done, so a retried or resumed publish continues where it stopped and never uploads twice.
    """

    name = "youtube"

    def __init__(self, client: YouTubeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings, chunk: int = CHUNK) -> YouTubePublisher:
        return cls(
            YouTubeClient(Credentials.load(settings.youtube_credentials), settings.youtube_base_url, chunk=chunk)
        )

    @classmethod
    def for_account(cls, settings: Settings, credentials: dict[str, Any], chunk: int = CHUNK) -> YouTubePublisher:
        return cls(
            YouTubeClient(
                Credentials(credentials, "the channel's YouTube account"), settings.youtube_base_url, chunk=chunk
            )
        )

    @staticmethod
    def state_key(req: PublishRequest) -> str:
        return ProductionKeys(req.production_id).publish_state(entry_name(req))

    def load_state(self, storage: Storage, req: PublishRequest) -> dict[str, Any]:
        key = self.state_key(req)
        return json.loads(storage.get_text(key)) if storage.exists(key) else {}

    def pending_calls(self, storage: Storage, req: PublishRequest, options: PublishOptions | None = None) -> list[str]:
        """The Data API calls this publish still has to make (for the quota ledger)."""
        opts = options or PublishOptions()
        state = self.load_state(storage, req)
        calls = [] if state.get("video_id") else ["videos.insert"]
        if req.thumbnail_key and not state.get("thumbnail_done"):
            calls.append("thumbnails.set")
        if req.kind == "long" and not state.get("captions_done") and captions_srt(storage, req):
            calls.append("captions.insert")
        if opts.playlist and not state.get("playlist_done"):
            calls.append("playlistItems.insert")
        return calls

    def publish(
        self, storage: Storage, req: PublishRequest, script: dict[str, Any], options: PublishOptions | None = None
    ) -> PublishResult:
        opts = options or PublishOptions()
        state_key = self.state_key(req)
        state = self.load_state(storage, req)

        def save() -> None:
            storage.put_text(state_key, json.dumps(state), "application/json")

        meta = build_metadata(storage, req, script, float(req.extra.get("duration_s") or 0.0), opts)
        if not state.get("video_id"):
            video = storage.fetch(req.video_key)
            size = video.stat().st_size
            privacy = str(req.extra.get("privacy") or opts.privacy or "private")
            if privacy not in ("private", "unlisted", "public"):
                raise PermanentError(f"privacy must be private, unlisted or public, not {privacy!r}")
            status: dict[str, Any] = {
                "privacyStatus": privacy,
                "selfDeclaredMadeForKids": opts.made_for_kids,
                "containsSyntheticMedia": opts.synthetic_disclosure,
            }
            if opts.publish_at and privacy == "public":
                # Scheduled publishing: private until publishAt, then YouTube makes it public.
                status.update(privacyStatus="private", publishAt=opts.publish_at)
            body = {
                "snippet": {
                    "title": meta["title"],
                    "description": meta["description"],
                    "tags": meta["tags"],
                    "categoryId": str(req.extra.get("category_id") or opts.category or EDUCATION_CATEGORY),
                    "defaultLanguage": meta["language"],
                    "defaultAudioLanguage": meta["language"],
                },
                "status": status,
            }
            resource: dict[str, Any] | None = None
            if state.get("session_url") and state.get("size") == size:
                try:
                    got = self.client.uploaded_bytes(state["session_url"], size)
                    resource = got if isinstance(got, dict) else None
                except AccountNeedsReconnect:
                    raise
                except PermanentError:
                    state.pop("session_url", None)  # expired session: start a new one below
            if resource is None:
                if not state.get("session_url"):
                    state = {"session_url": self.client.start_upload(body, size), "size": size}
                    save()
                resource = self.client.upload(state["session_url"], video)
            video_id = str(resource.get("id") or "")
            if not video_id:
                raise TransientError("YouTube finished the upload but returned no video id")
            state.update(video_id=video_id, url=f"https://youtu.be/{video_id}", thumbnail_done=False)
            state["publish_at"] = status.get("publishAt", "")
            save()

        if req.thumbnail_key and not state.get("thumbnail_done"):
            self.client.set_thumbnail(state["video_id"], storage.fetch(req.thumbnail_key))
        state["thumbnail_done"] = True
        save()
        if req.kind == "long" and not state.get("captions_done"):
            srt = captions_srt(storage, req)
            if srt:
                state["caption_id"] = self.client.insert_caption(
                    state["video_id"], meta["language"], meta["language"], srt
                )
            state["captions_done"] = True
            save()
        if opts.playlist and not state.get("playlist_done"):
            state["playlist_item"] = self.client.add_to_playlist(opts.playlist, state["video_id"])
            state["playlist_done"] = True
            save()
        return PublishResult(location=state["url"], video_id=state["video_id"])


def _from_settings(settings: Settings) -> YouTubePublisher:
    return YouTubePublisher.from_settings(settings)


PLATFORM = PublishingPlatform("youtube", _from_settings, quota_project=FILE_PROJECT)
