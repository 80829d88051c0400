"""Instagram Reels through the Instagram Graph API with Facebook Login for Business.

Plain synchronous httpx (the cross-posting adapter runs it in a thread); base URLs come from
:class:`~activities.platform_api.PlatformApp`, so tests run this same code against a local fake.

Login has no refresh token: Facebook Login gives a short-lived user token, which we exchange for a
long-lived one (~60 days), and a long-lived token is kept alive by exchanging it again before it
runs out (:func:`needs_refresh`: within 7 days).  The account we post to is the Instagram
professional account linked to one of the person's Facebook Pages.

A Reel is a container (media_type=REELS, upload_type=resumable), the bytes sent to the rupload
host, a wait for the container's status_code to reach FINISHED, then media_publish.  A container
publishes at most once, and that is what makes "exactly once" possible: the ledger keeps the
container id and each finished step, and after a crash around media_publish the container's own
status_code (PUBLISHED or not) says whether the post exists, so it is never published again.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from activities.platform_api import PlatformApp, PlatformToken, PostLedger, PostOutcome, ShortPost
from tubeflow.errors import AccountNeedsReconnect, MediaError, PermanentError, PostingCapReached, TransientError

SCOPES: tuple[str, ...] = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
)
# Without these two nothing can be posted; the others only cost insights or Page lookups.
REQUIRED_SCOPES: tuple[str, ...] = ("instagram_basic", "instagram_content_publish")
RECONNECT = "`tubeflow channel connect CHANNEL --platform instagram`"

LONG_LIVED_S = 60 * 86400.0  # what Meta documents when the exchange omits expires_in
REFRESH_BEFORE_S = 7 * 86400.0
CAPTION_MAX = 2200
HASHTAG_MAX = 30  # Instagram rejects a caption with more
HASHTAGS_ADDED = 5  # what caption_for adds from tags: a few relevant ones reach further than thirty
QUOTA_WINDOW_S = 86400.0  # content_publishing_limit's quota_duration when it does not say
RATE_LIMIT_WAIT_S = 3600.0  # when no usage header says how long
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
SPAM_SUBCODE = 2207051  # code 4 too, but "we restrict certain activity": a person must look
POST_CAP_SUBCODE = 2207042  # code 9: the account reached the API's posts per 24 h
NOT_READY_CODE = 9007  # media_publish before the container is ready
RETRY_SUBCODES = frozenset({2207001, 2207003, 2207027, 2207032})  # server error, timeout, not ready, create failed
NEW_CONTAINER_SUBCODES = frozenset({2207020, 2207053})  # container expired / unknown upload error
# Media insights for Reels as documented now (views replaced plays, deprecated for all versions
# since April 2025); the legacy names are the fallback for an old API version that lacks views.
INSIGHT_METRICS: tuple[str, ...] = ("views", "reach", "saved", "likes", "comments", "shares")
LEGACY_METRICS: tuple[str, ...] = ("plays", "reach", "saved", "likes", "comments", "shares")
INSIGHT_KEYS = {
    "views": "views",
    "plays": "views",
    "saved": "saves",
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
}
LOOKUP_MISSES_MAX = 5  # attempts that find a PUBLISHED container's media missing before a person is asked
UPLOAD_CHUNK = 1 << 20  # read size while streaming the file; the request itself is one POST


def _client() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


# --- errors ----------------------------------------------------------------------------------------


class _ContainerGone(TransientError):
    """The container expired or its upload broke beyond repair; nothing was posted, a new one may be made."""


@dataclass(frozen=True)
class GraphError:
    status: int
    code: int
    subcode: int
    message: str
    trace: str
    transient: bool

    def detail(self) -> str:
        code = f"code {self.code}" + (f"/{self.subcode}" if self.subcode else "")
        trace = f", fbtrace_id {self.trace}" if self.trace else ""
        return f"{self.message} ({code}{trace})"


def graph_error(resp: httpx.Response) -> GraphError | None:
    """The Graph error envelope {"error": {message, type, code, error_subcode, fbtrace_id}}, if any."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if resp.status_code < 400:
            return None
        return GraphError(resp.status_code, 0, 0, resp.text[:200].strip() or resp.reason_phrase, "", False)

    def num(key: str) -> int:
        try:
            return int(err.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    message = str(err.get("error_user_msg") or err.get("message") or "").strip()
    return GraphError(
        resp.status_code,
        num("code"),
        num("error_subcode"),
        message,
        str(err.get("fbtrace_id") or ""),
        bool(err.get("is_transient")),
    )


def _usage_entries(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a usage header: X-App-Usage is flat, X-Business-Use-Case-Usage is {id: [..]}."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _usage_entries(value)
    elif isinstance(data, list):
        for value in data:
            yield from _usage_entries(value)


def regain_after_s(headers: httpx.Headers) -> float | None:
    """Seconds until Meta lifts a rate limit, from estimated_time_to_regain_access (minutes)."""
    best = 0.0
    for name in ("X-Business-Use-Case-Usage", "X-App-Usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for entry in _usage_entries(data):
            try:
                best = max(best, float(entry.get("estimated_time_to_regain_access") or 0) * 60.0)
            except (TypeError, ValueError):
                continue
    return best or None


def check(resp: httpx.Response, what: str, *, caps: bool = True) -> None:
    """Map a Graph answer onto retry semantics with a message saying what to do.

    ``caps``: a rate limit is a :class:`PostingCapReached` (the workflow waits on a timer) while
    posting; elsewhere (insights) it is a :class:`TransientError` with the wait as retry_after_s.
    """
    err = graph_error(resp)
    if err is None:
        return
    if err.code == 190 or err.code == 102 or (resp.status_code == 401 and not err.code):
        raise AccountNeedsReconnect(
            f"Instagram refused {what}: the Facebook login is invalid, expired or revoked ({err.detail()}); "
            f"connect the account again with {RECONNECT}"
        )
    if err.subcode == SPAM_SUBCODE:
        raise PermanentError(
            f"Instagram restricted {what} as possible spam ({err.detail()}); look at the account in the "
            "Instagram app, and tell Meta if it is a mistake"
        )
    if err.code in RATE_LIMIT_CODES or err.subcode == POST_CAP_SUBCODE:
        wait = regain_after_s(resp.headers) or (
            QUOTA_WINDOW_S if err.subcode == POST_CAP_SUBCODE else RATE_LIMIT_WAIT_S
        )
        if caps:
            retry_at = _iso(time.time() + wait)
            raise PostingCapReached(
                f"Instagram rate limit during {what} ({err.detail()}); retrying at {retry_at}", retry_at
            )
        raise TransientError(f"Instagram rate limit during {what} ({err.detail()})", retry_after_s=wait)
    if err.subcode in NEW_CONTAINER_SUBCODES:
        raise _ContainerGone(f"Instagram dropped the Reel's container during {what} ({err.detail()})")
    if err.code == NOT_READY_CODE or err.subcode in RETRY_SUBCODES or err.transient or err.code in (1, 2):
        raise TransientError(f"Instagram is not ready for {what} ({err.detail()})", retry_after_s=10.0)
    if resp.status_code >= 500 or resp.status_code == 429:
        raise TransientError(
            f"Instagram is unavailable for {what} ({resp.status_code} {err.detail()})", retry_after_s=10.0
        )
    if err.code == 10 or 200 <= err.code < 300:
        raise PermanentError(
            f"Instagram refused {what} for lack of permission ({err.detail()}); connect again with {RECONNECT} "
            f"and allow every permission asked ({', '.join(SCOPES)})"
        )
    raise PermanentError(f"Instagram rejected {what}: {err.detail()}")


# --- the Graph API ---------------------------------------------------------------------------------


class _Graph:
    """One account's Graph calls: the token goes in the Authorization header, never into a URL."""

    def __init__(self, app: PlatformApp, access_token: str, http: httpx.Client) -> None:
        self.app, self.access_token, self.http = app, access_token, http

    def url(self, path: str) -> str:
        return f"{self.app.api_base.rstrip('/')}/{path.lstrip('/')}"

    def send(self, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(
                method, self.url(path), headers={"Authorization": f"Bearer {self.access_token}"}, **kw
            )
        except httpx.TransportError as e:
            raise TransientError(f"Instagram unreachable during {what} ({e.__class__.__name__})") from e

    def call(self, method: str, path: str, what: str, *, caps: bool = True, **kw: Any) -> dict[str, Any]:
        resp = self.send(method, path, what, **kw)
        check(resp, what, caps=caps)
        return _json(resp, what)

    def get(self, path: str, what: str, **params: str) -> dict[str, Any]:
        return self.call("GET", path, what, params={k: v for k, v in params.items() if v})

    def post(self, path: str, what: str, data: dict[str, str]) -> dict[str, Any]:
        return self.call("POST", path, what, data=data)

    def pages(self, path: str, what: str, max_pages: int = 20, **params: str) -> Iterator[dict[str, Any]]:
        """The items of a paged edge, following paging.cursors.after (the next URL names Meta's host)."""
        after = ""
        for _ in range(max_pages):
            body = self.get(path, what, **params, after=after)
            yield from (d for d in body.get("data") or [] if isinstance(d, dict))
            paging = body.get("paging") or {}
            after = str((paging.get("cursors") or {}).get("after") or "")
            if not after or not paging.get("next"):
                return


def _json(resp: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        raise TransientError(f"Instagram answered {what} with something that is not JSON") from None
    return body if isinstance(body, dict) else {}


# --- OAuth through Facebook Login ------------------------------------------------------------------


def authorize_url(app: PlatformApp, redirect_uri: str, state: str) -> str:
    """The Facebook Login dialog asking for the Instagram publishing permissions."""
    query = urlencode(
        {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": ",".join(SCOPES),
            "response_type": "code",
        }
    )
    return f"{app.auth_url}{'&' if '?' in app.auth_url else '?'}{query}"


def _token_call(http: httpx.Client, app: PlatformApp, what: str, **params: str) -> dict[str, Any]:
    """GET /oauth/access_token; the app secret travels as Meta documents it, never into a message."""
    graph = _Graph(app, "", http)
    try:
        resp = http.get(
            graph.url("oauth/access_token"),
            params={"client_id": app.client_id, "client_secret": app.client_secret, **params},
        )
    except httpx.TransportError as e:
        raise TransientError(f"Facebook unreachable during {what} ({e.__class__.__name__})") from e
    check(resp, what, caps=False)
    body = _json(resp, what)
    if not body.get("access_token"):
        raise TransientError(f"Facebook answered {what} without an access token")
    return body


def _long_lived(http: httpx.Client, app: PlatformApp, token: str, what: str) -> PlatformToken:
    body = _token_call(http, app, what, grant_type="fb_exchange_token", fb_exchange_token=token)
    try:
        expires_in = float(body.get("expires_in") or LONG_LIVED_S)
    except (TypeError, ValueError):
        expires_in = LONG_LIVED_S
    return PlatformToken(access_token=str(body["access_token"]), expires_at=time.time() + expires_in)


def _granted(graph: _Graph) -> list[str]:
    return [
        str(p.get("permission"))
        for p in graph.pages("me/permissions", "the granted permissions")
        if p.get("status") == "granted" and p.get("permission")
    ]


def _professional_account(graph: _Graph) -> tuple[str, str]:
    """The first of the person's Pages that has an Instagram professional account linked."""
    fields = "id,name,instagram_business_account{id,username}"
    for page in graph.pages("me/accounts", "the Facebook Pages list", fields=fields, limit="100"):
        ig = page.get("instagram_business_account")
        if isinstance(ig, dict) and ig.get("id"):
            return str(ig["id"]), str(ig.get("username") or "")
    raise PermanentError(
        "no Instagram professional account was found: the Instagram account must be a professional "
        "(Business or Creator) account linked to a Facebook Page you manage, and that Page must be "
        f"chosen in the Facebook Login dialog; switch and link it in the Instagram app, then run {RECONNECT}"
    )


def exchange_code(app: PlatformApp, code: str, redirect_uri: str) -> PlatformToken:
    """The dialog's code -> a short-lived token -> a long-lived token, and the account it posts to."""
    with _client() as http:
        short = _token_call(http, app, "the authorization code exchange", redirect_uri=redirect_uri, code=code)
        token = _long_lived(http, app, str(short["access_token"]), "the long-lived token exchange")
        graph = _Graph(app, token.access_token, http)
        token.scopes = _granted(graph)
        missing = [s for s in REQUIRED_SCOPES if s not in token.scopes]
        if missing:
            raise PermanentError(
                f"the Facebook Login was given without {', '.join(missing)}, which posting needs; run "
                f"{RECONNECT} again and allow it"
            )
        token.account_id, token.account_name = _professional_account(graph)
        return token


def refresh(app: PlatformApp, token: PlatformToken) -> PlatformToken:
    """A fresh long-lived token for the current one (Meta's fb_exchange_token)."""
    with _client() as http:
        new = _long_lived(http, app, token.access_token, "the token refresh")
    new.account_id, new.account_name, new.scopes = token.account_id, token.account_name, list(token.scopes)
    return new


def needs_refresh(token: PlatformToken, now: float) -> bool:
    """True within 7 days of expiry; a token without an expiry (expires_at 0) never needs one."""
    return bool(token.expires_at) and token.expires_at - now < REFRESH_BEFORE_S


# --- captions --------------------------------------------------------------------------------------

_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")


def _trim(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-") + "…"


def fit_caption(text: str) -> str:
    """Within Instagram's limits: 2200 characters, 30 hashtags (later ones lose their '#')."""
    seen = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen <= HASHTAG_MAX else m.group(1)

    return _trim(_HASHTAG.sub(keep, text), CAPTION_MAX)


def caption_for(title: str, description: str, tags: list[str]) -> str:
    """Title, description and up to five hashtags from ``tags`` (``#word``: letters, digits, _)."""
    body = "\n\n".join(p.strip() for p in (title, description) if p and p.strip())
    already = _HASHTAG.findall(body)
    present = {t.lower() for t in already}
    room = max(0, min(HASHTAGS_ADDED, HASHTAG_MAX - len(already)))
    added: list[str] = []
    for tag in tags:
        word = re.sub(r"\W", "", tag.replace(" ", ""))
        if len(added) >= room or not word or word.isdigit() or word.lower() in present:
            continue
        present.add(word.lower())
        added.append(f"#{word}")
    tail = " ".join(added)
    text = _trim(body, CAPTION_MAX - (len(tail) + 2 if tail else 0))
    return fit_caption(f"{text}\n\n{tail}" if text and tail else text or tail)


# --- posting ---------------------------------------------------------------------------------------


def _parse_ts(raw: Any) -> float:
    """Graph timestamps ("2026-12-07T20:41:04+0000") as unix seconds; 0 when unreadable."""
    try:
        return datetime.strptime(str(raw), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return 0.0


class _Reel:
    """One attempt at posting one Reel; ``state`` is the ledger's record, saved after every step."""

    def __init__(
        self,
        app: PlatformApp,
        token: PlatformToken,
        post: ShortPost,
        ledger: PostLedger,
        state: dict[str, Any],
        http: httpx.Client,
        poll_s: float,
        timeout_s: float,
    ) -> None:
        self.app, self.token, self.post, self.ledger, self.state = app, token, post, ledger, state
        self.http, self.poll_s, self.timeout_s = http, poll_s, timeout_s
        self.graph = _Graph(app, token.access_token, http)
        self.ig = token.account_id
        # 0 when the local copy is gone: a resume past the upload needs no bytes, a new container does.
        self.size = post.video.stat().st_size if post.video.is_file() else 0

    def save(self) -> None:
        self.ledger.save(dict(self.state))

    def run(self) -> PostOutcome:
        if not self.state.get("media_id"):
            self._post()
        return self._finish()

    # The steps, in order; each leaves the ledger saying where a later attempt picks up.

    def _post(self) -> None:
        made = 0  # containers made by this attempt: an expiry loop must end
        while True:
            just_made = False
            if self.state.get("container_id") and not self._resumable():
                self._forget("the video changed since the container was made")
            if not self.state.get("container_id"):
                if made >= 2:
                    raise TransientError("Instagram dropped two fresh Reel containers in a row; trying again later")
                self._check_quota()
                self._create_container()
                made, just_made = made + 1, True
            else:
                verdict = self._resume()
                if verdict == "published":
                    return
                if verdict == "again":
                    continue
            try:
                if self.state.get("step") == "container":
                    self._upload(ask_offset=not just_made)
                    self.state["step"] = "uploaded"
                    self.save()
                if self._wait_finished() == "PUBLISHED":
                    self._recover_media_id()
                    return
                self._check_quota()
                self.state["step"] = "publishing"
                self.save()
                self._publish()
                return
            except _ContainerGone:
                self._forget("Instagram dropped the container")

    def _resumable(self) -> bool:
        """Whether the ledger's container still fits this video (a re-render changes the size); once
        the bytes are all up, a missing local copy does not matter."""
        step = self.state.get("step")
        return self.state.get("size") == self.size or step == "publishing" or (not self.size and step == "uploaded")

    def _forget(self, why: str) -> None:
        """Start over with a new container; only ever called when the old one did not publish."""
        self.state = {"forgot": f"{self.state.get('container_id')}: {why}"}
        self.save()

    def _resume(self) -> str:
        """An earlier attempt's container: its own status decides ("published", "again" or "go")."""
        code, text = self._status()
        if code == "PUBLISHED":
            self._recover_media_id()
            return "published"
        if code == "EXPIRED":  # never published (that would read PUBLISHED): a new container is safe
            self._forget("the container expired (24 h) before it was published")
            return "again"
        if code == "ERROR":
            if self.state.get("step") == "container":  # a broken partial upload: a new one fixes it
                self._forget(f"the partial upload failed ({text})")
                return "again"
            raise PermanentError(
                f"Instagram could not process the Reel (container {self.state['container_id']}): {text}"
            )
        return "go"

    def _status(self) -> tuple[str, str]:
        body = self.graph.get(str(self.state["container_id"]), "the container status", fields="status_code,status")
        return str(body.get("status_code") or ""), str(body.get("status") or body.get("status_code") or "")

    def _check_quota(self) -> None:
        body = self.graph.get(
            f"{self.ig}/content_publishing_limit", "the publishing limit", fields="quota_usage,config"
        )
        data = body.get("data") or [{}]
        entry = data[0] if isinstance(data[0], dict) else {}
        config = entry.get("config") or {}
        try:
            usage = int(entry.get("quota_usage") or 0)
            total = int(config.get("quota_total") or 50)
            window = float(config.get("quota_duration") or QUOTA_WINDOW_S)
        except (TypeError, ValueError):
            return  # an answer we cannot read: media_publish itself will say if the cap is reached
        if usage < total:
            return
        retry_at = _iso(self._quota_frees_at(window))
        raise PostingCapReached(
            f"Instagram's publishing limit is reached for @{self.token.account_name or self.ig}: {usage} of "
            f"{total} posts in {window / 3600:g} h; the Reel is posted after {retry_at}",
            retry_at,
        )

    def _quota_frees_at(self, window: float) -> float:
        """When the oldest post in the window leaves it: a slot frees then (never later than a window).

        Manual posts are listed too but do not count, so this can be early; an early retry costs
        one limit check and gives a later time.
        """
        now = time.time()
        try:
            body = self.graph.get(f"{self.ig}/media", "the media list", fields="timestamp", limit="100")
        except PermanentError:
            return now + window
        stamps = [_parse_ts(m.get("timestamp")) for m in body.get("data") or [] if isinstance(m, dict)]
        inside = [t for t in stamps if t and now - window < t <= now]
        if not inside:
            return now + window
        return min(now + window, max(now + 60.0, min(inside) + window + 60.0))

    def _create_container(self) -> None:
        if not self.size:
            raise MediaError(f"the Short's video {self.post.video} is missing or empty; render or fetch it again")
        caption = fit_caption(self.post.caption)
        data = {
            "media_type": "REELS",
            "upload_type": "resumable",
            "caption": caption,
            # Reels cannot be private: a private channel's Reel stays off the profile grid instead.
            "share_to_feed": "false" if self.post.private else "true",
        }
        if self.post.aigc:
            data["is_ai_generated"] = "true"  # the "AI info" label (Content Publishing API, June 2026)
        if self.post.cover_url:
            data["cover_url"] = self.post.cover_url
        else:
            data["thumb_offset"] = str(max(0, int(self.post.cover_ms)))
        body = self.graph.post(f"{self.ig}/media", "the Reel container", data)
        container = str(body.get("id") or "")
        if not container:
            raise TransientError("Instagram accepted the Reel container but returned no id")
        self.state = {
            "container_id": container,
            "upload_url": self._upload_url(container, str(body.get("uri") or "")),
            "size": self.size,
            "caption": caption,
            "created_at": time.time(),
            "step": "container",
        }
        self.save()

    def _upload_url(self, container: str, uri: str) -> str:
        """The container's ``uri`` with its scheme and host replaced by upload_base (so a fake or
        proxy works), or Meta's documented {upload_base}/ig-api-upload/{version}/{container}."""
        base = urlsplit(self.app.upload_base)
        if uri:
            parts = urlsplit(uri)
            return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))
        version = self.app.api_base.rstrip("/").rsplit("/", 1)[-1]
        route = f"ig-api-upload/{version}" if re.fullmatch(r"v\d+\.\d+", version) else "ig-api-upload"
        return f"{self.app.upload_base.rstrip('/')}/{route}/{container}"

    def _upload_headers(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.token.access_token}"}

    def _uploaded_offset(self) -> int:
        """How many bytes the upload host holds for this container (GET on the upload URL)."""
        try:
            resp = self.http.get(str(self.state["upload_url"]), headers=self._upload_headers())
        except httpx.TransportError as e:
            raise TransientError(f"Instagram's upload host unreachable ({e.__class__.__name__})") from e
        if resp.status_code == 404:
            raise _ContainerGone("Instagram's upload host no longer knows the container")
        self._check_upload(resp, "the upload status")
        body = _json(resp, "the upload status")
        try:
            offset = int(body.get("offset", body.get("file_offset", 0)) or 0)
        except (TypeError, ValueError):
            offset = 0
        return min(max(offset, 0), self.size)

    def _upload(self, *, ask_offset: bool) -> None:
        """POST the bytes from the offset the server holds; a broken connection ends this attempt,
        and the next one asks how much arrived and sends only the rest."""
        offset = self._uploaded_offset() if ask_offset else 0
        if offset >= self.size:
            return
        video: Path = self.post.video

        def chunks() -> Iterator[bytes]:
            with video.open("rb") as fh:
                fh.seek(offset)
                while data := fh.read(UPLOAD_CHUNK):
                    yield data

        headers = {
            **self._upload_headers(),
            "offset": str(offset),
            "file_size": str(self.size),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(self.size - offset),
        }
        try:
            resp = self.http.post(
                str(self.state["upload_url"]),
                content=chunks(),
                headers=headers,
                timeout=httpx.Timeout(600.0, connect=15.0),
            )
        except httpx.TransportError as e:
            raise TransientError(
                f"the upload to Instagram broke off after byte {offset} ({e.__class__.__name__}); the next "
                "attempt asks how much arrived and sends the rest"
            ) from e
        self._check_upload(resp, "the video upload")
        body = _json(resp, "the video upload")
        if body.get("success") is False:
            raise TransientError(f"Instagram's upload host did not take the video ({body.get('message', '')})")

    def _check_upload(self, resp: httpx.Response, what: str) -> None:
        """rupload answers {"debug_info": {"retriable", "type", "message"}} or a Graph envelope."""
        if resp.status_code < 400:
            return
        try:
            info = resp.json().get("debug_info")
        except (ValueError, AttributeError):
            info = None
        if isinstance(info, dict):
            message = f"{info.get('type', '')}: {info.get('message', '')}".strip(": ")
            if resp.status_code == 401:
                raise AccountNeedsReconnect(f"Instagram refused {what} ({message}); connect again with {RECONNECT}")
            if info.get("retriable") or resp.status_code >= 500:
                raise TransientError(f"Instagram's upload host failed {what} ({resp.status_code} {message})")
            raise PermanentError(f"Instagram's upload host rejected {what} ({resp.status_code} {message})")
        check(resp, what)

    def _wait_finished(self) -> str:
        """Poll status_code until FINISHED (or PUBLISHED); a long wait ends the attempt, not the post."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            code, text = self._status()
            if code in ("FINISHED", "PUBLISHED"):
                return code
            if code == "EXPIRED":
                raise _ContainerGone("the container expired before it was published")
            if code == "ERROR":
                raise PermanentError(
                    f"Instagram could not process the Reel (container {self.state['container_id']}): {text}"
                )
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"Instagram is still processing the Reel after {self.timeout_s:g} s ({text}); the next "
                    "attempt keeps waiting on the same container",
                    retry_after_s=60.0,
                )
            time.sleep(self.poll_s)

    def _publish(self) -> None:
        body = self.graph.post(
            f"{self.ig}/media_publish", "media_publish", {"creation_id": str(self.state["container_id"])}
        )
        media_id = str(body.get("id") or "")
        if not media_id:  # ambiguous: the next attempt asks the container whether it published
            raise TransientError("Instagram answered media_publish without a media id")
        self.state.update(media_id=media_id, step="published")
        self.save()

    def _recover_media_id(self) -> None:
        """The container says PUBLISHED but the ledger has no media id (the answer to media_publish
        was lost): find the post among the account's recent media by its caption and time."""
        created = float(self.state.get("created_at") or 0) - 300.0  # slack for clock skew with Meta
        caption = str(self.state.get("caption") or "").strip()
        found: dict[str, Any] | None = None
        fields = "id,caption,media_product_type,timestamp,permalink"
        for media in self.graph.pages(f"{self.ig}/media", "the media list", max_pages=4, fields=fields, limit="50"):
            stamp = _parse_ts(media.get("timestamp"))
            if stamp and stamp < created:
                break  # newest first: everything further is older than the container
            same = str(media.get("caption") or "").strip() == caption
            if same and media.get("media_product_type") in (None, "REELS"):
                found = media  # keep going: the oldest match after the container is ours
        if found is None:
            misses = int(self.state.get("lookup_misses") or 0) + 1
            self.state["lookup_misses"] = misses
            self.save()
            if misses >= LOOKUP_MISSES_MAX:
                raise PermanentError(
                    f"Instagram says container {self.state['container_id']} was published, but the post is not "
                    f"among @{self.token.account_name or self.ig}'s recent media; look at the account (tubeflow "
                    "will not post it again)"
                )
            raise TransientError("the published Reel is not listed on the account yet", retry_after_s=30.0)
        self.state.update(media_id=str(found["id"]), url=str(found.get("permalink") or ""), step="published")
        self.save()

    def _finish(self) -> PostOutcome:
        media_id = str(self.state["media_id"])
        if not self.state.get("url"):
            try:
                body = self.graph.get(media_id, "the Reel's permalink", fields="permalink")
                self.state["url"] = str(body.get("permalink") or "")
            except AccountNeedsReconnect:
                raise
            except PermanentError:
                self.state["url"] = ""  # posted all the same; a link is a nicety
        self.state["done"] = True
        self.save()
        return PostOutcome(media_id, str(self.state["url"]))


def post_reel(
    app: PlatformApp,
    token: PlatformToken,
    post: ShortPost,
    ledger: PostLedger,
    *,
    poll_s: float = 5.0,
    timeout_s: float = 900.0,
) -> PostOutcome:
    """Post ``post`` as a Reel exactly once, resuming from ``ledger`` (a finished one: no HTTP at all)."""
    state = ledger.load()
    if state.get("done") and state.get("media_id"):
        return PostOutcome(str(state["media_id"]), str(state.get("url") or ""))
    if not token.account_id:
        raise PermanentError(f"this Instagram connection names no professional account; run {RECONNECT}")
    with _client() as http:
        return _Reel(app, token, post, ledger, state, http, poll_s, timeout_s).run()


# --- insights --------------------------------------------------------------------------------------


def _insight_values(body: dict[str, Any]) -> dict[str, int]:
    out = dict.fromkeys(("views", "reach", "saves", "likes", "comments", "shares"), 0)
    for item in body.get("data") or []:
        if not isinstance(item, dict) or item.get("name") not in INSIGHT_KEYS:
            continue
        values = item.get("values") or [{}]
        raw = (values[-1] if isinstance(values[-1], dict) else {}).get("value")
        if raw is None:
            raw = (item.get("total_value") or {}).get("value")
        try:
            out[INSIGHT_KEYS[str(item["name"])]] = int(raw or 0)
        except (TypeError, ValueError):
            continue
    return out


def reel_insights(app: PlatformApp, token: PlatformToken, media_ids: list[str]) -> dict[str, dict[str, int]]:
    """{media id: {views, reach, saves, likes, comments, shares}}; media deleted or out of reach are left out.

    ``views`` is the current metric; on an API version that rejects it, ``plays`` fills it.
    """
    out: dict[str, dict[str, int]] = {}
    metrics = INSIGHT_METRICS
    with _client() as http:
        graph = _Graph(app, token.access_token, http)
        for media_id in media_ids:
            while True:
                what = "the Reel insights"
                resp = graph.send("GET", f"{media_id}/insights", what, params={"metric": ",".join(metrics)})
                err = graph_error(resp)
                if err and err.code == 100 and "metric" in err.message.lower() and metrics is INSIGHT_METRICS:
                    metrics = LEGACY_METRICS
                    continue
                break
            if err and err.code == 10:  # "not enough viewers for the media to show insights"
                out[media_id] = _insight_values({})
                continue
            if err and err.code == 100 and err.subcode == 33:  # deleted, or not this account's
                continue
            check(resp, what, caps=False)
            out[media_id] = _insight_values(_json(resp, what))
    return out
