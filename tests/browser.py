"""Headless Debian Chromium for the dashboard tests, driven by Playwright (never a downloaded browser).

A test module imports ``playwright_api`` from here; that import skips the whole module when
Playwright or the system chromium is missing, so a machine without them still runs everything
else.  The ``browser`` fixture (tests/conftest.py) launches one browser per test.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip

# The two widths every page is looked at; FITS holds when nothing scrolls sideways, WIDE names what sticks out.
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
WIDE = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""

playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright (no browser download)")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed: apt-get install -y chromium", allow_module_level=True)


@asynccontextmanager
async def launched() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def open_page(browser: Any, base: str, **options: Any) -> tuple[Any, Any, list[str]]:
    """A new browser context on ``base`` and a page in it, with the page's uncaught script errors
    collected in the returned list (a test asserts it stays empty: a CSP block shows up there)."""
    ctx = await browser.new_context(base_url=base, **options)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page, errors


async def sign_in(page: Any, key: str, then: str = "") -> None:
    """Signs in with ``key`` and waits until the session cookie is set (the redirect away from
    /login has landed) before going on: a ``goto`` right after the click could overtake the
    sign-in's answer and arrive signed out.  Then opens ``then`` when given."""
    await page.goto("/login")
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    if then:
        await page.goto(then)
