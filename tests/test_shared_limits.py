"""Limits that hold across API replicas on PostgreSQL: three real API processes (``python -m cli api``)
on three ports and one database, hit in turn, give exactly what one process gives.

The job-slot burst runs twice: three :class:`JobSlots` with a database connection pool each
(what three replicas are to the database) racing for one key, and the whole HTTP path: eight
``POST /video/img2vid`` spread over three API processes that start their jobs on the real
Temporal dev server.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from temporalio.testing import WorkflowEnvironment

from api.auth import create_key
from api.job_slots import JobSlots, SlotsFull
from api.jobs_bridge import job_workflow_id
from tests.dbfixtures import temporary_postgres_url
from tests.fakehttp import running
from tubeflow.db.engine import Database

pytest_plugins = ["tests.dbfixtures"]
pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
BURST = 10  # wrong keys allowed per client before sign-in locks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def replicas(tmp_path: Path, db_url: str, n: int, **env: str) -> Iterator[list[str]]:
    """``n`` API processes on their own ports sharing ``db_url``; yields their base URLs once all answer."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(n):
            port = _free_port()
            home = tmp_path / f"replica{i}"
            home.mkdir(parents=True, exist_ok=True)
            environ = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "TUBEFLOW_HOME": str(home),
                "TUBEFLOW_DATABASE_URL": db_url,
                "TUBEFLOW_API_HOST": "127.0.0.1",
                "TUBEFLOW_API_PORT": str(port),
                "TUBEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",  # nothing there: no Temporal needed
                "TUBEFLOW_AUTH_FAILURE_BURST": str(BURST),
                "TUBEFLOW_AUTH_FAILURE_PER_MIN": "0.01",  # nothing comes back during the test
                **env,
            }
            log = open(home / "api.log", "wb")  # noqa: SIM115  (closed with the process)
            command = [sys.executable, "-m", "cli", "api"]
            procs.append(subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            while True:
                assert proc.poll() is None, f"API replica {url} exited early; see its api.log under {tmp_path}"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"API replica {url} did not answer within 60 s"
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wrong_keys(urls: list[str], count: int) -> list[int]:
    """``count`` wrong keys, one after another, sent to ``urls`` in turn; the status codes."""
    codes = []
    with httpx.Client(timeout=10) as http:
        for i in range(count):
            r = http.get(f"{urls[i % len(urls)]}/api/productions", headers={"X-API-Key": f"tfk_wrong{i:04d}guess"})
            codes.append(r.status_code)
    return codes


async def test_fifty_wrong_keys_over_three_replicas_lock_sign_in_as_against_one(tmp_path: Path) -> None:
    async with temporary_postgres_url() as one_db:
        with replicas(tmp_path / "one", one_db, 1) as one:
            alone = await asyncio.to_thread(_wrong_keys, one, 50)
    async with temporary_postgres_url() as shared_db:
        with replicas(tmp_path / "three", shared_db, 3) as three:
            spread = await asyncio.to_thread(_wrong_keys, three, 50)
    assert alone == [401] * BURST + [429] * (50 - BURST)
    assert spread == alone  # in memory, each replica would have allowed BURST: 3 * BURST 401s


async def test_event_streams_over_the_cap_across_replicas_are_refused(tmp_path: Path, postgres_url: str) -> None:
    db = Database(postgres_url)
    await db.upgrade()
    key = await create_key(db, "streams", "viewer")
    await db.close()
    headers = {"X-API-Key": key}
    with replicas(tmp_path, postgres_url, 3, TUBEFLOW_EVENTS_MAX_STREAMS_PER_KEY="2") as urls:
        async with httpx.AsyncClient(timeout=10, headers=headers) as http:
            async with (
                # They end on their own after max_s (a client that goes away is noticed at the next write).
                http.stream("GET", f"{urls[0]}/api/events", params={"max_s": 5}) as first,
                http.stream("GET", f"{urls[1]}/api/events", params={"max_s": 5}) as second,
            ):
                assert first.status_code == 200 and second.status_code == 200
                third = await http.get(f"{urls[2]}/api/events", params={"max_s": 0.1})
                assert third.status_code == 429 and "2 live event streams" in third.text, third.text
            # Both ended: their rows are gone, so a replica that held none of them admits new ones.
            for _ in range(400):
                r = await http.get(f"{urls[2]}/api/events", params={"max_s": 0.1})
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.05)  # the closing replica deletes its rows after the client goes
            assert r.status_code == 200, r.text


