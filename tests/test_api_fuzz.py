"""Schemathesis against the app's own OpenAPI document: no input may cause a 5xx, or a response
whose body breaks its documented schema or whose content type is not documented (issue 16,
item 5).  Every JSON route has a response model (tests/test_api_response_models.py), so the body
check compares answers with real schemas, the declared 4xx ones included.

The app runs for real (uvicorn on a port, SQLite, the session's Temporal dev server) with an admin
key, so every operation gets past authentication and its body validation is what is exercised.
Examples per operation are bounded (``FUZZ_EXAMPLES``, default 20) to keep ``make test`` fast;
raise it locally to search harder: ``TUBEFLOW_FUZZ_EXAMPLES=500 pytest tests/test_api_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.fetch import FetchPolicy
from api.testing import free_port
from tests.conftest import tiny_settings
from tubeflow.db import repo
from tubeflow.db.engine import open_database
from tubeflow.settings import Settings

FUZZ_EXAMPLES = int(os.environ.get("TUBEFLOW_FUZZ_EXAMPLES", "20"))


def _prepare(settings: Settings) -> str:
    """An admin key and a channel, in the database the app will open (in a thread: no running loop here)."""
    out: list[str] = []

    async def go() -> None:
        db = await open_database(settings)
        try:
            out.append(await create_key(db, "fuzzer", "admin"))
            await repo.create_channel(db, "fuzz", "science")
        finally:
            await db.close()

    t = threading.Thread(target=lambda: asyncio.run(go()))
    t.start()
    t.join(120)
    return out[0]


@pytest.fixture(scope="module")
def served_api(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    home: Path = tmp_path_factory.mktemp("fuzz")
    s = tiny_settings(
        home,
        temporal_address=temporal_env.client.service_client.config.target_host,
        api_rate_per_s=100_000.0,
        api_rate_burst=1_000_000,
        auth_failure_burst=1_000_000,
        upload_quota_files=1_000_000,
        fetch_timeout_s=2.0,
    )
    key = _prepare(s)
    app = create_app(s, fetch_policy=FetchPolicy(max_bytes=1 << 20, timeout_s=2.0))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        server.should_exit = True
        thread.join(15)


def _openapi() -> dict[str, object]:
    """The document the app serves at /openapi.json (building it touches nothing but a temp dir)."""
    with tempfile.TemporaryDirectory(prefix="tubeflow-openapi-") as home:
        return create_app(Settings(home=Path(home))).openapi()


# The live feed streams until the client leaves; it is exercised in test_api_events and
# test_feed_and_metrics_limits instead (a fuzzer would wait on it forever).
schema = schemathesis.openapi.from_dict(_openapi()).exclude(path="/api/events")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_a_server_error_or_breaks_the_schema(
    case: schemathesis.Case[Any], served_api: tuple[str, str]
) -> None:
    base, key = served_api
    case.call_and_validate(
        base_url=base,
        headers={"X-API-Key": key},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        timeout=30,
    )
