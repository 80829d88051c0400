"""Control characters in a URL (``%00`` in a channel name) are a 400, on SQLite and on PostgreSQL.

PostgreSQL refuses NUL in text; before the URL check a path parameter carrying one reached the
database and the caller got a 500.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import create_key
from tubeflow.db.engine import Database
from tubeflow.settings import Settings

pytest_plugins = ["tests.dbfixtures"]


@pytest.mark.parametrize(
    "target",
    [
        "/api/channels/a%00b",
        "/api/channels/a%00b/topics",
        "/api/productions/p%00",
        "/jobs/j%01x",
        "/api/channels?x=%00",
        "/api/channels/%ff%fe",
    ],
)
async def test_control_characters_in_the_url_are_a_400(target: str, tmp_path: Path, database: Database) -> None:
    key = await create_key(database, "root", "admin")
    app = create_app(Settings(home=tmp_path), db=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get(target, headers={"X-API-Key": key})
        assert r.status_code == 400, (target, r.status_code, r.text)
        assert "control characters" in r.json()["detail"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        # A clean name still works: the check refuses only what no name can hold.
        assert (await c.get("/api/channels/nobody", headers={"X-API-Key": key})).status_code == 404
