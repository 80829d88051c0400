"""Connecting a channel to its TikTok or Instagram account: OAuth 2.0, the CLI's way and the dashboard's.

One connector for both: :meth:`PlatformConnector.start` hands out the platform's consent URL with
everything the callback needs (channel, platform, PKCE verifier, redirect URI) sealed inside
``state`` with TUBEFLOW_SECRET_KEY, good for ten minutes, so any API replica can finish what
another started.  :meth:`PlatformConnector.finish` checks ``state``, exchanges the code (TikTok:
with the PKCE verifier; Instagram: for a long-lived token and the professional account behind
it), seals the token and stores it with the channel.  The CLI runs the same two steps around a
one-shot HTTP listener on 127.0.0.1 (:func:`connect_loopback`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from activities.platform_api import PLATFORM_LABELS, PlatformToken, platform_app
from activities.youtube_connect import PENDING_TTL_S, open_state_once
from tubeflow.db import platform_repo
from tubeflow.db.engine import Database
from tubeflow.db.records import PlatformAccount
from tubeflow.errors import PermanentError
from tubeflow.platforms import platform_problem
from tubeflow.secret_box import SecretBox
from tubeflow.settings import Settings

LOOPBACK_WAIT_S = 300.0


@dataclass
class PlatformConnector:
    settings: Settings
    used: dict[str, float] = field(default_factory=dict)  # state -> when it stops being valid anyway

    def start(self, channel: str, platform: str, redirect_uri: str) -> str:
        """The consent URL for ``platform``; the callback at ``redirect_uri`` finishes it."""
        if (problem := platform_problem(platform)) is not None:
            raise PermanentError(problem)
        app = platform_app(self.settings, platform)
        verifier = secrets.token_urlsafe(64)
        pending = {"channel": channel, "platform": platform, "verifier": verifier, "redirect": redirect_uri,
                   "nonce": secrets.token_urlsafe(12)}  # fmt: skip
        state = SecretBox.from_settings(self.settings).seal(json.dumps(pending))
        if platform == "tiktok":
            from activities import tiktok

            return tiktok.authorize_url(app, redirect_uri, state, verifier)
        from activities import instagram

        return instagram.authorize_url(app, redirect_uri, state)

    def _opened(self, state: str) -> dict[str, str] | None:
        d = open_state_once(self.settings, self.used, state)
        try:
            return None if d is None else {k: str(d[k]) for k in ("channel", "platform", "verifier", "redirect")}
        except KeyError:
            return None

    async def finish(self, db: Database, state: str, code: str) -> PlatformAccount:
        found = self._opened(state)
        if found is None:
            raise PermanentError(
                "this sign-in answer does not match a Connect request (state: unknown, used, or older than "
                f"{PENDING_TTL_S / 60:.0f} minutes); start again"
            )
        platform = found["platform"]
        app = platform_app(self.settings, platform)
        token: PlatformToken
        if platform == "tiktok":
            from activities import tiktok

            token = await asyncio.to_thread(tiktok.exchange_code, app, code, found["redirect"], found["verifier"])
        else:
            from activities import instagram

            token = await asyncio.to_thread(instagram.exchange_code, app, code, found["redirect"])
        sealed = SecretBox.from_settings(self.settings).seal(token.to_json())
        expires = datetime.fromtimestamp(token.expires_at, UTC) if token.expires_at else None
        return await platform_repo.save_account(
            db, found["channel"], platform, sealed, token.account_id, token.account_name, expires
        )


class _Listener(HTTPServer):
    answer: dict[str, str]
    got: threading.Event


class _Callback(BaseHTTPRequestHandler):
    server: _Listener

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if "state" not in query:
            self.send_response(404)
            self.end_headers()
            return
        self.server.answer = query
        self.server.got.set()
        body = b"<p>tubeflow: you can close this tab and go back to the terminal.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


async def connect_loopback(
    settings: Settings,
    db: Database,
    channel: str,
    platform: str,
    *,
    open_browser: bool = True,
    on_url: Callable[[str], None] = print,
    wait_s: float = LOOPBACK_WAIT_S,
) -> PlatformAccount:
    """The CLI's flow: a one-shot listener on 127.0.0.1 receives the platform's redirect.

    Register ``http://127.0.0.1/callback/`` (TikTok: a desktop redirect URI; Meta: a valid OAuth
    redirect URI) in the app; the port is chosen here."""
    from tubeflow.db import repo

    await repo.get_channel(db, channel)  # an unknown channel fails before the browser opens
    server = _Listener(("127.0.0.1", 0), _Callback)
    server.answer, server.got = {}, threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        redirect = f"http://127.0.0.1:{server.server_address[1]}/callback/"
        connector = PlatformConnector(settings)
        url = connector.start(channel, platform, redirect)
        on_url(url)
        if open_browser:
            webbrowser.open(url)
        got = await asyncio.to_thread(server.got.wait, wait_s)
        if not got:
            raise PermanentError(
                f"no answer from {PLATFORM_LABELS[platform]} within {wait_s / 60:.0f} minutes; run the command again"
            )
        answer = server.answer
        if answer.get("error"):
            why = answer.get("error_description") or answer["error"]
            raise PermanentError(f"{PLATFORM_LABELS[platform]} did not connect the channel: {why}")
        return await connector.finish(db, answer.get("state", ""), answer.get("code", ""))
    finally:
        server.shutdown()
        server.server_close()
