"""How wrong is the 202's ``estimated_wait_s``?  Queue N video jobs at once and compare.

A real dev server (the pinned binary), the main worker and ONE GPU worker (one activity slot)
in this process, the API over ASGI, tiny media (320x180 img2vid, ``--seconds`` of output each).
Jobs are submitted back to back, one every ``--gap`` seconds, so each later one sees a backlog;
each job's actual wait is ``started_at - created_at`` from GET /jobs/{id}.  The speed book
first learns from ``--warmup`` jobs run alone (as a running API would have).

    .venv/bin/python bench/video_wait_estimate.py [--jobs 8] [--seconds 60] [--gap 0.3]

Prints one JSON object: per job (estimate, actual, error) and the mean absolute error.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import create_key  # noqa: E402
from service.worker import build_gpu_worker, build_main_worker  # noqa: E402
from tubeflow.db.engine import open_database  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402
from tubeflow.storage import open_storage  # noqa: E402
from tubeflow.temporal_dev import start_local_env  # noqa: E402


async def wait_done(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    while True:
        st: dict[str, Any] = (await http.get(f"/jobs/{job_id}")).json()
        if st["status"] in ("completed", "failed"):
            return st
        await asyncio.sleep(0.25)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    env = await start_local_env()
    home = Path(tempfile.mkdtemp(prefix="tubeflow-bench-"))
    settings = Settings(home=home, width=320, height=180, fps=15, video_quality="fast",
                        main_queue="bench-main", gpu_queue="bench-gpu", video_jobs_per_key=1000)  # fmt: skip
    storage = open_storage(settings)
    db = await open_database(settings)
    main_w = build_main_worker(env.client, settings, storage, db)
    gpu_w = build_gpu_worker(env.client, settings, storage, 1)
    rows: list[dict[str, Any]] = []
    try:
        async with main_w, gpu_w:
            key = await create_key(db, "bench", "editor")
            app = create_app(settings, temporal_client=env.client, db=db, storage=storage)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers={"X-API-Key": key},
                                         timeout=60) as http:  # fmt: skip
                buf = io.BytesIO()
                Image.new("RGB", (320, 180), (30, 90, 160)).save(buf, "PNG")
                up = (await http.post("/uploads", json={"filename": "still.png"})).json()
                await http.put(up["upload_url"], content=buf.getvalue())
                body = {"url_image": up["use_as"], "duration": args.seconds}
                for _ in range(args.warmup):
                    r = (await http.post("/video/img2vid", json=body)).json()
                    await wait_done(http, r["job_id"])
                await asyncio.sleep(6)  # let the queue's stats settle after the warm-up
                subs = []
                for _ in range(args.jobs):
                    subs.append((await http.post("/video/img2vid", json=body)).json())
                    await asyncio.sleep(args.gap)
                for sub in subs:
                    st = await wait_done(http, sub["job_id"])
                    t = st["timing"]
                    actual = (
                        datetime.fromisoformat(t["started_at"]) - datetime.fromisoformat(t["created_at"])
                    ).total_seconds()
                    est = sub["estimated_wait_s"]
                    rows.append({"estimate_s": est, "actual_s": round(actual, 2), "error_s": round(est - actual, 2),
                                 "backlog": sub["queue"]["backlog"], "workers": sub["queue"]["workers"],
                                 "run_estimate_s": sub["estimated_run_s"],
                                 "gpu_s": st["cost"]["gpu_seconds"]})  # fmt: skip
    finally:
        await db.close()
        await env.shutdown()
    errors = [abs(r["error_s"]) for r in rows]
    return {
        "bench": "video_wait_estimate",
        "machine": f"{platform.machine()} {os.cpu_count()} cores ({args.machine})",
        "jobs": args.jobs,
        "output_s": args.seconds,
        "mean_abs_error_s": round(statistics.mean(errors), 2),
        "max_abs_error_s": round(max(errors), 2),
        "mean_actual_wait_s": round(statistics.mean(r["actual_s"] for r in rows), 2),
        "rows": rows,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--gap", type=float, default=0.3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--machine", default="2-core shared dev box, loaded")
    print(json.dumps(asyncio.run(main(p.parse_args())), indent=2))
