"""The REST API against the real app, a real Temporal dev server, real workers and tiny media.

Everything a reviewer does goes through HTTP here: start, list, inspect, approve with edits,
reject with feedback, be refused for a closed checkpoint, cancel.  Temporal and the database are
then asked directly whether the API did what it answered.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from service.client import get_status
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack
from tubeflow.db import repo

TOPIC = "Why is the sky blue?"


class Api:
    """An httpx client on the app, with one key per role."""

    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.http, self.keys = http, keys

    def h(self, role: str = "editor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def get(
        self, path: str, role: str = "editor", headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.get(path, headers={**self.h(role), **(headers or {})}, **kw)

    async def post(self, path: str, body: Any = None, role: str = "editor") -> httpx.Response:
        return await self.http.post(path, json=body if body is not None else {}, headers=self.h(role))

    async def wait(self, pid: str, pred: Any, what: str, timeout_s: float = 120) -> dict[str, Any]:
        """Poll GET /api/productions/{id} (the API's own view) until ``pred`` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last: dict[str, Any] = {}
        while loop.time() < deadline:
            r = await self.get(f"/api/productions/{pid}")
            if r.status_code == 200:
                last = r.json()
                if pred(last):
                    return last
                if last["state"] in ("failed", "cancelled", "completed"):
                    raise AssertionError(f"production ended ({last['state']}: {last.get('error')}) before {what}")
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; last: {json.dumps(last)[:600]}")

    async def checkpoint(self, pid: str, cp: str, attempt: int = 1, timeout_s: float = 180) -> dict[str, Any]:
        return await self.wait(
            pid,
            lambda v: v["checkpoint"] == cp and v["attempts"].get(cp) == attempt and v["review"] is not None,
            f"checkpoint {cp} attempt {attempt}",
            timeout_s,
        )


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = tiny_settings(tmp_path)
    async with running_stack(temporal_env.client, settings, gpu=False) as s:
        await repo.create_channel(s.db, "skyline", "science")
        yield s


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    keys = {role: await create_key(stack.db, f"{role[0]}-{role}", role) for role in ("admin", "editor", "viewer")}
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield Api(http, keys)


async def start(api: Api, topic: str = TOPIC) -> str:
    r = await api.post("/api/productions", {"channel": "skyline", "topic": topic})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_review_cycle_through_the_api(api: Api, stack: Stack) -> None:
    pid = await start(api)
    assert (await api.post("/api/productions", {"channel": "nowhere", "topic": TOPIC})).status_code == 404
    assert (await api.post("/api/productions", {"channel": "skyline"})).status_code == 422

    view = await api.checkpoint(pid, "script")
    assert view["source"] == "workflow" and view["state"] == "waiting" and view["stage"] == "review_script"
    assert view["workflow_url"].endswith(f"/namespaces/default/workflows/production-{pid}")
    script = view["review"]["script"]
    assert view["review"]["kind"] == "script" and script["sections"]
    assert view["artifacts"]["script"]["url"] == f"/api/media/{view['artifact_keys']['script']}"
    # The script artifact is served as JSON and is the script shown for review.
    r = await api.get(view["artifacts"]["script"]["url"], role="viewer")
    assert r.status_code == 200 and r.json()["title"] == script["title"]

    # Lists come from the database and filter.
    listed = (await api.get("/api/productions", params={"state": "waiting"}, role="viewer")).json()["items"]
    assert [p["id"] for p in listed] == [pid] and listed[0]["checkpoint"] == "script"
    assert (await api.get("/api/productions", params={"channel": "other"})).json()["items"] == []
    assert (await api.get("/api/productions", params={"stage": "review_script"})).json()["items"][0]["id"] == pid

    # The dashboard renders the same view; only editors get the decision buttons.
    page = await api.get(f"/productions/{pid}")
    assert page.status_code == 200 and 'id="approve"' in page.text and 'id="script-form"' in page.text
    page = await api.get(f"/productions/{pid}", role="viewer")
    assert 'id="approve"' not in page.text and "viewer key" in page.text
    queue = await api.get("/review", role="viewer")
    assert f'data-production="{pid}"' in queue.text and "review script" in queue.text

    # Wrong checkpoint -> 409 with the workflow's reason; blank feedback -> 422; unknown -> 404.
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "final"})
    assert r.status_code == 409 and "the open checkpoint is 'script'" in r.json()["detail"]
    assert (await api.post(f"/api/productions/{pid}/reject", {"stage": "script", "feedback": "  "})).status_code == 422
    assert (await api.post(f"/api/productions/{pid}/reject", {"stage": "script"})).status_code == 422
    assert (await api.post(f"/api/productions/{pid}/approve", {"stage": "intro"})).status_code == 422
    assert (await api.post("/api/productions/nosuchprod/approve", {"stage": "script"})).status_code == 404
    assert (await api.get("/api/productions/nosuchprod")).status_code == 404
    bad = {"stage": "script", "edits": {"script": {"title": "no sections"}}}
    r = await api.post(f"/api/productions/{pid}/approve", bad)
    assert r.status_code == 409 and "invalid" in r.json()["detail"]

    # Edit then approve: the edited script becomes the production's script.
    edited = json.loads(json.dumps(script))
    edited["title"] = "Rayleigh scattering, explained by an editor"
    edited["sections"][0]["narration"] += " Edited by a reviewer."
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "script", "edits": {"script": edited}})
    assert r.status_code == 200, r.text
    assert r.json()["checkpoint"] is None

    audio = await api.checkpoint(pid, "audio")
    assert audio["title"] == edited["title"]
    saved = json.loads(stack.storage.get_text(audio["artifact_keys"]["script"]))
    assert saved["sections"][0]["narration"].endswith("Edited by a reviewer.")
    # The narration streams with Range support so the <audio> element can seek.
    audio_url = audio["review"]["audio"]["url"]
    r = await api.get(audio_url, headers={"Range": "bytes=0-11"})
    assert r.status_code == 206 and r.content[:4] == b"RIFF" and len(r.content) == 12
    assert r.headers["content-type"] == "audio/x-wav" or r.headers["content-type"].startswith("audio/")

    r = await api.post(f"/api/productions/{pid}/reject", {"stage": "audio", "feedback": "Slower, please"})
    assert r.status_code == 200, r.text
    again = await api.checkpoint(pid, "audio", attempt=2)
    history = [(h["stage"], h["approved"], h["reviewer"], h["feedback"]) for h in again["review_history"]]
    assert history == [("script", True, "e-editor", ""), ("audio", False, "e-editor", "Slower, please")]
    assert [(r.stage, r.reviewer) for r in await repo.list_reviews(stack.db, pid)] == [
        ("script", "e-editor"),
        ("audio", "e-editor"),
    ]

    # Cancel: the workflow records it and the database follows.
    r = await api.post(f"/api/productions/{pid}/cancel", {"reason": "topic dropped"})
    assert r.status_code == 202
    view = await api.wait(pid, lambda v: v["state"] == "cancelled", "cancellation", 60)
    assert "topic dropped (e-editor)" in (view["error"] or "")
    assert (await get_status(stack.client, pid)).state == "cancelled"
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "audio"})
    assert r.status_code == 409


