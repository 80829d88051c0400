"""A local HTTP server speaking Groq's OpenAI-style chat-completions API, for tests.

Real sockets, real HTTP: the production clients (the official ``groq`` SDK and the httpx
OpenAI-compatible client) are pointed at it by base URL and run unchanged.  Each test queues the
answers it wants (a script, invalid JSON, a 429 with retry-after, ...); the server checks the
bearer key like Groq does and records every request so tests can read the prompt that was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/openai/v1/chat/completions"


class FakeGroq:
    def __init__(self, api_key: str = "gsk_test_key") -> None:
        self.api_key = api_key
        self.answers: deque[tuple[int, dict[str, Any], dict[str, str]]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self.usages: list[dict[str, int]] = []  # what each answered request was billed
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ scripting answers

    def answer_content(self, content: str) -> None:
        """A 200 chat completion whose assistant message is ``content``."""
        self.answers.append((200, _completion(content), {}))

    def answer_script(self, script: dict[str, Any]) -> None:
        self.answer_content(json.dumps(script))

    def answer_status(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": str(status)}}
        self.answers.append((status, body, headers or {}))

    # ------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        """What the groq SDK takes (it appends /openai/v1/chat/completions)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """What an OpenAI-compatible client takes (it appends /chat/completions)."""
        return self.base_url + "/openai/v1"

    def __enter__(self) -> FakeGroq:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path != CHAT_PATH:
                    return self._send(404, {"error": {"message": f"unknown path {self.path}"}}, {})
                if self.headers.get("authorization") != f"Bearer {fake.api_key}":
                    return self._send(401, {"error": {"message": "Invalid API Key", "code": "invalid_api_key"}}, {})
                body = json.loads(raw)
                fake.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                fake.request_times.append(time.monotonic())
                if not fake.answers:
                    return self._send(500, {"error": {"message": "the test queued no answer"}}, {})
                status, payload, headers = fake.answers.popleft()
                if "usage" in payload:  # counted from this request, as the real service does
                    payload = {**payload, "usage": _usage(body, payload)}
                    fake.usages.append(payload["usage"])
                self._send(status, payload, headers)

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
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

    def prompt(self, index: int = -1) -> str:
        """All message texts of one recorded request, joined (for asserting what the model saw)."""
        return "\n".join(m["content"] for m in self.requests[index]["body"]["messages"])


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "llama-3.3-70b-versatile",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {},  # filled in per request by _usage
        "system_fingerprint": "fp_fake",
        "x_groq": {"id": "req_fake"},
    }


def _tokens(text: str) -> int:
    """A stand-in tokenizer: about one token per four characters, as for English with Llama's."""
    return max(1, len(text) // 4)


def _usage(request: dict[str, Any], payload: dict[str, Any]) -> dict[str, int]:
    prompt = sum(_tokens(str(m.get("content", ""))) for m in request.get("messages", []))
    completion = sum(_tokens(str(c["message"]["content"] or "")) for c in payload.get("choices", []))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
