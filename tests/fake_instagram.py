"""A local HTTP server speaking the Facebook Login and Instagram Graph API subset tubeflow uses.

One server plays three hosts, told apart by path: the Login dialog (``/v21.0/dialog/oauth``,
auto-consent: it redirects with a code and the state), the Graph API (``/v21.0/...``) and the
resumable upload host (``/ig-api-upload/v21.0/{container}``).  Settings point tubeflow at it
through base URLs; the client code runs unchanged.

It checks the protocol the way Meta documents it: the code exchange needs the app secret and
the same redirect URI, fb_exchange_token turns a short-lived token into a long-lived one (and a
long-lived one into a fresh one), Graph calls carry a user token (Bearer/OAuth header or
access_token), REELS containers must be upload_type=resumable, the upload POST carries
``Authorization: OAuth``, ``offset`` and ``file_size`` and must continue exactly where the
stored bytes end (a GET on the upload URL says where that is), media_publish refuses a container
that is not FINISHED, and a container publishes once.  Failure switches break it the way the real
one breaks: revoked tokens (190), the 50-posts-a-day cap, a rate limit with the usage header, a
connection cut mid-upload, a media_publish whose answer is lost, an expired container.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

VERSION = "v21.0"
LONG_LIVED_S = 5183944  # what Meta answers for a long-lived user token (~60 days)
SHORT_LIVED_S = 5400
WINDOW_S = 86400
ALL_METRICS = {"views", "reach", "saved", "likes", "comments", "shares", "total_interactions"}


@dataclass
class Page:
    page_id: str
    name: str
    ig_id: str = ""  # the linked Instagram professional account ("" = none)
    username: str = ""


@dataclass
class User:
    """A Facebook user: the Pages they manage, and what they granted at the dialog."""

    name: str
    pages: list[Page]
    declined: set[str] = field(default_factory=set)
    granted: set[str] = field(default_factory=set)


@dataclass
class Container:
    id: str
    ig_id: str
    params: dict[str, str]
    created: float
    data: bytearray = field(default_factory=bytearray)
    file_size: int = 0
    polls_left: int = 0
    expired: bool = False
    media_id: str = ""

    @property
    def uploaded(self) -> bool:
        return bool(self.file_size) and len(self.data) >= self.file_size


@dataclass
class Media:
    id: str
    ig_id: str
    container_id: str
    caption: str
    timestamp: float
    data: bytes
    params: dict[str, str]
    insights: dict[str, int] = field(default_factory=dict)

    @property
    def permalink(self) -> str:
        return f"https://www.instagram.com/reel/{self.id[-11:]}/"


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t))


class FakeInstagram:
    def __init__(self, app_id: str = "fb-app", app_secret: str = "fb-secret") -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.users: dict[str, User] = {
            "default": User("default", [Page("1000001", "Demo Page", "17841400000000001", "tubeflow_demo")])
        }
        self.consent_as = "default"
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expires_at)
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.log: list[tuple[str, str]] = []
        self.uploads: list[dict[str, Any]] = []  # every upload POST: container, offset, bytes received
        self.publish_calls = 0
        self.token_exchanges = 0
        # Test switches
        self.quota_used = 0  # API posts counted against the 24 h cap on top of those made here
        self.daily_cap = 50
        self.processing_polls = 2  # status reads answering IN_PROGRESS after the upload completes
        self.drop_after_bytes: int | None = None  # the next upload: keep N bytes, then cut the connection
        self.drop_publish_response = False  # the next media_publish: publish, then cut the connection
        self.rate_limit_minutes: int | None = None  # media_publish answers (#4) with the usage header
        self.views_supported = True  # False: an old API version that knows plays, not views
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # --- where tubeflow points -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/{VERSION}"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/{VERSION}/dialog/oauth"

    @property
    def upload_url(self) -> str:
        return self.base_url

    # --- test hooks ------------------------------------------------------------------------------

    def account(self, user: str = "default") -> Page:
        return next(p for p in self.users[user].pages if p.ig_id)

    def username(self, ig_id: str) -> str:
        return next((p.username for u in self.users.values() for p in u.pages if p.ig_id == ig_id), "")

    def posts(self, ig_id: str | None = None) -> list[Media]:
        ig = ig_id or self.account().ig_id
        return [m for m in self.media.values() if m.ig_id == ig]

    def revoke(self, user: str = "default") -> None:
        """The person removed the app (or changed the password): every token of theirs answers 190."""
        with self.lock:
            for tok, (owner, _) in list(self.tokens.items()):
                if owner == user:
                    del self.tokens[tok]

    def expire_container(self, container_id: str) -> None:
        self.containers[container_id].expired = True

    def set_insights(self, media_id: str, **values: int) -> None:
        self.media[media_id].insights.update(values)

    def add_reel(self, ig_id: str = "", caption: str = "", **insights: int) -> str:
        """A Reel already on the account (posted earlier), with its lifetime insights (views, reach, saved, ...)."""
        with self.lock:
            media_id = str(17_950_000_000_000_000 + secrets.randbelow(10**15))
            ig = ig_id or self.account().ig_id
            self.media[media_id] = Media(media_id, ig, "", caption, time.time(), b"", {"media_type": "REELS"})
            self.media[media_id].insights.update(insights)
            return media_id

    def quota_usage(self, ig_id: str) -> int:
        now = time.time()
        return self.quota_used + sum(
            1 for m in self.media.values() if m.ig_id == ig_id and now - m.timestamp < WINDOW_S
        )

    def issue_token(self, user: str = "default", lifetime: float = LONG_LIVED_S) -> str:
        tok = "EAA" + secrets.token_urlsafe(24)
        self.tokens[tok] = (user, time.time() + lifetime)
        return tok

    def __enter__(self) -> FakeInstagram:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the server ------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            user = ""

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _error(
                self,
                code: int,
                message: str,
                subcode: int = 0,
                status: int = 400,
                headers: dict[str, str] | None = None,
                kind: str = "OAuthException",
            ) -> None:
                err: dict[str, Any] = {
                    "message": message,
                    "type": kind,
                    "code": code,
                    "fbtrace_id": secrets.token_urlsafe(9),
                }
                if subcode:
                    err["error_subcode"] = subcode
                self._reply(status, {"error": err}, headers)

            def _cut(self) -> None:
                """Drop the connection without an answer (a worker or network dying mid-request)."""
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _upload_error(self, status: int, kind: str, message: str) -> None:
                """What the upload host answers instead of a Graph envelope."""
                self._reply(status, {"debug_info": {"retriable": False, "type": kind, "message": message}})

            def _query(self) -> tuple[list[str], dict[str, str]]:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                return [p for p in url.path.split("/") if p], q

            def _form(self) -> dict[str, str]:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                if "json" in (self.headers.get("Content-Type") or ""):
                    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in json.loads(raw).items()}
                return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

            def _authorized(self, q: dict[str, str], scheme: tuple[str, ...] = ("Bearer", "OAuth")) -> bool:
                auth = self.headers.get("Authorization", "")
                kind, _, tok = auth.partition(" ")
                tok = tok if kind in scheme else q.get("access_token", "")
                owner = fake.tokens.get(tok)
                if owner is None or owner[1] < time.time():
                    self._error(190, "Error validating access token: The session has been invalidated.", 460)
                    return False
                self.user = owner[0]
                return True

            def _mine(self, ig_id: str) -> bool:
                return any(p.ig_id == ig_id for p in fake.users[self.user].pages if p.ig_id)

            # --- GET ------------------------------------------------------------------------------

            def do_GET(self) -> None:  # noqa: N802
                parts, q = self._query()
                fake.log.append(("GET", urlparse(self.path).path))
                if parts[:1] == ["ig-api-upload"]:
                    return self._upload_status(parts)
                if parts[:1] != [VERSION]:
                    return self._error(100, f"Unknown path {self.path}", status=404)
                parts = parts[1:]
                if parts == ["dialog", "oauth"]:
                    return self._dialog(q)
                if parts == ["oauth", "access_token"]:
                    return self._access_token(q)
                if not self._authorized(q):
                    return None
                if parts == ["me", "permissions"]:
                    user = fake.users[self.user]
                    rows = [{"permission": p, "status": "granted"} for p in sorted(user.granted)]
                    rows += [{"permission": p, "status": "declined"} for p in sorted(user.declined)]
                    return self._reply(200, {"data": rows})
                if parts == ["me", "accounts"]:
                    return self._pages(q)
                if len(parts) == 2 and parts[1] == "content_publishing_limit":
                    if not self._mine(parts[0]):
                        return self._error(100, "Unsupported get request.", 33)
                    usage = fake.quota_usage(parts[0])
                    config = {"quota_total": fake.daily_cap, "quota_duration": WINDOW_S}
                    return self._reply(200, {"data": [{"quota_usage": usage, "config": config}]})
                if len(parts) == 2 and parts[1] == "media":
                    return self._media_list(parts[0], q)
                if len(parts) == 2 and parts[1] == "insights":
                    return self._insights(parts[0], q)
                if len(parts) == 1:
                    return self._node(parts[0], q)
                return self._error(100, f"Unknown path {self.path}", status=404)

            def _dialog(self, q: dict[str, str]) -> None:
                if q.get("client_id") != fake.app_id:
                    return self._error(101, "Error validating application. Invalid application ID.")
                if q.get("response_type") != "code" or not q.get("redirect_uri") or not q.get("state"):
                    return self._error(100, "response_type=code, redirect_uri and state are required")
                user = fake.users[fake.consent_as]
                asked = set(filter(None, q.get("scope", "").split(",")))
                user.granted = asked - user.declined
                code = secrets.token_urlsafe(16)
                fake.codes[code] = {"user": user.name, "redirect_uri": q["redirect_uri"]}
                sep = "&" if "?" in q["redirect_uri"] else "?"
                self.send_response(302)
                self.send_header(
                    "Location", f"{q['redirect_uri']}{sep}{urlencode({'code': code, 'state': q['state']})}"
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            def _access_token(self, q: dict[str, str]) -> None:
                if q.get("client_id") != fake.app_id or q.get("client_secret") != fake.app_secret:
                    return self._error(1, "Error validating client secret.", kind="OAuthException")
                if q.get("grant_type") == "fb_exchange_token":
                    owner = fake.tokens.get(q.get("fb_exchange_token", ""))
                    if owner is None or owner[1] < time.time():
                        return self._error(190, "Error validating access token: Session has expired.", 463)
                    fake.token_exchanges += 1
                    tok = fake.issue_token(owner[0])
                    return self._reply(200, {"access_token": tok, "token_type": "bearer", "expires_in": LONG_LIVED_S})
                grant = fake.codes.pop(q.get("code", ""), None)
                if grant is None:
                    return self._error(100, "This authorization code has been used.", 36009)
                if grant["redirect_uri"] != q.get("redirect_uri"):
                    return self._error(
                        100,
                        "Error validating verification code. Please make sure your "
                        "redirect_uri is identical to the one you used in the OAuth dialog request",
                        36008,
                    )
                tok = fake.issue_token(grant["user"], SHORT_LIVED_S)
                return self._reply(200, {"access_token": tok, "token_type": "bearer", "expires_in": SHORT_LIVED_S})

            def _pages(self, q: dict[str, str]) -> None:
                limit = int(q.get("limit") or 25)
                start = int(q.get("after") or 0)
                fields = q.get("fields", "")
                rows = []
                for page in fake.users[self.user].pages[start : start + limit]:
                    row: dict[str, Any] = {"id": page.page_id, "name": page.name}
                    if page.ig_id and "instagram_business_account" in fields:
                        row["instagram_business_account"] = {"id": page.ig_id, "username": page.username}
                    rows.append(row)
                body: dict[str, Any] = {"data": rows}
                if start + limit < len(fake.users[self.user].pages):
                    after = str(start + limit)
                    body["paging"] = {
                        "cursors": {"before": str(start), "after": after},
                        "next": f"https://graph.facebook.com/{VERSION}/me/accounts?after={after}",
                    }
                return self._reply(200, body)

            def _media_fields(self, m: Media, fields: str) -> dict[str, Any]:
                every = {
                    "id": m.id,
                    "caption": m.caption,
                    "media_type": "VIDEO",
                    "media_product_type": "REELS",
                    "timestamp": _ts(m.timestamp),
                    "permalink": m.permalink,
                    "is_ai_generated": m.params.get("is_ai_generated") == "true",
                    "username": fake.username(m.ig_id),
                }
                wanted = [f for f in fields.split(",") if f] or ["id"]
                return {"id": m.id, **{f: every[f] for f in wanted if f in every}}

            def _media_list(self, ig_id: str, q: dict[str, str]) -> None:
                if not self._mine(ig_id):
                    return self._error(100, "Unsupported get request.", 33)
                mine = sorted((m for m in fake.media.values() if m.ig_id == ig_id), key=lambda m: -m.timestamp)
                limit, start = int(q.get("limit") or 25), int(q.get("after") or 0)
                body: dict[str, Any] = {
                    "data": [self._media_fields(m, q.get("fields", "")) for m in mine[start : start + limit]]
                }
                if start + limit < len(mine):
                    body["paging"] = {
                        "cursors": {"after": str(start + limit)},
                        "next": "https://graph.facebook.com/next",
                    }
                return self._reply(200, body)

            def _node(self, node: str, q: dict[str, str]) -> None:
                c = fake.containers.get(node)
                if c is not None and self._mine(c.ig_id):
                    with fake.lock:
                        status = fake.container_status(c)
                    texts = {
                        "IN_PROGRESS": "In Progress: Media is still being processed.",
                        "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
                        "PUBLISHED": "Published: Media has been published.",
                        "EXPIRED": "Expired: Media was not published within 24 hours.",
                    }
                    return self._reply(200, {"id": c.id, "status_code": status, "status": texts[status]})
                m = fake.media.get(node)
                if m is not None and self._mine(m.ig_id):
                    return self._reply(200, self._media_fields(m, q.get("fields", "")))
                return self._error(100, f"Unsupported get request. Object with ID '{node}' does not exist", 33)

            def _insights(self, media_id: str, q: dict[str, str]) -> None:
                m = fake.media.get(media_id)
                if m is None or not self._mine(m.ig_id):
                    return self._error(100, f"Unsupported get request. Object with ID '{media_id}' does not exist", 33)
                known = ALL_METRICS if fake.views_supported else (ALL_METRICS - {"views"}) | {"plays"}
                metrics = [x for x in q.get("metric", "").split(",") if x]
                bad = [x for x in metrics if x not in known]
                if not metrics or bad:
                    return self._error(
                        100,
                        f"(#100) metric[{metrics.index(bad[0]) if bad else 0}] must be one "
                        f"of the following values: {', '.join(sorted(known))}",
                    )
                data = [
                    {
                        "name": x,
                        "period": "lifetime",
                        "values": [{"value": m.insights.get(x, 0)}],
                        "title": x.title(),
                        "id": f"{media_id}/insights/{x}/lifetime",
                    }
                    for x in metrics
                ]
                return self._reply(200, {"data": data})

            def _upload_status(self, parts: list[str]) -> None:
                c = fake.containers.get(parts[-1]) if len(parts) == 3 else None
                if not self._authorized({}, ("OAuth",)):
                    return None
                if c is None or c.expired or not self._mine(c.ig_id):
                    return self._upload_error(404, "NotFoundError", "no upload for this container")
                return self._reply(200, {"id": c.id, "offset": len(c.data), "file_size": c.file_size})

            # --- POST -----------------------------------------------------------------------------

            def do_POST(self) -> None:  # noqa: N802
                parts, q = self._query()
                fake.log.append(("POST", urlparse(self.path).path))
                if parts[:1] == ["ig-api-upload"]:
                    return self._upload(parts)
                form = {**q, **self._form()}
                if parts[:1] != [VERSION] or len(parts) != 3:
                    return self._error(100, f"Unknown path {self.path}", status=404)
                if not self._authorized(form):
                    return None
                ig_id, edge = parts[1], parts[2]
                if not self._mine(ig_id):
                    return self._error(100, "Unsupported post request.", 33)
                if edge == "media":
                    return self._create(ig_id, form)
                if edge == "media_publish":
                    return self._publish(ig_id, form)
                return self._error(100, f"Unknown edge {edge}", status=404)

            def _create(self, ig_id: str, form: dict[str, str]) -> None:
                if form.get("media_type") != "REELS" or form.get("upload_type") != "resumable":
                    return self._error(100, "this fake takes REELS with upload_type=resumable")
                caption = form.get("caption", "")
                if len(caption) > 2200:
                    return self._error(100, "The caption is too long (2200 characters at most).", 2207010)
                if caption.count("#") > 30:
                    return self._error(100, "The caption has more than 30 hashtags.", 2207010)
                cid = "1789" + "".join(secrets.choice("0123456789") for _ in range(13))
                with fake.lock:
                    fake.containers[cid] = Container(cid, ig_id, dict(form), time.time())
                uri = f"https://rupload.facebook.com/ig-api-upload/{VERSION}/{cid}"
                return self._reply(200, {"id": cid, "uri": uri})

            def _upload(self, parts: list[str]) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                c = fake.containers.get(parts[-1]) if len(parts) == 3 and parts[1] == VERSION else None
                if not self._authorized({}, ("OAuth",)):
                    return None
                if c is None or c.expired or not self._mine(c.ig_id):
                    self.rfile.read(n)
                    return self._upload_error(404, "NotFoundError", "no upload for this container")
                try:
                    offset, size = int(self.headers["offset"]), int(self.headers["file_size"])
                except (KeyError, ValueError):
                    self.rfile.read(n)
                    return self._upload_error(400, "BadRequest", "offset and file_size headers are required")
                with fake.lock:
                    if offset != len(c.data) or (c.file_size and size != c.file_size) or offset + n != size:
                        self.rfile.read(n)
                        return self._upload_error(400, "OffsetMismatch", f"expected offset {len(c.data)}")
                    c.file_size = size
                    drop, fake.drop_after_bytes = fake.drop_after_bytes, None
                    want = n if drop is None else min(n, drop)
                    got = self.rfile.read(want)
                    c.data.extend(got)
                    fake.uploads.append({"container": c.id, "offset": offset, "bytes": len(got)})
                    if drop is not None:
                        return self._cut()
                    c.polls_left = fake.processing_polls
                return self._reply(200, {"success": True, "message": "Upload successful."})

            def _publish(self, ig_id: str, form: dict[str, str]) -> None:
                c = fake.containers.get(form.get("creation_id", ""))
                if c is None or c.ig_id != ig_id:
                    return self._error(24, "The media with the requested id cannot be found.", 2207006)
                with fake.lock:
                    fake.publish_calls += 1
                    status = fake.container_status(c, poll=False)
                    if status == "EXPIRED":
                        return self._error(
                            -2, "The media you are trying to access has expired. Please try to upload again.", 2207020
                        )
                    if status == "PUBLISHED":
                        return self._error(100, "This media has already been published.")
                    if status != "FINISHED":
                        return self._error(
                            9007, "The media is not ready for publishing, please wait for a moment", 2207027
                        )
                    if fake.rate_limit_minutes is not None or fake.quota_usage(ig_id) >= fake.daily_cap:
                        minutes = fake.rate_limit_minutes if fake.rate_limit_minutes is not None else 60 * 24
                        usage = {"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": minutes}
                        header = {"X-Business-Use-Case-Usage": json.dumps({"1000001": [usage]})}
                        return self._error(4, "Application request limit reached", headers=header)
                    mid = "1790" + "".join(secrets.choice("0123456789") for _ in range(13))
                    fake.media[mid] = Media(
                        mid, ig_id, c.id, c.params.get("caption", ""), time.time(), bytes(c.data), dict(c.params)
                    )
                    c.media_id = mid
                    cut, fake.drop_publish_response = fake.drop_publish_response, False
                if cut:
                    return self._cut()
                return self._reply(200, {"id": mid})

        return Handler

    def container_status(self, c: Container, poll: bool = True) -> str:
        """IN_PROGRESS until the bytes are in and a poll or two after; then FINISHED; PUBLISHED after."""
        if c.media_id:
            return "PUBLISHED"
        if c.expired:
            return "EXPIRED"
        if not c.uploaded:
            return "IN_PROGRESS"
        if c.polls_left > 0:
            if poll:
                c.polls_left -= 1
            return "IN_PROGRESS"
        return "FINISHED"
