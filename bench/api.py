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
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import json_stdout, machine, stack, summary, wait_until  # noqa: E402


async def run(n_productions: int, n_lists: int, database_url: str = "") -> dict[str, Any]:
    from service.client import review
    from tubeflow.contracts import Checkpoint, ReviewDecision

    result: dict[str, Any] = {}
    async with stack(database_url=database_url, prefix="tubeflow-bench-api-") as st, st.http() as http:
        env = st.env
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
        db = st.db

    result.update(
        {
            "bench": "api",
            "machine": machine(db),
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
    json_out = json_stdout()
    result = asyncio.run(run(args.productions, args.lists, args.database_url))
    print(json.dumps(result, indent=2), file=json_out, flush=True)
    # The Temporal SDK's core threads sometimes abort the interpreter during finalisation
    # ("PyGILState_Release ... finalizing"); everything is shut down and printed by now.
    os._exit(0)


if __name__ == "__main__":
    main()