async def test_detail_falls_back_to_the_database_when_the_workflow_is_gone(api: Api, stack: Stack) -> None:
    from tubeflow.contracts import Artifacts, Outputs, ProductionStatus, Stage, State, StateSnapshot

    status = ProductionStatus(
        production_id="archived01",
        channel="skyline",
        niche="science",
        topic="Old topic",
        stage=Stage.DONE,
        state=State.COMPLETED,
        progress=100.0,
        title="An archived video",
        artifacts=Artifacts(video="productions/archived01/video.mp4"),
        outputs=Outputs(published="skyline/archived01"),
        updated_at="2026-01-02T03:04:05+00:00",
    )
    await repo.apply_snapshot(stack.db, StateSnapshot(status, "production-archived01", "run-1"))
    r = await api.get("/api/productions/archived01", role="viewer")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["source"] == "database" and view["state"] == "completed" and view["title"] == "An archived video"
    assert view["artifacts"]["video"]["url"] == "/api/media/productions/archived01/video.mp4"
    # Its artifact was never stored, so the media route says so plainly.
    assert (await api.get(view["artifacts"]["video"]["url"])).status_code == 404
    assert (await api.get("/api/media/../etc/passwd")).status_code in (400, 404)


async def test_channels_api(api: Api) -> None:
    r = await api.post("/api/channels", {"name": "history-hub", "niche": "history"}, role="admin")
    assert r.status_code == 201 and r.json()["niche"] == "history"
    again = await api.post("/api/channels", {"name": "history-hub", "niche": "history"}, role="admin")
    assert again.status_code == 409
    r = await api.post("/api/channels", {"name": "x", "niche": "no-such-niche"}, role="admin")
    assert r.status_code == 400 and "niche" in r.json()["detail"]
    assert (await api.post("/api/channels", {"name": "bad name!", "niche": "science"}, role="admin")).status_code == 422
    schema = (await api.http.get("/openapi.json")).json()
    assert {"/api/productions/{production_id}/approve", "/video/img2vid", "/jobs/{job_id}", "/api/events"} <= set(
        schema["paths"]
    )
    assert "/login" not in schema["paths"] and (await api.http.get("/docs")).status_code == 200
    names = [c["name"] for c in (await api.get("/api/channels", role="viewer")).json()]
    assert names == sorted(names) and {"skyline", "history-hub"} <= set(names)


