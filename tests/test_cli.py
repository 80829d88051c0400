"""The `tubeflow` CLI as a person runs it: a real process against the real dev server and database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint
from tubeflow.settings import Settings


def cli_env(settings: Settings, address: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TUBEFLOW_HOME=str(settings.home),
        TUBEFLOW_TEMPORAL_ADDRESS=address,
        TUBEFLOW_MAIN_QUEUE=settings.main_queue,
        TUBEFLOW_GPU_QUEUE=settings.gpu_queue,
        COLUMNS="200",
    )
    return env


async def tubeflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_channel_produce_status_reject_approve(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    env = cli_env(settings, temporal_env.client.service_client.config.target_host)
    async with running_stack(temporal_env.client, settings, gpu=False):
        r = await tubeflow(env, "channel", "add", "clichan", "--niche", "science")
        assert r.returncode == 0, r.stderr
        r = await tubeflow(env, "channel", "add", "clichan", "--niche", "science")
        assert r.returncode == 2 and "already exists" in r.stderr
        r = await tubeflow(env, "channel", "add", "other", "--niche", "astrology")
        assert r.returncode == 2 and "unknown niche 'astrology'" in r.stderr
        assert "clichan" in (await tubeflow(env, "channel", "list")).stdout

        r = await tubeflow(env, "produce", "nope", "--topic", "Anything")
        assert r.returncode == 2 and "unknown channel 'nope'" in r.stderr
        r = await tubeflow(env, "produce", "clichan", "--topic", "How do rainbows form?")
        assert r.returncode == 0, r.stderr
        pid = r.stdout.strip().splitlines()[-1]

        await wait_checkpoint(temporal_env.client, pid, "script")
        status = json.loads((await tubeflow(env, "status", pid, "--json")).stdout)
        assert status["stage"] == "review_script" and status["checkpoint"] == "script"

        r = await tubeflow(env, "approve", pid, "--stage", "final")
        assert r.returncode == 2 and "not open" in r.stderr
        r = await tubeflow(env, "reject", pid, "--feedback", "shorter please")
        assert r.returncode == 0 and "rejected script" in r.stdout, r.stderr
        await wait_checkpoint(temporal_env.client, pid, "script", attempt=2)
        r = await tubeflow(env, "approve", pid)
        assert r.returncode == 0 and "approved script" in r.stdout, r.stderr

        listing = json.loads((await tubeflow(env, "status", "--json")).stdout)
        assert [p["id"] for p in listing] == [pid]


async def test_cli_daily_cost_summary(tmp_path: Path) -> None:
    import time

    from autoscaler.costs import CostLedger, UsageSlice
    from tubeflow.db.engine import open_database

    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    try:
        ledger = CostLedger(db)
        now = time.time()
        await ledger.record(
            [
                UsageSlice("runpod", "i-1", "production-abc123", 1800.0, 0.8, now),
                UsageSlice("runpod", "i-1", "", 450.0, 0.8, now),
            ]
        )
    finally:
        await db.close()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    r = await tubeflow(cli_env(settings, "127.0.0.1:1"), "costs", "--day", day, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["total_usd"] == 0.5 and summary["idle_usd"] == 0.1 and summary["instance_seconds"] == 2250.0
    assert summary["by_provider"] == {"runpod": 0.5}