@asynccontextmanager
async def _databases(url: str, n: int) -> AsyncIterator[list[Database]]:
    dbs = [Database(url) for _ in range(n)]
    await dbs[0].upgrade()
    try:
        yield dbs
    finally:
        for d in dbs:
            await d.close()


async def test_a_burst_of_eight_job_requests_over_three_replicas_starts_two(postgres_url: str) -> None:
    async with _databases(postgres_url, 3) as dbs:
        slots = [JobSlots() for _ in dbs]  # each replica's own, as in three processes

        async def running() -> set[str]:
            await asyncio.sleep(0.01)  # visibility lags: nothing started during the burst shows up
            return set()

        async def request(i: int) -> str:
            replica = i % 3
            try:
                async with slots[replica].reserve("key-a", 1, 2, running, shared=dbs[replica]) as r:
                    await asyncio.sleep(0.02)  # fetching inputs
                    r.started(f"job-{i}")
                    return "started"
            except SlotsFull:
                return "refused"

        answers = await asyncio.gather(*(request(i) for i in range(8)))
        assert answers.count("started") == 2 and answers.count("refused") == 6, answers
        from tubeflow.db import limits

        assert await limits.held_slots(dbs[0], "key-a") == 2  # bound to their jobs, counted until visible
        with pytest.raises(SlotsFull):  # and a failed request freed nothing it didn't hold
            async with slots[2].reserve("key-a", 1, 2, running, shared=dbs[2]):
                pass


@contextmanager
def _image_origin(directory: Path) -> Iterator[str]:
    """A local HTTP server with one still, the job's input (an allow-listed private host)."""
    Image.new("RGB", (320, 180), (30, 90, 160)).save(directory / "still.png")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    with running(ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))) as port:
        yield f"127.0.0.1:{port}"


async def test_eight_job_posts_over_three_api_processes_start_two(
    tmp_path: Path, postgres_url: str, temporal_env: WorkflowEnvironment
) -> None:
    """Three replicas, each with only its own memory, one database and one Temporal: a limit of 2
    per key starts 2 of 8 simultaneous requests, wherever they land (no worker polls the queue,
    so nothing finishes and frees a slot meanwhile)."""
    db = Database(postgres_url)
    await db.upgrade()
    key = await create_key(db, "burst-app", "editor")
    await db.close()
    client = temporal_env.client
    queue = f"test-gpu-{uuid.uuid4().hex[:8]}"
    (tmp_path / "inputs").mkdir()
    with (
        _image_origin(tmp_path / "inputs") as origin,
        replicas(
            tmp_path,
            postgres_url,
            3,
            TUBEFLOW_TEMPORAL_ADDRESS=client.service_client.config.target_host,
            TUBEFLOW_VIDEO_JOBS_PER_KEY="2",
            TUBEFLOW_FETCH_ALLOW_HOSTS=origin,
            TUBEFLOW_GPU_QUEUE=queue,
            TUBEFLOW_MAIN_QUEUE=f"{queue}-main",
        ) as urls,  # fmt: skip
    ):
        body = {"url_image": f"http://{origin}/still.png", "duration": 1}
        async with httpx.AsyncClient(timeout=30, headers={"X-API-Key": key}) as http:
            answers = await asyncio.gather(*(http.post(f"{urls[i % 3]}/video/img2vid", json=body) for i in range(8)))
            codes = sorted(r.status_code for r in answers)
            assert codes == [202, 202] + [429] * 6, [r.text for r in answers]
            assert all("limit is 2" in r.text for r in answers if r.status_code == 429)
            started = [r.json()["job_id"] for r in answers if r.status_code == 202]
            # The two started are real workflows, waiting on the GPU queue.

            for job_id in started:
                desc = await client.get_workflow_handle(job_workflow_id(job_id)).describe()
                assert desc.task_queue in (queue, f"{queue}-main"), desc.task_queue
            # Later, a fourth replica-hop still sees the two held: a third is refused anywhere.
            for url in urls:
                r = await http.post(f"{url}/video/img2vid", json=body)
                assert r.status_code == 429, r.text
        for job_id in started:
            await client.get_workflow_handle(job_workflow_id(job_id)).terminate("test over")
