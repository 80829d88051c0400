"""A local HTTP server speaking the subset of the Pexels API the stock client uses.

Real sockets, real HTTP: the production client runs unchanged against ``base_url``.  It checks
the Authorization header like Pexels (401 on a wrong key), can be switched to throttle (429 with
Retry-After) or to fail, and serves real tiny JPEGs and an MP4 made at start-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from PIL import Image, ImageDraw


def tiny_jpeg(text: str, size: tuple[int, int] = (640, 360)) -> bytes:
    h = hashlib.sha1(text.encode()).digest()
    img = Image.new("RGB", size, (h[0], h[1], h[2]))
    ImageDraw.Draw(img).text((10, 10), text, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def tiny_mp4(path: Path, seconds: float = 1.0) -> Path:
    import imageio_ffmpeg

    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=320x180:rate=15:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


class FakeStock:
    def __init__(self, workdir: Path, api_key: str = "stock-test-key") -> None:
        self.api_key = api_key
        self.mode = "ok"  # ok | throttle | error | broken_files
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.video_bytes = tiny_mp4(workdir / "stock-clip.mp4").read_bytes()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeStock:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _search(self, kind: str, query: str, per_page: int) -> dict[str, Any]:
        base = self.base_url
        items = []
        for i in range(per_page):
            pid = int(hashlib.sha1(f"{kind}{query}{i}".encode()).hexdigest()[:6], 16)
            if kind == "photos":
                items.append(
                    {
                        "id": pid,
                        "width": 640,
                        "height": 360,
                        "url": f"https://www.pexels.com/photo/{pid}/",
                        "photographer": f"Photographer {i}",
                        "alt": query,
                        "src": {
                            "original": f"{base}/files/photo-{pid}.jpeg",
                            "large2x": f"{base}/files/photo-{pid}.jpeg?w=1880",
                            "large": f"{base}/files/photo-{pid}.jpeg?w=940",
                        },
                    }
                )
            else:
                items.append(
                    {
                        "id": pid,
                        "duration": 1,
                        "url": f"https://www.pexels.com/video/{query.replace(' ', '-')}-{pid}/",
                        "user": {"name": f"Videographer {i}"},
                        "video_files": [
                            {"id": 1, "quality": "sd", "file_type": "video/mp4", "width": 320, "height": 180,
                             "link": f"{base}/files/video-{pid}.mp4"},
                            {"id": 2, "quality": "hd", "file_type": "video/mp4", "width": 1920, "height": 1080,
                             "link": f"{base}/files/video-{pid}.mp4?hd=1"},
                        ],
                    }
                )  # fmt: skip
        return {"page": 1, "per_page": per_page, "total_results": per_page, kind: items}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                self._send(code, json.dumps(obj).encode(), "application/json", headers)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                params = parse_qs(url.query)
                fake.requests.append((url.path, self.headers.get("Authorization", ""), params))
                if url.path.startswith("/files/"):
                    if fake.mode == "broken_files":
                        return self._send(200, b"this is not media", "application/octet-stream")
                    if url.path.endswith(".mp4"):
                        return self._send(200, fake.video_bytes, "video/mp4")
                    return self._send(200, tiny_jpeg(url.path), "image/jpeg")
                if self.headers.get("Authorization") != fake.api_key:
                    return self._json(401, {"code": 401, "error": "Unauthorized"})
                if fake.mode == "throttle":
                    return self._json(429, {"error": "Rate limit exceeded"}, {"Retry-After": "7"})
                if fake.mode == "error":
                    return self._json(502, {"error": "bad gateway"})
                query = (params.get("query") or [""])[0]
                if not query:
                    return self._json(400, {"error": "query is required"})
                per_page = min(80, int((params.get("per_page") or ["15"])[0]))
                if url.path == "/v1/search":
                    return self._json(200, fake._search("photos", query, per_page))
                if url.path == "/videos/search":
                    return self._json(200, fake._search("videos", query, min(per_page, 2)))
                return self._json(404, {"error": "not found"})

        return Handler


class FakePixabay:
    """Pixabay's /api/ (images) and /api/videos/ search, key as a query parameter (400 on a bad key,
    as Pixabay answers), with real tiny files behind the URLs.  Each search returns what was asked
    for, tagged with the query, plus one unrelated hit (``unrelated_tags``) that ranking must push down."""

    def __init__(self, workdir: Path, api_key: str = "pixabay-test-key") -> None:
        self.api_key = api_key
        self.unrelated_tags = "cat, pet, sofa, sleeping"
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.video_bytes = tiny_mp4(workdir / "pixabay-clip.mp4").read_bytes()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakePixabay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _hits(self, videos: bool, query: str, per_page: int) -> list[dict[str, Any]]:
        base = self.base_url
        out = []
        for i in range(per_page):
            tags = self.unrelated_tags if i == 0 else f"{query.replace(' ', ', ')}, nature"
            pid = int(hashlib.sha1(f"{videos}{query}{i}".encode()).hexdigest()[:6], 16)
            hit: dict[str, Any] = {"id": pid, "pageURL": f"https://pixabay.com/x-{pid}/", "tags": tags,
                                   "user": f"user{i}", "user_id": i}  # fmt: skip
            if videos:
                hit["duration"] = 1
                hit["videos"] = {
                    "large": {"url": f"{base}/files/v-{pid}.mp4?r=large", "width": 1920, "height": 1080, "size": 1},
                    "small": {"url": f"{base}/files/v-{pid}.mp4?r=small", "width": 640, "height": 360, "size": 1},
                    "tiny": {"url": "", "width": 0, "height": 0, "size": 0},
                }
            else:
                hit.update(webformatURL=f"{base}/files/i-{pid}.jpg", largeImageURL=f"{base}/files/i-{pid}-l.jpg",
                           imageWidth=1920, imageHeight=1080)  # fmt: skip
            out.append(hit)
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                params = parse_qs(url.query)
                fake.requests.append((url.path, params))
                if url.path.startswith("/files/"):
                    if url.path.endswith(".mp4"):
                        return self._send(200, fake.video_bytes, "video/mp4")
                    return self._send(200, tiny_jpeg(url.path), "image/jpeg")
                if (params.get("key") or [""])[0] != fake.api_key:
                    return self._send(400, b"[ERROR 400] Invalid or missing API key", "text/plain")
                per_page = int((params.get("per_page") or ["20"])[0])
                if not 3 <= per_page <= 200:
                    return self._send(400, b"[ERROR 400] per_page out of valid range", "text/plain")
                query = (params.get("q") or [""])[0]
                if url.path in ("/api/", "/api/videos/"):
                    hits = fake._hits(url.path == "/api/videos/", query, min(per_page, 4))
                    body = {"total": len(hits), "totalHits": len(hits), "hits": hits}
                    return self._send(200, json.dumps(body).encode(), "application/json")
                return self._send(404, b"not found", "text/plain")

        return Handler
