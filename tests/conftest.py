"""Shared fixtures: a real Temporal dev server (the pip-installed binary) and tiny-media settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tubeflow.settings import Settings
from tubeflow.temporal_dev import start_local_env


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for the whole session, configured from temporal-dev.yaml."""
    env = await start_local_env()
    try:
        yield env
    finally:
        await env.shutdown()


def tiny_settings(home: Path, **overrides: object) -> Settings:
    """320x180 media, short segments, private task queues: fast on 2 cores and isolated per test."""
    tag = uuid.uuid4().hex[:8]
    base = Settings(
        home=home,
        width=320,
        height=180,
        fps=15,
        segment_seconds=2.0,
        video_quality="fast",
        main_queue=f"test-main-{tag}",
        gpu_queue=f"test-gpu-{tag}",
        max_review_attempts=3,
        # Tiny test renders (few pictures, long segments) hold stills longer than the default pace
        # allows: every test that auto-approves the final checkpoint
        # would wait in needs_attention.  The report is still measured and shown; the tests of the
        # gate itself (tests/test_quality_workflow.py) turn it on.
        quality_gate=False,
    )
    return base.with_overrides(**overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return tiny_settings(tmp_path)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium (tests/browser.py); skips the test where it is missing."""
    from tests.browser import launched

    async with launched() as b:
        yield b


FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Never pick up a developer's real profile or a proxy.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "NO_PROXY": "127.0.0.1,localhost",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on a free local port: real HTTP, fake credentials."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_AWS.items():
            mp.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
