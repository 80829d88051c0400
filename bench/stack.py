"""The process set-up the API benches share: a Temporal dev server, one main worker, the API.

Each runs as it would in production, as a separate process: the dev server (the pinned binary,
started by the SDK's test environment with the app's search attributes and dynamic config), one
main worker (``tubeflow worker --queue main``) and the API under uvicorn.  The bench itself is only
the HTTP (and Temporal) client, so what it measures is what a reviewer's browser would wait for.

Used by bench/api.py (50 in flight) and bench/load.py (500 waiting); kept in one place so both
measure the same stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.testing import free_port  # noqa: E402
from tubeflow.settings import PREFIX, Settings  # noqa: E402

SERVE_API = """
import sys, uvicorn
from api.app import create_app
from api.ratelimit import RateLimiter
from tubeflow.settings import Settings
s = Settings.from_env()
# The bench is one client hammering the API on purpose; the default per-key limit would 429 it.
app = create_app(s, rate_limiter=RateLimiter(rate_per_s=10_000, burst=10_000))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the value of one measured request, not an interpolation)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


def summary(ms: list[float], *, p99: bool = False) -> dict[str, Any]:
    if not ms:
        return {"n": 0}
    out: dict[str, Any] = {"n": len(ms), "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95)}
    if p99:
        out["p99_ms"] = pct(ms, 99)
    out.update({"max_ms": round(max(ms), 2), "mean_ms": round(statistics.fmean(ms), 2)})
    return out


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Milliseconds of ``n`` sequential calls (``call(i)``), each from request to full answer."""
    ms: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        await call(i)
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def env_for(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    names = ("home", "temporal_address", "main_queue", "gpu_queue", "width", "height", "fps", "video_quality")
    for name in (*names, "database_url"):
        env[PREFIX + name.upper()] = str(getattr(settings, name))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def spawn(
    args: list[str], settings: Settings, name: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = open(settings.home / "logs" / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env_for(settings, extra), stdout=log, stderr=log)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


async def wait_until(check: Callable[[], Awaitable[Any]], timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = await check()
        if got:
            return got
        await asyncio.sleep(every_s)
    raise TimeoutError(f"timed out waiting for {what}")


def rss_mb(pid: int) -> float:
    """Resident memory of one process (MiB), from /proc like ``ps`` reads it."""
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def temporal_server_pid() -> int | None:
    """The dev server the SDK started for this process: the ``temporal`` child among ours."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name().startswith("temporal"):
                return int(child.pid)
    return None


@contextlib.asynccontextmanager
async def fresh_postgres(admin_dsn: str) -> AsyncIterator[str]:
    """An empty database of its own on ``admin_dsn``'s server (dropped afterwards), so its size is the run's."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
    from sqlalchemy.engine import make_url

    url = make_url(admin_dsn)
    if not url.username:
        url = url.set(username="postgres")  # trust auth: the server's admin role
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tubeflow_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@dataclass
class Stack:
    """A running stack: the Temporal client (``env.client``), the app's settings and database, the
    API's base URL, an editor key, and the worker and API processes."""

    env: Any
    settings: Settings
    db: Any
    key: str
    base_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def http(self, key: str | None = None, timeout: float | None = 60) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers={"X-API-Key": key or self.key}, timeout=timeout)

    def rss_mb(self) -> dict[str, float | None]:
        """RSS of the Temporal server, the main worker and the API (MiB)."""
        server = temporal_server_pid()
        out: dict[str, float | None] = {"temporal_server": rss_mb(server) if server else None}
        for name, proc in self.procs.items():
            out[name] = rss_mb(proc.pid)
        return out


@contextlib.asynccontextmanager
async def stack(
    *,
    database_url: str = "",
    channels: tuple[str, ...] = ("bench",),
    niche: str = "science",
    api_env: dict[str, str] | None = None,
    prefix: str = "tubeflow-bench-",
) -> AsyncIterator[Stack]:
    """Start the stack on a fresh home (and ``database_url``, else SQLite under it), with
    ``channels`` created and an editor key; stop every process on the way out."""

    from api.auth import create_key
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database
    from tubeflow.temporal_dev import start_local_env

    env = await start_local_env()
    home = Path(tempfile.mkdtemp(prefix=prefix))
    tag = uuid.uuid4().hex[:6]
    target = env.client.service_client.config.target_host
    settings = Settings(
        home=home, temporal_address=target, main_queue=f"bench-main-{tag}", gpu_queue=f"bench-gpu-{tag}",
        width=320, height=180, fps=15, video_quality="fast", database_url=database_url,
    )  # fmt: skip
    db = await open_database(settings)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in channels:
            await repo.create_channel(db, name, niche)
        key = await create_key(db, "bench", "editor")
        port = free_port()
        (home / "logs").mkdir()
        worker = ["-c", "from cli.main import main; main()", "worker", "--queue", "main"]
        procs["worker"] = spawn(worker, settings, "worker")
        procs["api"] = spawn(["-c", SERVE_API, str(port)], settings, "api", api_env)
        running = Stack(env, settings, db, key, f"http://127.0.0.1:{port}", procs)
        async with running.http() as http:

            async def api_up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(api_up, 60, "the API to start")
        yield running
    finally:
        stop(list(procs.values()))
        await db.close()
        await env.shutdown()


def machine(db: Any) -> dict[str, Any]:
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "database": db.dialect}


def json_stdout() -> Any:
    """The dev server prints a banner on the stdout it inherits: keep stdout for the JSON alone."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return out