@pytest.fixture
async def gpu_api(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[Api, Stack]]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path)) as s:
        await repo.create_channel(s.db, "skyline", "science")
        key = await create_key(s.db, "bo", "editor")
        app = create_app(s.settings, temporal_client=s.client, db=s.db, storage=s.storage)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield Api(http, {"editor": key, "viewer": key}), s


@pytest.mark.slow
async def test_broll_swap_and_thumbnail_choice_through_the_api(gpu_api: tuple[Api, Stack]) -> None:
    api, stack = gpu_api
    pid = await start(api)
    for cp in ("script", "audio"):
        await api.checkpoint(pid, cp)
        assert (await api.post(f"/api/productions/{pid}/approve", {"stage": cp})).status_code == 200

    broll = await api.checkpoint(pid, "broll")
    parts = broll["review"]["parts"]
    assert parts and all(p["items"] for p in parts)
    shown = [m for p in parts for m in p["items"] + p["candidates"]]
    assert all(-1 < m["score"] < 1 and m["cue"] and m["description"] for m in shown)  # relevance and query
    swappable = [p for p in parts if any(c["key"] != p["items"][0]["key"] for c in p["candidates"])]
    assert swappable, "the b-roll stage offered no alternative to swap in"
    part = swappable[0]
    candidate = next(c for c in part["candidates"] if c["key"] != part["items"][0]["key"])
    assert (await api.get(candidate["url"])).status_code == 200  # the dashboard can show it
    swap = {"swap": {str(part["index"]): candidate["key"]}}
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "broll", "edits": swap})
    assert r.status_code == 200, r.text

    final = await api.checkpoint(pid, "final", timeout_s=300)
    plan = json.loads(stack.storage.get_text(final["artifact_keys"]["plan"]))
    swapped = next(p for p in plan["parts"] if p["index"] == part["index"])
    assert swapped["items"][0]["key"] == candidate["key"]
    review = final["review"]
    assert review["video"]["url"].endswith("/video.mp4") and len(review["thumbnails"]) >= 2
    r = await api.get(review["video"]["url"], headers={"Range": "bytes=0-1023"})
    assert r.status_code == 206 and r.content[4:8] == b"ftyp"
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "final", "edits": {"thumbnail": 99}})
    assert r.status_code == 409 and "thumbnail must be an index" in r.json()["detail"]
    r = await api.post(f"/api/productions/{pid}/approve", {"stage": "final", "edits": {"thumbnail": 1}})
    assert r.status_code == 200, r.text

    done = await api.wait(pid, lambda v: v["state"] == "completed", "completion", 300)
    assert done["progress"] == 100 and done["outputs"]["thumbnail"] == review["thumbnails"][1]["key"]
    listed = (await api.get("/api/productions", params={"state": "completed"})).json()["items"]
    assert [p["id"] for p in listed] == [pid]

    # Prometheus metrics, computed from the database and the GPU queue at scrape time.
    assert (await api.http.get("/metrics")).status_code == 401  # behind a key or TUBEFLOW_METRICS_TOKEN
    text = (await api.get("/metrics", role="viewer")).text
    assert 'tubeflow_productions{state="completed"} 1.0' in text
    assert "tubeflow_jobs_per_hour 1.0" in text
    assert "tubeflow_render_seconds_per_video_minute_count 1.0" in text
    # The render alone: transcription (and Shorts) worker time is in gpu_seconds but not in this ratio.
    render, total_gpu_s = done["outputs"]["render"], done["outputs"]["gpu_seconds"]
    assert 0 < render["render_s"] < total_gpu_s
    ratio = float(re.search(r"^tubeflow_render_seconds_per_video_minute_sum (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert ratio == pytest.approx(render["render_s"] / (render["duration_s"] / 60), rel=1e-3)
    approve = 'route="/api/productions/{production_id}/approve",status="200"'
    assert f'tubeflow_api_request_seconds_count{{method="POST",{approve}}}' in text, "latency by route template"
    assert "tubeflow_cost_per_video_usd_count 1.0" in text
    assert "tubeflow_gpu_queue_backlog 0.0" in text


async def test_without_temporal_lists_still_work_and_reviews_answer_503(tmp_path: Path) -> None:
    from tubeflow.settings import Settings

    # Nothing listens on port 1: the lifespan's connect fails and the app carries on without Temporal.
    settings = Settings(home=tmp_path, temporal_address="127.0.0.1:1")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.tubeflow.db
        key = await create_key(db, "ed", "editor")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"X-API-Key": key}
        ) as http:
            assert (await http.get("/healthz")).json() == {"ok": True, "temporal": False}
            assert (await http.get("/api/productions")).status_code == 200
            r = await http.post("/api/productions/abc/approve", json={"stage": "script"})
            assert r.status_code == 503 and "Temporal is not connected" in r.json()["detail"]


