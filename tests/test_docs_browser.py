"""The API docs page in headless Debian Chromium: Swagger UI from the installed wheel, under the
dashboard's strict CSP, with every request to our own origin (nothing from a CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.app import create_app
from api.testing import serve
from tests.browser import playwright_api
from tubeflow.db.engine import open_database
from tubeflow.settings import Settings


async def test_docs_render_from_our_own_origin(tmp_path: Path, browser: Any) -> None:
    expect = playwright_api.expect
    settings = Settings(home=tmp_path, temporal_address="127.0.0.1:1")
    db = await open_database(settings)
    try:
        async with serve(create_app(settings, db=db)) as base:
            page = await (await browser.new_context(base_url=base)).new_page()
            problems: list[str] = []
            hosts: set[str] = set()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # CSP refusals
            page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            answer = await page.goto("/docs")
            assert answer is not None and answer.ok
            csp = (await answer.all_headers())["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-inline' https" not in csp and "cdn" not in csp
            await expect(page.locator(".swagger-ui .info .title")).to_contain_text("tubeflow")
            ops = page.locator(".opblock")
            await expect(ops.first).to_be_visible()
            assert await ops.count() > 20  # every operation is listed
            paths = page.locator(".opblock-summary-path")
            await expect(paths.filter(has_text="/api/productions/{production_id}/approve")).to_have_count(1)
            assert hosts == {urlsplit(base).netloc}, hosts
            assert problems == [], problems
            assert (await page.request.get("/redoc")).status == 404  # it only ever loaded from a CDN
    finally:
        await db.close()
