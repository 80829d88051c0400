"""A production waiting at a checkpoint survives a SIGKILLed worker and a restarted server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from cli.devstack import wait_port
from service.client import review, start_production
from tests.conftest import tiny_settings
from tests.workflow_helpers import wait_checkpoint, wait_for
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.db.engine import open_database
from tubeflow.settings import Settings
from tubeflow.temporal_dev import DevServerConfig, start_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("home", "temporal_address", "main_queue", "gpu_queue", "width", "height", "fps"):
        env[f"TUBEFLOW_{name.upper()}"] = str(getattr(settings, name))
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def connect_when_healthy(address: str, timeout_s: float = 60.0) -> Client:
    """The dev server opens its port before its frontend is healthy: retry "not healthy yet" until it is."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError as e:
            if "not healthy" not in str(e) and "Unavailable" not in str(e):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def spawn_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--queue", "main"],
        env=env_for(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_checkpoint_survives_worker_kill_and_server_restart(tmp_path: Path) -> None:
    port = free_port()
    settings = tiny_settings(tmp_path, temporal_address=f"127.0.0.1:{port}")
    cfg = DevServerConfig.load()
    cfg.port, cfg.ui_port = port, free_port()
    cfg.db_filename = str(tmp_path / "temporal.sqlite")
    server = start_server(settings, cfg, log=tmp_path / "server.log")
    worker = None
    db = await open_database(settings)
    try:
        wait_port("127.0.0.1", port, 60, "dev server")
        client = await connect_when_healthy(settings.temporal_address)
        await repo.create_channel(db, "durable", "science")
        worker = spawn_worker(settings, tmp_path / "worker1.log")
        pid = await start_production(client, db, settings, "durable", "Why is the sky blue?", make_shorts=False)
        before = await wait_checkpoint(client, pid, "script", timeout_s=120)

        # The worker dies without any chance to clean up, then the server goes down too.
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        server.terminate()
        server.wait(30)

        server = start_server(settings, cfg, log=tmp_path / "server.log")
        wait_port("127.0.0.1", port, 60, "restarted dev server")
        client = await connect_when_healthy(settings.temporal_address)
        worker = spawn_worker(settings, tmp_path / "worker2.log")

        after = await wait_checkpoint(client, pid, "script", timeout_s=60)
        assert after.artifacts.script == before.artifacts.script  # nothing redone, nothing lost
        await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "after-restart"))
        st = await wait_for(client, pid, lambda s: s.checkpoint == "audio", 120, "audio checkpoint")
        assert [r.reviewer for r in st.reviews] == ["after-restart"]
        assert st.attempts == {"script": 1, "audio": 1}
    finally:
        await db.close()
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
