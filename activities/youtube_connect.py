"""Connecting a channel to its YouTube account: OAuth 2.0 through Google's ``google-auth-oauthlib``.

Two flows, one ending: the CLI runs the installed-app flow (a loopback redirect on 127.0.0.1,
PKCE, ``state`` checked by the library), the dashboard the web-server flow (its callback checks
``state`` against what it handed out, PKCE again).  Both end in :func:`finish_connect`: ask
YouTube which channel the account owns (``channels.list?mine=true``), encrypt the authorized-user
JSON with ``TUBEFLOW_SECRET_KEY`` and store it with the channel.  The endpoints come from the
OAuth client JSON, so a local fake Google stands in for the real one in tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.secret_box import SecretBox
from tubeflow.settings import Settings

SCOPES = [
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube",  # playlists, scheduling (videos.update)
    "https://www.googleapis.com/auth/youtube.force-ssl",  # captions.insert
    "https://www.googleapis.com/auth/yt-analytics.readonly",  # per-video analytics
]
PENDING_TTL_S = 600.0


def load_client_config(settings: Settings, path: str = "") -> dict[str, Any]:
    """The OAuth client JSON from Google Cloud Console ("Desktop app" or "Web application")."""
    where = path or settings.youtube_client_secrets
    if not where:
        raise ConfigError(
            "no OAuth client: download the client JSON from Google Cloud Console (APIs & Services > Credentials) "
            "and set TUBEFLOW_YOUTUBE_CLIENT_SECRETS to its path, or pass --client-secrets"
        )
    try:
        data = json.loads(Path(where).expanduser().read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"OAuth client file {where} cannot be read ({e})") from None
    except ValueError as e:
        raise ConfigError(f"OAuth client file {where} is not JSON ({e})") from None
    if not isinstance(data, dict) or not ({"installed", "web"} & set(data)):
        raise ConfigError(f"OAuth client file {where} has neither an 'installed' nor a 'web' client")
    return data


def _section(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config.get("installed") or config.get("web") or {})


def _authorized_user(creds: Any, config: dict[str, Any]) -> dict[str, Any]:
    if not creds.refresh_token:
        raise PermanentError(
            "Google returned no refresh token; remove tubeflow's access at https://myaccount.google.com/permissions "
            "and connect again (consent must be given anew)"
        )
    sec = _section(config)
    return {
        "type": "authorized_user",
        "client_id": sec["client_id"],
        "client_secret": sec["client_secret"],
        "refresh_token": creds.refresh_token,
        "token_uri": sec.get("token_uri") or "https://oauth2.googleapis.com/token",
    }


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_insecure_lock = threading.Lock()
_insecure: dict[str, Any] = {"exchanges": 0, "ours": False}  # OAuth exchanges relying on the variable now


def plain_http_endpoints(settings: Settings, config: dict[str, Any]) -> list[str]:
    """The client's OAuth endpoints that are plain http: allowed only on loopback, and only when
    TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP says so; anything else is refused before a request is made.

    Why not just OAUTHLIB_INSECURE_TRANSPORT: it lets oauthlib send the client secret and the
    authorization code in clear to any host, a whole process at a time.  Plain http is fine only
    where the bytes never leave the machine (a local TLS-terminating proxy, a test fake).
    """
    sec = _section(config)
    plain = [str(sec[k]) for k in ("auth_uri", "token_uri") if str(sec.get(k) or "").startswith("http://")]
    for url in plain:
        host = urlsplit(url).hostname or ""
        if not _is_loopback(host):
            raise ConfigError(
                f"the OAuth client's endpoint {url} is plain http on {host!r}, which is not this machine: "
                "OAuth sends the client secret and the authorization code, so tubeflow speaks plain http only "
                "to loopback (127.0.0.1, ::1, localhost). Use the https endpoint"
            )
        if not settings.oauth_allow_loopback_http:
            raise ConfigError(
                f"the OAuth client's endpoint {url} is plain http (a local proxy or a test fake?): set "
                "TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP=1 to allow plain http to loopback endpoints"
            )
    return plain


@contextmanager
def oauth_transport(settings: Settings, config: dict[str, Any]) -> Iterator[None]:
    """Around one OAuth exchange: lets oauthlib use the loopback http endpoints that were allowed.

    oauthlib reads OAUTHLIB_INSECURE_TRANSPORT from the environment on each request, so it is
    set while at least one allowed exchange runs (counted: the API may run two at once) and
    removed after, unless someone had set it before.
    """
    if not plain_http_endpoints(settings, config):
        yield
        return
    with _insecure_lock:
        if _insecure["exchanges"] == 0:
            _insecure["ours"] = "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # else the operator set it
        _insecure["exchanges"] += 1
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure["exchanges"] -= 1
            if _insecure["exchanges"] == 0 and _insecure["ours"]:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)


def run_installed_flow(
    config: dict[str, Any], *, open_browser: bool = True, browser: str | None = None, port: int = 0
) -> dict[str, Any]:
    """Blocking: the loopback installed-app flow; returns the authorized-user info (with the refresh token)."""
    from google_auth_oauthlib.flow import InstalledAppFlow  # type: ignore[import-untyped]  # no stubs or py.typed

    if "installed" not in config:
        raise ConfigError("`tubeflow channel connect` needs a 'Desktop app' OAuth client (an 'installed' section)")
    flow = InstalledAppFlow.from_client_config(config, scopes=SCOPES, autogenerate_code_verifier=True)
    creds = flow.run_local_server(
        host="127.0.0.1",
        bind_addr="127.0.0.1",
        port=port,
        open_browser=open_browser,
        browser=browser,
        access_type="offline",
        prompt="consent",
        authorization_prompt_message="Open this URL in a browser signed in to the channel's Google account:\n{url}",
        success_message="tubeflow is connected; you can close this tab.",
        timeout_seconds=600,
    )
    return _authorized_user(creds, config)


async def finish_connect(settings: Settings, db: Database, channel: str, info: dict[str, Any], project: str) -> Any:
    """Ask YouTube whose channel this is, then store the credentials encrypted: the account record."""
    from activities.youtube import Credentials, YouTubeClient
    from tubeflow.db import channel_repo

    box = SecretBox.from_settings(settings)  # refuse before anything is fetched or stored
    client = YouTubeClient(Credentials(info, "the new authorization"), settings.youtube_base_url)
    mine = await asyncio.to_thread(client.my_channel)
    return await channel_repo.save_account(db, channel, box.seal(json.dumps(info)), project, mine["id"], mine["title"])


async def connect_installed(
    settings: Settings,
    db: Database,
    channel: str,
    client_secrets: str = "",
    *,
    open_browser: bool = True,
    browser: str | None = None,
) -> Any:
    from tubeflow.db import channel_repo

    SecretBox.from_settings(settings)
    await channel_repo.channel_settings(db, channel)  # unknown channel: say so before the browser opens
    config = load_client_config(settings, client_secrets)
    with oauth_transport(settings, config):
        info = await asyncio.to_thread(run_installed_flow, config, open_browser=open_browser, browser=browser)
    return await finish_connect(settings, db, channel, info, str(_section(config).get("project_id") or "default"))


# ---------------------------------------------------------------- the dashboard's web-server flow


@dataclass
class PendingConnect:
    channel: str
    code_verifier: str
    redirect_uri: str


@dataclass
class WebConnector:
    """Hands out authorization URLs and finishes callbacks.

    What the callback needs (channel, PKCE verifier, redirect URI) travels inside ``state``,
    sealed with TUBEFLOW_SECRET_KEY and good for PENDING_TTL_S: any API replica can finish a flow
    another one started, and nothing is kept between the two requests.  A state is refused the
    second time in the process that saw it; Google refuses a second use of its code anywhere.
    """

    settings: Settings
    used: dict[str, float] = field(default_factory=dict)  # state -> when it stops being valid anyway

    def _flow(self, config: dict[str, Any], redirect_uri: str, code_verifier: str | None = None) -> Any:
        from google_auth_oauthlib.flow import Flow

        return Flow.from_client_config(
            config,
            scopes=SCOPES,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            autogenerate_code_verifier=code_verifier is None,
        )

    def start(self, channel: str, redirect_uri: str) -> str:
        box = SecretBox.from_settings(self.settings)
        config = load_client_config(self.settings)
        verifier = secrets.token_urlsafe(64)  # PKCE: 86 characters of [A-Za-z0-9_-] (RFC 7636 allows 43-128)
        flow = self._flow(config, redirect_uri, verifier)
        pending = {"channel": channel, "verifier": verifier, "redirect": redirect_uri,
                   "nonce": secrets.token_urlsafe(12)}  # fmt: skip
        state = box.seal(json.dumps(pending))
        with oauth_transport(self.settings, config):
            url, _ = flow.authorization_url(access_type="offline", prompt="consent", state=state)
        return str(url)

    def _opened(self, state: str) -> PendingConnect | None:
        d = open_state_once(self.settings, self.used, state)
        if d is None:
            return None
        try:
            return PendingConnect(str(d["channel"]), str(d["verifier"]), str(d["redirect"]))
        except KeyError:
            return None

    async def finish(self, db: Database, state: str, code: str) -> Any:
        found = self._opened(state)
        if found is None:
            raise PermanentError(
                "this sign-in answer does not match a Connect YouTube request (state: unknown, used, or older "
                f"than {PENDING_TTL_S / 60:.0f} minutes); start again"
            )
        config = load_client_config(self.settings)
        flow = self._flow(config, found.redirect_uri, found.code_verifier)
        with oauth_transport(self.settings, config):
            await asyncio.to_thread(flow.fetch_token, code=code)
        info = _authorized_user(flow.credentials, config)
        project = str(_section(config).get("project_id") or "default")
        return await finish_connect(self.settings, db, found.channel, info, project)


def open_state_once(settings: Settings, used: dict[str, float], state: str) -> dict[str, Any] | None:
    """The JSON sealed in an OAuth ``state`` this process has not seen used, younger than
    PENDING_TTL_S (None otherwise); ``used`` (state -> when it lapses anyway) is pruned and marked."""
    now = time.monotonic()
    for k in [k for k, v in used.items() if v <= now]:
        del used[k]
    raw = SecretBox.from_settings(settings).open_fresh(state, PENDING_TTL_S)
    if raw is None or state in used:
        return None
    used[state] = now + PENDING_TTL_S
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    return d if isinstance(d, dict) else None
