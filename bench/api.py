"""API latency with 50 productions in flight: p50/p95 of GET /api/productions and of an approve.

Everything runs as it would in production, as separate processes: a Temporal dev server (the
pinned binary), one main worker (`tubeflow worker --queue main`), and the API under uvicorn; this
process is only the HTTP client.  It starts N productions through the API, waits until all of
them wait at the script checkpoint, then measures a list request many times and one approve per
production (half of them through the API, half as the bare Temporal Update for comparison;
each approve is a Temporal Update that returns once the workflow took the decision,
while the productions approved before it are synthesising narration on the same 2 cores).

    .venv/bin/python bench/api.py [--productions 50] [--lists 200] [--database-url URL]

Prints one JSON object.  Target: p95 < 100 ms for both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


def summary(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    names = ("home", "temporal_address", "main_queue", "gpu_queue", "width", "height", "fps", "video_quality")
    for name in (*names, "database_url"):
        env[PREFIX + name.upper()] = str(getattr(settings, name))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(args: list[str], settings: Settings, name: str) -> subprocess.Popen[bytes]:
    log = open(settings.home / "logs" / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env_for(settings), stdout=log, stderr=log)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


async def wait_until(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


async def run(n_productions: int, n_lists: int, database_url: str = "") -> dict[str, Any]:
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    from api.auth import create_key
    from service.client import review
    from tubeflow.contracts import Checkpoint, ReviewDecision
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database
    from tubeflow.temporal_dev import DevServerConfig, temporal_binary

    cfg = DevServerConfig.load()
    env = await WorkflowEnvironment.start_local(
        namespace=cfg.namespace,
        dev_server_existing_path=temporal_binary(),
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in cfg.search_attributes],
        dev_server_extra_args=cfg.dynamic_config_args(),
    )
    home = Path(tempfile.mkdtemp(prefix="tubeflow-bench-api-"))
    tag = uuid.uuid4().hex[:6]
    target = env.client.service_client.config.target_host
    settings = Settings(
        home=home, temporal_address=target, main_queue=f"bench-main-{tag}", gpu_queue=f"bench-gpu-{tag}",
        width=320, height=180, fps=15, video_quality="fast", database_url=database_url,
    )  # fmt: skip
    db = await open_database(settings)
    await repo.create_channel(db, "bench", "science")
    key = await create_key(db, "bench", "editor")
    port = free_port()
    logs = home / "logs"
    logs.mkdir()
    procs = [
        spawn(["-c", "from cli.main import main; main()", "worker", "--queue", "main"], settings, "worker"),
        spawn(["-c", SERVE_API, str(port)], settings, "api"),
    ]
    result: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=60
        ) as http:

            async def api_up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(api_up, 60, "the API to start")
            start_ms: list[float] = []
            ids: list[str] = []
            for i in range(n_productions):
                t = time.perf_counter()
                body = {"channel": "bench", "topic": f"Why is the sky blue? #{i}"}
                r = await http.post("/api/productions", json=body)
                start_ms.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                ids.append(r.json()["id"])

            async def all_waiting() -> bool:
                r = await http.get("/api/productions", params={"state": "waiting", "limit": 500})
                return len(r.json()["items"]) >= n_productions

            t0 = time.perf_counter()
            await wait_until(all_waiting, 900, f"{n_productions} productions at the script checkpoint")
            result["seconds_until_all_waiting"] = round(time.perf_counter() - t0, 1)

            list_ms: list[float] = []
            for _ in range(n_lists):
                t = time.perf_counter()
                r = await http.get("/api/productions")
                list_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and len(r.json()["items"]) == min(50, n_productions)

            # Alternate: through the API, and the same Temporal Update straight from this process,
            # so the API's own share of an approve's latency can be told from the workflow's.
            approve_ms: list[float] = []
            direct_ms: list[float] = []
            for i, pid in enumerate(ids):
                t = time.perf_counter()
                if i % 2 == 0:
                    r = await http.post(f"/api/productions/{pid}/approve", json={"stage": "script"})
                    approve_ms.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                else:
                    await review(env.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "bench"))
                    direct_ms.append((time.perf_counter() - t) * 1000)

            # Lists again while the approved productions synthesise narration (the busy case).
            busy_list_ms: list[float] = []
            for _ in range(n_lists):
                t = time.perf_counter()
                await http.get("/api/productions")
                busy_list_ms.append((time.perf_counter() - t) * 1000)
    finally:
        stop(procs)
        await db.close()
        await env.shutdown()

    result.update(
        {
            "bench": "api",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "database": db.dialect},
            "productions_in_flight": n_productions,
            "list_productions": summary(list_ms),
            "list_productions_while_tts_runs": summary(busy_list_ms),
            "approve": summary(approve_ms),
            "approve_update_without_api": summary(direct_ms),
            "start_production": summary(start_ms),
            "target_p95_ms": 100,
        }
    )
    result["meets_target"] = result["list_productions"]["p95_ms"] < 100 and result["approve"]["p95_ms"] < 100
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--productions", type=int, default=50)
    parser.add_argument("--lists", type=int, default=200)
    parser.add_argument("--database-url", default="", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/bench")
    args = parser.parse_args()
    # The dev server prints a banner on the stdout it inherits: keep stdout for the JSON alone.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    result = asyncio.run(run(args.productions, args.lists, args.database_url))
    print(json.dumps(result, indent=2), file=json_out, flush=True)
    # The Temporal SDK's core threads sometimes abort the interpreter during finalisation
    # ("PyGILState_Release ... finalizing"); everything is shut down and printed by now.
    os._exit(0)


if __name__ == "__main__":
    main()
