"""The video jobs page in headless Debian Chromium: a job's progress moves live, then completes.

Real app on a real port (uvicorn), real dev server, in-process main and GPU workers, real
FFmpeg.  The same browser also follows the job over the WebSocket endpoint (cookie auth from the
dashboard's own origin) and checks a cross-origin handshake is refused.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import free_port, serve
from tests.browser import playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack

WS_SCRIPT = """(url) => new Promise((resolve) => {
  const got = [];
  const ws = new WebSocket(url);
  ws.onmessage = (e) => got.push(JSON.parse(e.data));
  ws.onclose = (e) => resolve({code: e.code, got});
})"""


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[Stack, int]]:
    port = free_port()
    settings = tiny_settings(tmp_path, public_base_url=f"http://127.0.0.1:{port}")
    async with running_stack(temporal_env.client, settings) as s:
        yield s, port


async def test_jobs_page_shows_live_progress_and_the_websocket_follows(stack: tuple[Stack, int], browser: Any) -> None:
    s, port = stack
    key = await create_key(s.db, "ana", "editor")
    buf = io.BytesIO()
    Image.new("RGB", (320, 180), (30, 90, 160)).save(buf, "PNG")
    app = create_app(s.settings, temporal_client=s.client, db=s.db, storage=s.storage)
    async with serve(app, port=port) as base:
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=30) as api:
            up = (await api.post("/uploads", json={"filename": "still.png"})).json()
            assert (await api.put(up["upload_url"], content=buf.getvalue())).status_code == 201
            # 480 s of 320x180 output: several seconds of encoding to watch.
            r = await api.post("/video/img2vid", json={"url_image": up["use_as"], "duration": 480})
            assert r.status_code == 202, r.text
            sub = r.json()
        job_id = sub["job_id"]
        assert sub["websocket_url"] == f"ws://127.0.0.1:{port}/jobs/{job_id}/ws"

        page = await (await browser.new_context(base_url=base)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, key)
        await page.click("a[href='/video-jobs']")
        row = page.locator(f"tr[data-job='{job_id}']")
        await playwright_api.expect(row).to_have_attribute("data-status", "active")
        ws = asyncio.ensure_future(page.evaluate(WS_SCRIPT, sub["websocket_url"]))

        await playwright_api.expect(row.locator(".status")).to_have_text("completed", timeout=120_000)
        seen = [float(x) for x in ((await row.get_attribute("data-seen")) or "").split()]
        assert any(0 < x < 100 for x in seen), seen
        assert seen == sorted(seen), seen
        await playwright_api.expect(row.locator(".pct")).to_have_text("100.0 %")
        texts = await row.locator(".events li").all_text_contents()
        assert texts[0] == "queued for img2vid" and texts[-1].startswith("complete in"), texts
        assert any(t.startswith("started on ") for t in texts), texts

        done: dict[str, Any] = await ws
        kinds = [m["event"] for m in done["got"]]
        assert done["code"] == 1000 and kinds[-1] == "complete", done
        assert kinds[:2] == ["queued", "checkpoint"], kinds
        assert [m["id"] for m in done["got"] if "id" in m] == [1, 2, 3, 4, 5]

        # A page on another origin cannot ride the reviewer's cookie into the WebSocket.
        other = await (await browser.new_context()).new_page()
        await other.context.add_cookies(await page.context.cookies())
        await other.goto("about:blank")
        refused = await other.evaluate(WS_SCRIPT, sub["websocket_url"])
        assert refused["got"] == [] and refused["code"] != 1000, refused
        assert errors == []
