"""End to end: machine time from "produce" to "published" for the demo's video; prints ONE JSON object.

The demo's stack as ``tubeflow demo`` runs it (its own Temporal dev server on free ports, one
main worker and one GPU worker as separate processes, SQLite, local storage in a temporary home,
default 1920x1080 settings), the demo channel and topic, with every checkpoint auto-approved by the
production's review policy so no human wait is counted.  Reports the wall time of each stage
(polled every 0.2 s from the status query), the time to the long-form's publication, the time to
the end including Shorts, and both over the video's duration (target: <= 1.0).

Usage: python bench/e2e.py [--topic "Why is the sky blue?"] [--no-shorts]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def produce(settings: Any, topic: str, shorts: bool) -> dict[str, Any]:
    from cli.demo import DEMO_CHANNEL, DEMO_NICHE
    from niches.channel_profile import production_input
    from niches.config import load_niche
    from service.client import connect, get_status, new_production_id
    from tubeflow.channel_settings import parse_settings
    from tubeflow.contracts import CHECKPOINTS, PRODUCTION_WORKFLOW, production_workflow_id
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database

    db = await open_database(settings)
    client = await connect(settings)
    try:
        await repo.create_channel(db, DEMO_CHANNEL, DEMO_NICHE)
        ch = await repo.get_channel(db, DEMO_CHANNEL)
        pid = new_production_id()
        await repo.create_production(db, DEMO_CHANNEL, topic, production_workflow_id(pid), production_id=pid)
        inp = production_input(
            settings, pid, DEMO_CHANNEL, load_niche(ch.niche, settings), parse_settings(ch.settings), topic, shorts
        )
        inp = dataclasses.replace(inp, auto_approve=[str(c) for c in CHECKPOINTS])  # no human waits
        t0 = time.monotonic()
        await client.start_workflow(
            PRODUCTION_WORKFLOW, inp, id=production_workflow_id(pid), task_queue=settings.main_queue
        )
        stages: dict[str, float] = {}
        current, since, published_at = "", t0, None
        while True:
            st = await get_status(client, pid)
            now = time.monotonic()
            if st.stage != current:
                if current:
                    stages[current] = round(stages.get(current, 0.0) + now - since, 2)
                current, since = str(st.stage), now
            if published_at is None and st.stage in ("shorts", "done"):
                published_at = now
            if st.state.finished or st.state == "needs_attention":
                break
            await asyncio.sleep(0.2)
        total = time.monotonic() - t0
        if st.state != "completed":
            raise RuntimeError(f"production {pid} ended {st.state}: {st.error}")
        status = dataclasses.asdict(st)
        return {"production_id": pid, "stage_s": stages, "total_s": round(total, 2),
                "published_s": round((published_at or time.monotonic()) - t0, 2), "status": status}  # fmt: skip
    finally:
        await db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="Why is the sky blue?")
    ap.add_argument("--no-shorts", action="store_true")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tubeflow-e2e-") as home:
        # Private ports and queues: other stacks on this machine are never touched.
        os.environ.update({
            "TUBEFLOW_HOME": home,
            "TUBEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "TUBEFLOW_TEMPORAL_UI_PORT": str(free_port()),
            "TUBEFLOW_API_PORT": str(free_port()),
        })  # fmt: skip
        from cli.devstack import DevStack
        from tubeflow.settings import Settings

        settings = Settings.from_env()
        stack = DevStack(settings)
        load_before = os.getloadavg()
        try:
            stack.start_temporal()
            stack.start_workers()
            report = asyncio.run(produce(settings, args.topic, not args.no_shorts))
        finally:
            stack.stop()
    status = report.pop("status")
    video_s = float(status["outputs"]["render"]["duration_s"])
    out = {
        "video_s": round(video_s, 2),
        "shorts": len(status["outputs"].get("shorts") or []),
        "published_s": report["published_s"],
        "published_over_video": round(report["published_s"] / video_s, 3),
        "total_with_shorts_s": report["total_s"],
        "total_over_video": round(report["total_s"] / video_s, 3),
        "stage_s": report["stage_s"],
        "render": status["outputs"]["render"],
        "size": f"{settings.width}x{settings.height}@{settings.fps}",
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "note": args.note},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
