"""The shared part of the local fakes of remote JSON APIs (RunPod, Vast.ai, Kubernetes, ...)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet request handler that answers JSON and reads JSON bodies."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}") if n else {}


@contextmanager
def serve(handler: type[JsonHandler], state: Any) -> Iterator[str]:
    """Run ``handler`` (given ``state`` as a class attribute) on a free 127.0.0.1 port; yields its base URL."""
    with running(ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (handler,), {"state": state}))) as port:
        yield f"http://127.0.0.1:{port}"


@contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[int]:
    """Serve ``server`` on a daemon thread for the block; yields its port, shuts it down after."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
