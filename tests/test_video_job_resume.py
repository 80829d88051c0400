"""A video job whose GPU worker process is SIGKILLed mid-encode resumes on another worker.

Real parts: the dev server (session fixture), the API in-process over ASGI, the main worker
in-process, and the GPU workers as real ``python -m cli worker --queue gpu`` processes (their
own process groups, so the kill takes FFmpeg with it, as a reclaimed spot VM would).  The
heartbeat timeout is 3 s here so the loss is noticed quickly.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from PIL import Image
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.fetch import FetchPolicy
from tests.conftest import tiny_settings
from tests.test_api_video import sse_events
from tests.workflow_helpers import running_stack
from tubeflow.settings import Settings
from tubeflow.signing import HEADER, verify


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no access log on stderr
        pass


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[str]:
    d = tmp_path / "origin"
    d.mkdir()
    Image.new("RGB", (320, 180), (30, 90, 160)).save(d / "still.png")
    handler = functools.partial(_QuietHandler, directory=str(d))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def gpu_worker(settings: Settings, identity: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", TUBEFLOW_WORKER_IDENTITY=identity)
    for name in ("home", "temporal_address", "main_queue", "gpu_queue", "width", "height", "fps", "video_quality"):
        env[f"TUBEFLOW_{name.upper()}"] = str(getattr(settings, name))
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--queue", "gpu"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: FFmpeg dies with it
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


class Receiver(BaseHTTPRequestHandler):
    """A client's callback endpoint: records each POST; the first answers 500 (a blip)."""

    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.got.append((dict(self.headers.items()), body))
        self.send_response(500 if len(self.got) == 1 else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    handler = cast(type[Receiver], type("R", (Receiver,), {"got": []}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", handler.got
    server.shutdown()
    server.server_close()


@pytest.fixture
async def api(
    temporal_env: WorkflowEnvironment, tmp_path: Path, origin: str, receiver: tuple[str, Any]
) -> AsyncIterator[Any]:
    address = temporal_env.client.service_client.config.target_host
    settings = tiny_settings(
        tmp_path, temporal_address=address, video_job_heartbeat_s=3.0, video_jobs_per_key=1,
        video_job_max_output_s=500.0, secret_key="k" * 43 + "=", fetch_allow_hosts=receiver[0],
    )  # fmt: skip
    async with running_stack(temporal_env.client, settings, gpu=False) as stack:
        key = await create_key(stack.db, "seed-app", "editor")
        app = create_app(
            settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
            fetch_policy=FetchPolicy(allow_hosts=frozenset({origin, receiver[0]}), max_bytes=5 << 20, timeout_s=10),
        )  # fmt: skip
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"X-API-Key": key}
        ) as http:
            yield http, settings


async def test_sigkilled_gpu_worker_shows_resumed_and_the_job_completes(
    api: tuple[httpx.AsyncClient, Settings], origin: str, tmp_path: Path
) -> None:
    http, settings = api
    first = gpu_worker(settings, "gpu-a", tmp_path / "gpu-a.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        # Limits are refused before any work: too long an output (422).
        r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 501})
        assert r.status_code == 400 and "TUBEFLOW_VIDEO_JOB_MAX_OUTPUT_S" in r.text, r.text

        r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 480})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]

        # One job at a time for this key (TUBEFLOW_VIDEO_JOBS_PER_KEY=1): the next is refused (429).
        r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 1})
        assert r.status_code == 429 and "TUBEFLOW_VIDEO_JOBS_PER_KEY" in r.text, r.text

        # Kill the worker once FFmpeg is visibly part-way through.
        for _ in range(600):
            st = (await http.get(f"/jobs/{job_id}")).json()
            if st["status"] == "running" and 0 < st["progress"] < 60:
                break
            assert st["status"] not in ("completed", "failed"), st
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"job never showed progress: {st}")
        reached = st["progress"]
        kill_group(first)
        second = gpu_worker(settings, "gpu-b", tmp_path / "gpu-b.log")

        for _ in range(1200):
            st = (await http.get(f"/jobs/{job_id}")).json()
            if st["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.25)
        assert st["status"] == "completed", st
        assert st["resume_count"] == 1 and st["checkpoint"]["workers"] == ["gpu-a", "gpu-b"], st

        events = sse_events((await http.get(f"/jobs/{job_id}/events")).text)
        kinds = [e["event"] for e in events]
        assert kinds == ["queued", "checkpoint", "started", "resumed", "checkpoint", "complete"], kinds
        resumed = events[3]
        assert resumed["worker"] == "gpu-b" and resumed["failed_worker"] == "gpu-a", resumed
        assert resumed["attempt"] == 2 and "heartbeat" in resumed["after_failure"].lower(), resumed
        assert resumed["reached_before_failure"] >= reached > 0, resumed
        assert st["checkpoint"]["last_resume"] == {
            k: v for k, v in resumed.items() if k not in ("id", "event", "job_id", "at")
        }
        assert events[-1]["workers"] == ["gpu-a", "gpu-b"]
    finally:
        kill_group(first)
        if second is not None:
            kill_group(second)


async def test_callback_is_signed_retried_and_verifiable(
    api: tuple[httpx.AsyncClient, Settings], origin: str, receiver: tuple[str, Any], tmp_path: Path
) -> None:
    http, settings = api
    host, got = receiver
    still = f"http://{origin}/still.png"
    # A callback to a private address (not allow-listed) is refused before any work.
    r = await http.post("/video/img2vid", json={"url_image": still, "duration": 1, "callback_url": "http://10.0.0.1/x"})
    assert r.status_code == 400 and "private" in r.text, r.text

    worker = gpu_worker(settings, "gpu-a", tmp_path / "gpu-a.log")
    try:
        url = f"http://{host}/hooks/tubeflow"
        r = await http.post("/video/img2vid", json={"url_image": still, "duration": 1, "callback_url": url})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        for _ in range(600):
            st = (await http.get(f"/jobs/{job_id}")).json()
            if st["callback"] not in (None, "pending"):
                break
            await asyncio.sleep(0.2)
        assert st["status"] == "completed" and st["callback"] == "delivered", st
    finally:
        kill_group(worker)

    # The first delivery got a 500 and was retried with the same body and delivery id.
    assert len(got) == 2 and got[0][1] == got[1][1], got
    headers, body = got[1]
    secret = (await http.get("/video/callback-secret")).json()["secret"]
    assert verify(secret, body, headers[HEADER]), headers
    assert not verify(secret, body + b" ", headers[HEADER]) and not verify("0" * 64, body, headers[HEADER])
    sent = json.loads(body)
    assert sent["job_id"] == job_id and sent["event"] == "complete" and sent["output_key"] == st["output_key"]
    assert headers["X-Tubeflow-Event"] == "complete" and headers["X-Tubeflow-Delivery"] == f"{job_id}-{sent['id']}"


async def test_a_queued_jobs_stream_keeps_alive_and_stops_at_max_s(
    api: tuple[httpx.AsyncClient, Settings], origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import routes_job_events

    monkeypatch.setattr(routes_job_events, "KEEPALIVE_S", 0.5)
    http, _settings = api
    # No GPU worker runs here: the job stays queued, and its stream has nothing new to say.
    r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 1})
    assert r.status_code == 202, r.text
    body = (await http.get(f"/jobs/{r.json()['job_id']}/events", params={"max_s": 2})).text
    assert [e["event"] for e in sse_events(body)] == ["queued", "checkpoint"], body
    assert body.count(": keep-alive") >= 2, body
    st = (await http.get(f"/jobs/{r.json()['job_id']}")).json()
    assert st["status"] == "queued" and st["timing"]["started_at"] is None, st
