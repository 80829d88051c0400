"""ASGI middleware: security headers on every response, and a limit on request bodies.

Security headers: a Content-Security-Policy, nosniff, no framing.

The dashboard runs only its own script (``/static/app.js``): no inline script, no ``eval``, so
an injected ``<script>`` or event attribute does nothing even if escaping ever failed.  Anything
that is not a page (JSON, media, downloads) gets a policy that forbids everything and sandboxes
it, so a stored file opened directly in the browser cannot run script on this origin.  Responses
that set their own policy keep it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tubeflow.settings import Settings

NOT_A_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def media_origins(settings: Settings) -> str:
    """Where the dashboard's players may load from besides itself: the S3 endpoint presigned URLs use."""
    if settings.storage != "s3":
        return ""
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        return f" {parts.scheme}://{parts.netloc}"
    return " https://*.amazonaws.com"


def dashboard_csp(settings: Settings) -> str:
    media = media_origins(settings)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{media}; media-src 'self' blob:{media}; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, page_csp: str) -> None:
        self.app = app
        self.page_csp = page_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if "content-security-policy" not in headers:
                    if headers.get("content-type", "").startswith("text/html"):
                        csp = self.page_csp
                    else:
                        csp = NOT_A_PAGE_CSP
                    headers["Content-Security-Policy"] = csp
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with a 413 that says the limit.

    Checked on the declared Content-Length before the app runs and again while the body streams
    in (chunked uploads declare nothing).  Paths under ``exempt_prefix`` count their own bytes
    against their own limit (the upload endpoints: job inputs, a reviewer's b-roll).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, exempt_prefix: str | tuple[str, ...] = ("/uploads/", "/api/broll-uploads/")
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix

    def _message(self) -> str:
        return f"the request body is over the limit of {self.max_bytes} bytes (TUBEFLOW_API_MAX_BODY_BYTES)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self._message()}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bad_text(raw: str) -> bool:
    """Control characters or bytes that are not UTF-8, once percent-decoding is undone."""
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return bool(_CONTROL.search(unquote(raw)))


class CleanTarget:
    """Refuse a path or query holding control characters (``%00``) or broken UTF-8 with a 400.

    Every path parameter (channel names, ids) and query value then reaches the database clean:
    PostgreSQL refuses NUL in text with an error that would otherwise surface as a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
            query = scope.get("query_string", b"")
            if _bad_text(raw_path.decode("latin-1")) or _bad_text(query.decode("latin-1")):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = JSONResponse(
                    {"detail": "the URL holds control characters or invalid UTF-8; remove them and retry"},
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
