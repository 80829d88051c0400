"""A local HTTP server speaking the two Wikipedia endpoints research uses.

``GET /w/rest.php/v1/search/page?q=...&limit=N`` and ``GET /api/rest_v1/page/summary/<title>``,
with the response shapes of the real API (trimmed to the fields clients read).  Pages are given
by the test; a search matches pages sharing a word with the query.  Requests are recorded.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse


class FakeWikipedia:
    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages  # title -> extract
        self.requests: list[str] = []
        self.fail_with: int | None = None  # answer every request with this status (e.g. 503)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _search(self, query: str, limit: int) -> dict[str, Any]:
        words = set(re.findall(r"\w+", query.lower()))
        hits = [t for t, text in self.pages.items() if words & set(re.findall(r"\w+", f"{t} {text}".lower()))]
        return {
            "pages": [
                {"id": i, "key": t.replace(" ", "_"), "title": t, "excerpt": self.pages[t][:80], "description": None}
                for i, t in enumerate(hits[:limit])
            ]
        }

    def _summary(self, key: str) -> dict[str, Any] | None:
        title = unquote(key).replace("_", " ")
        if title not in self.pages:
            return None
        return {
            "type": "standard",
            "title": title,
            "extract": self.pages[title],
            "content_urls": {"desktop": {"page": f"{self.base_url}/wiki/{key}"}},
        }

    def __enter__(self) -> FakeWikipedia:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(self.path)
                if fake.fail_with:
                    return self._send(fake.fail_with, {"title": "unavailable"})
                url = urlparse(self.path)
                if url.path == "/w/rest.php/v1/search/page":
                    q = parse_qs(url.query)
                    return self._send(200, fake._search(q.get("q", [""])[0], int(q.get("limit", ["10"])[0])))
                if url.path.startswith("/api/rest_v1/page/summary/"):
                    found = fake._summary(url.path.rsplit("/", 1)[1])
                    return self._send(200, found) if found else self._send(404, {"title": "Not found."})
                self._send(404, {"title": "Not found."})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