async def test_a_page_marks_the_live_feed_before_reading_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event that lands while a page is being read is after the page's mark, so its script
    replays it (a checkpoint that opened meanwhile reloads the page instead of never showing)."""
    import api.routes_dashboard as pages
    from api.routes_productions import load_view
    from tubeflow.db.models import EventRow
    from tubeflow.db.types import utcnow
    from tubeflow.settings import Settings

    app = create_app(Settings(home=tmp_path, temporal_address="127.0.0.1:1"))
    async with app.router.lifespan_context(app):
        db = app.state.tubeflow.db
        key = await create_key(db, "ed", "editor")
        await repo.create_channel(db, "sky", "science")
        pid = (await repo.create_production(db, "sky", TOPIC)).id
        landed: list[int] = []

        async def view_while_a_checkpoint_opens(ctx: Any, production_id: str) -> Any:
            async with db.session() as s:
                row = EventRow(production_id=pid, kind="stage", payload={"checkpoint": "script"}, at=utcnow())
                s.add(row)
                await s.flush()
                landed.append(row.id)
            return await load_view(ctx, production_id)

        monkeypatch.setattr(pages, "load_view", view_while_a_checkpoint_opens)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"X-API-Key": key}
        ) as http:
            page = await http.get(f"/productions/{pid}")
        assert page.status_code == 200
        mark = int(re.search(r'data-latest-event="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
        assert mark < landed[0], "the page's mark must not cover an event it did not show"
