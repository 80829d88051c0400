"""The seeds' video job API end to end: URL inputs fetched safely, jobs on the GPU queue, status.

Inputs are tiny media made here (320x180, 2 s) and served by a local HTTP server that the fetch
policy allow-lists; the jobs run in VideoJobWorkflow on real workers against a real dev server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from PIL import Image
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.fetch import FetchPolicy
from api.jobs_bridge import job_workflow_id
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack
from tubeflow.media.probe import probe

SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello from the captions\n"


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    Image.new("RGB", (320, 180), (30, 90, 160)).save(d / "still.png")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x180:rate=15", "-t", "2", "-pix_fmt", "yuv420p", str(d / "clip.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(d / "tone.wav"))
    (d / "subs.srt").write_text(SRT)
    (d / "broken.png").write_text("this is not an image")
    return d


@pytest.fixture(scope="module")
def origin(media_dir: Path) -> Iterator[str]:
    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(media_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path)) as s:
        yield s


@pytest.fixture
async def http(stack: Stack, origin: str) -> AsyncIterator[httpx.AsyncClient]:
    key = await create_key(stack.db, "seed-app", "editor")
    app = create_app(
        stack.settings,
        temporal_client=stack.client,
        db=stack.db,
        storage=stack.storage,
        fetch_policy=FetchPolicy(allow_hosts=frozenset({origin}), max_bytes=5 << 20, timeout_s=10),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"X-API-Key": key}
    ) as c:
        yield c


async def finished(http: httpx.AsyncClient, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    for _ in range(int(timeout_s * 4)):
        r = await http.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        st = r.json()
        if st["status"] in ("completed", "failed"):
            return dict(st)
        await asyncio.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish: {st}")


async def output(http: httpx.AsyncClient, st: dict[str, Any], tmp_path: Path) -> Path:
    # Absolute, from TUBEFLOW_PUBLIC_BASE_URL (here the default, the API's own address).
    assert st["output_url"].startswith("http://127.0.0.1:8000/api/media/jobs/")
    r = await http.get(st["output_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    path = tmp_path / f"{st['job_id']}.mp4"
    path.write_bytes(r.content)
    return path


async def test_img2vid_caption_and_addaudio_jobs(http: httpx.AsyncClient, origin: str, tmp_path: Path) -> None:
    base = f"http://{origin}"
    r = await http.post("/video/img2vid", json={"url_image": f"{base}/still.png", "duration": 2, "zoom": 1.3})
    assert r.status_code == 202, r.text
    img_job = r.json()["job_id"]
    r = await http.post("/video/caption", json={"url_video": f"{base}/clip.mp4", "url_srt": f"{base}/subs.srt"})
    assert r.status_code == 202, r.text
    cap_job = r.json()["job_id"]
    r = await http.post("/video/addaudio", json={"url_video": f"{base}/clip.mp4", "url_audio": f"{base}/tone.wav"})
    assert r.status_code == 202, r.text
    mix_job = r.json()["job_id"]

    st = await finished(http, img_job)
    assert st["status"] == "completed" and st["progress"] == 100 and st["resume_count"] == 0, st
    assert st["op"] == "img2vid" and st["timing"]["elapsed_s"] > 0 and st["error"] is None
    info = probe(await output(http, st, tmp_path))
    assert info.has_video and abs(info.duration_s - 2.0) < 0.3

    st = await finished(http, cap_job)
    assert st["status"] == "completed", st
    info = probe(await output(http, st, tmp_path))
    assert info.has_video and abs(info.duration_s - 2.0) < 0.3

    st = await finished(http, mix_job)
    assert st["status"] == "completed", st
    info = probe(await output(http, st, tmp_path))
    assert info.audio_codec == "aac" and info.has_video

    assert (await http.get("/jobs/doesnotexist")).status_code == 404


async def test_uploaded_input_and_a_broken_one(http: httpx.AsyncClient, media_dir: Path, origin: str) -> None:
    up = (await http.post("/uploads", json={"filename": "still.png", "content_type": "image/png"})).json()
    put = await http.put(up["upload_url"], content=(media_dir / "still.png").read_bytes())
    assert put.status_code == 201
    r = await http.post("/video/img2vid", json={"url_image": up["use_as"], "duration": 1})
    assert r.status_code == 202, r.text
    st = await finished(http, r.json()["job_id"])
    assert st["status"] == "completed", st

    # A corrupt input fails the job at once, with the reason, and is not retried.
    r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/broken.png", "duration": 1})
    assert r.status_code == 202
    st = await finished(http, r.json()["job_id"])
    assert st["status"] == "failed" and st["resume_count"] == 0 and st["error"], st
    assert st["output_url"] is None


def sse_events(body: str) -> list[dict[str, Any]]:
    out = []
    for block in body.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            out.append(json.loads(data[0]))
    return out


async def test_live_progress_events_and_the_list(http: httpx.AsyncClient, origin: str) -> None:
    since = datetime.now(UTC)
    # 300 s of 320x180 output: a few seconds of encoding, long enough to be seen mid-way.
    r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 300})
    assert r.status_code == 202, r.text
    sub = r.json()
    job_id = sub["job_id"]
    assert sub["status"] == "queued"
    assert sub["status_url"] == f"http://127.0.0.1:8000/jobs/{job_id}"
    assert sub["events_url"] == f"http://127.0.0.1:8000/jobs/{job_id}/events"
    assert sub["websocket_url"] == f"ws://127.0.0.1:8000/jobs/{job_id}/ws"
    assert isinstance(sub["estimated_wait_s"], float) and sub["estimated_wait_s"] >= 0
    assert sub["estimated_run_s"] > 0 and sub["queue"]["workers"] >= 1, sub

    # The SSE stream, opened at once, ends by itself after "complete".
    stream = asyncio.ensure_future(http.get(f"/jobs/{job_id}/events", params={"max_s": 120}))
    seen: list[dict[str, Any]] = []
    for _ in range(600):
        st = (await http.get(f"/jobs/{job_id}")).json()
        seen.append(st)
        if st["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.2)
    assert st["status"] == "completed", st
    mid = [s["progress_detail"] for s in seen if 0 < s["progress"] < 100]
    assert mid, [s["progress"] for s in seen]
    assert all(m["frames"] and m["frames"] > 0 and m["out_time_s"] > 0 for m in mid), mid
    assert [m["percent"] for m in mid] == sorted(m["percent"] for m in mid)

    t = st["timing"]
    assert t["created_at"] <= t["queued_at"] <= t["started_at"] <= t["finished_at"], t
    assert st["checkpoint"]["resume_count"] == 0 and len(st["checkpoint"]["workers"]) == 1
    assert [c["saved"] for c in st["checkpoint"]["saved"]] == ["inputs", "output"]
    assert st["cost"]["gpu_seconds"] > 0 and st["progress_detail"]["out_time_s"] == pytest.approx(300, abs=0.5)

    resp = await stream
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    kinds = [e["event"] for e in events if e["event"] != "progress"]
    assert kinds == ["queued", "checkpoint", "started", "checkpoint", "complete"], kinds
    progress = [e["percent"] for e in events if e["event"] == "progress"]
    assert any(0 < p < 100 for p in progress), progress
    done = events[-1]
    assert done["event"] == "complete" and done["output_key"] == st["output_key"] and done["cost_usd"] >= 0

    # Reconnecting with Last-Event-ID replays only what came after it.
    again = await http.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "3"})
    assert [e["id"] for e in sse_events(again.text)] == [4, 5]

    # The key's list: the job shows as completed, found by time without remembering its id.
    listed = (await http.get("/jobs", params={"status": "completed", "since": since.isoformat()})).json()
    assert job_id in [j["job_id"] for j in listed["jobs"]], listed
    active = (await http.get("/jobs", params={"status": "active"})).json()
    assert job_id not in [j["job_id"] for j in active["jobs"]]
    assert (await http.get("/jobs", params={"status": "bogus"})).status_code == 422


async def test_batch_starts_independent_jobs(http: httpx.AsyncClient, origin: str, stack: Stack) -> None:
    base = f"http://{origin}"
    ops = [
        {"op": "img2vid", "url_image": f"{base}/still.png", "duration": 1},
        {"op": "caption", "url_video": f"{base}/clip.mp4", "url_srt": f"{base}/subs.srt"},
        {"op": "img2vid", "url_image": "http://10.0.0.1/still.png", "duration": 1},  # a private address
    ]
    r = await http.post("/video/batch", json={"operations": ops})
    assert r.status_code == 202, r.text
    out = r.json()
    assert (out["accepted"], out["refused"]) == (2, 1), out
    bad = out["jobs"][2]
    assert bad["accepted"] is False and bad["status_code"] == 400 and "private" in bad["error"], bad
    ids = [j["job_id"] for j in out["jobs"][:2]]
    assert len(set(ids)) == 2 and all(j["events_url"].endswith("/events") for j in out["jobs"][:2])
    for job_id in ids:
        assert (await finished(http, job_id))["status"] == "completed"

    # Another key neither sees these jobs nor lists them; an admin sees them.
    other, admin = await create_key(stack.db, "other-app", "editor"), await create_key(stack.db, "ops", "admin")
    assert (await http.get(f"/jobs/{ids[0]}", headers={"X-API-Key": other})).status_code == 404
    assert (await http.get(f"/jobs/{ids[0]}/events", headers={"X-API-Key": other})).status_code == 404
    assert (await http.get("/jobs", headers={"X-API-Key": other})).json()["jobs"] == []
    assert (await http.get(f"/jobs/{ids[0]}", headers={"X-API-Key": admin})).status_code == 200

    # Too many operations, or an unknown one: refused whole, before any work.
    many = [{"op": "img2vid", "url_image": f"{base}/still.png", "duration": 1}] * 21
    r = await http.post("/video/batch", json={"operations": many})
    assert r.status_code == 400 and "TUBEFLOW_VIDEO_BATCH_MAX" in r.text, r.text
    r = await http.post("/video/batch", json={"operations": [{"op": "explode", "url_image": "x"}]})
    assert r.status_code == 422


async def test_a_burst_of_requests_cannot_overrun_the_per_key_limit(
    temporal_env: WorkflowEnvironment, tmp_path: Path, origin: str
) -> None:
    """Eight simultaneous POSTs against a limit of 2: exactly 2 start, 6 get 429 (no GPU worker
    polls, so nothing finishes and frees a slot meanwhile)."""
    settings = tiny_settings(tmp_path, video_jobs_per_key=2)
    async with running_stack(temporal_env.client, settings, gpu=False) as stack:
        key = await create_key(stack.db, "burst-app", "editor")
        app = create_app(
            settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
            fetch_policy=FetchPolicy(allow_hosts=frozenset({origin}), max_bytes=5 << 20, timeout_s=10),
        )  # fmt: skip
        body = {"url_image": f"http://{origin}/still.png", "duration": 1}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"X-API-Key": key}
        ) as http:
            answers = await asyncio.gather(*(http.post("/video/img2vid", json=body) for _ in range(8)))
            codes = sorted(r.status_code for r in answers)
            assert codes == [202, 202] + [429] * 6, [r.text for r in answers]
            started = [r.json()["job_id"] for r in answers if r.status_code == 202]
            # A failed request frees its slot: still exactly two, and a batch can't add a third.
            r = await http.post("/video/batch", json={"operations": [{"op": "img2vid", **body}]})
            assert r.status_code == 429 and "limit is 2" in r.text, r.text
        for job_id in started:
            await stack.client.get_workflow_handle(job_workflow_id(job_id)).terminate("test over")
