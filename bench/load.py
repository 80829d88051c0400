"""Waiting at checkpoints: API latency with 500 productions waiting for a person; prints ONE JSON object.

The stack of bench/api.py (bench/stack.py: Temporal dev server, one main worker, the API under
uvicorn, as separate processes), here with many productions at once.  Nothing is stubbed: every
production runs the real ProductionWorkflow with the offline providers (the default settings
with no API keys), which are cheap up to the script checkpoint (research and script are a fraction
of a second each), so the box holds 500 of them without a stub chain.  Phases:

1. ``--productions`` started through the API, spread over ``--channels`` channels, until every one
   waits at the script checkpoint (start latency and the time until all wait are reported).
2. ``--listeners`` live event streams (/api/events, one viewer key each, as many reviewers'
   dashboards) connect at once; time to their first event is measured.
3. With all waiting and the listeners connected: ``--reads`` requests each of the review queue (its
   HTML page, and the JSON list it reads), the production list (JSON and HTML), one production's
   page (HTML and JSON, a random production each time), and Temporal visibility queries by the
   app's search attributes.
4. ``--approve`` productions approved through the API (a Temporal Update), one after the other:
   approve latency, and how long each approve's event takes to reach every listener.
5. The review queue and the list again while the approved ones synthesise narration (the offline
   Piper voice) on both cores; with ``settle`` (the smoke test) the run then waits until they wait
   at the audio checkpoint, so the waiting productions spread over two checkpoints.
6. RSS of the Temporal dev server, the worker and the API, and the database's size.

    python bench/load.py [--productions 500] [--channels 5] [--approve 100] [--listeners 50]
                         [--reads 200] [--database-url postgresql://127.0.0.1:5432/test]
                         [--out bench/results/load-2core.json]

With ``--database-url`` the bench creates a database of its own on that server (dropped after) so
its size is the run's.  Target: p95 of approve and of the review queue <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (  # noqa: E402
    ROOT,
    Stack,
    fresh_postgres,
    json_stdout,
    machine,
    stack,
    summary,
    timed,
    wait_until,
)

TARGET_P95_MS = 100


@dataclass
class Listener:
    """One live feed: when it opened, when its first event came, and when it saw each production move."""

    opened: float = 0.0
    first_event: float | None = None
    seen: dict[str, float] = field(default_factory=dict)  # production id -> first review/stage event after a mark
    watching: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


async def listen(st: Stack, key: str, since: int, who: Listener, ready: asyncio.Event) -> None:
    who.opened = time.perf_counter()
    try:
        async with (
            st.http(key, timeout=None) as http,
            http.stream("GET", "/api/events", params={"since": since}) as r,
        ):
            if r.status_code != 200:
                who.errors.append(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
                ready.set()
                return
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                now = time.perf_counter()
                if who.first_event is None:
                    who.first_event = now
                    ready.set()
                event = json.loads(line[5:])
                pid = event.get("production_id")
                if pid in who.watching and pid not in who.seen and event.get("kind") in ("review", "stage"):
                    who.seen[pid] = now
    except Exception as e:  # noqa: BLE001 - reported in the JSON, the bench goes on
        who.errors.append(repr(e))
        ready.set()


async def db_size_bytes(st: Stack) -> int:
    db = st.db
    if db.dialect == "sqlite":
        from sqlalchemy.engine import make_url

        base = Path(str(make_url(db.url).database))
        return sum(p.stat().st_size for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists())
    from sqlalchemy import text

    async with db.session() as s:
        return int((await s.execute(text("SELECT pg_database_size(current_database())"))).scalar_one())


async def run(
    n_productions: int = 500,
    n_channels: int = 5,
    n_approve: int = 100,
    n_listeners: int = 50,
    n_reads: int = 200,
    database_url: str = "",
    settle: bool = False,
    settle_timeout_s: float = 1800,
) -> dict[str, Any]:
    from api.auth import create_key
    from tubeflow.db import repo

    channels = tuple(f"load-{i}" for i in range(n_channels))
    result: dict[str, Any] = {"bench": "load"}
    async with stack(database_url=database_url, channels=channels, prefix="tubeflow-bench-load-") as st:
        result["machine"] = {**machine(st.db), "temporal": "dev server (in-memory SQLite), one main worker, one API"}
        viewer_keys = [await create_key(st.db, f"viewer-{i}", "viewer") for i in range(n_listeners)]
        rng = random.Random(21)
        async with st.http() as http:
            # 1. Start them, a few requests in flight, as a cadence or several editors would.
            ids: list[str] = []
            start_ms: list[float] = []
            gate = asyncio.Semaphore(4)

            async def start_one(i: int) -> None:
                async with gate:
                    t = time.perf_counter()
                    body = {"channel": channels[i % n_channels], "topic": f"Why is the sky blue? #{i}"}
                    r = await http.post("/api/productions", json=body)
                    start_ms.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    ids.append(r.json()["id"])

            t0 = time.perf_counter()
            await asyncio.gather(*(start_one(i) for i in range(n_productions)))
            result["start_production"] = {**summary(start_ms, p99=True), "in_flight": 4}
            result["seconds_to_start_all"] = round(time.perf_counter() - t0, 1)

            async def waiting_count() -> int:
                return await repo.count_productions(st.db, state="waiting")

            async def all_waiting() -> bool:
                return await waiting_count() >= n_productions

            await wait_until(all_waiting, settle_timeout_s, f"{n_productions} productions at the script checkpoint", 1)
            result["seconds_until_all_waiting_at_script"] = round(time.perf_counter() - t0, 1)
            result["rss_mb_all_waiting"] = st.rss_mb()

            # 2. The listeners: each starts one event back, so its first event is due at once.
            mark = await latest_event_id(st)
            listeners = [Listener() for _ in range(n_listeners)]
            readies = [asyncio.Event() for _ in listeners]
            tasks = [
                asyncio.create_task(listen(st, k, max(0, mark - 1), who, ready))
                for k, who, ready in zip(viewer_keys, listeners, readies, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
            firsts = [(w.first_event - w.opened) * 1000 for w in listeners if w.first_event is not None]
            result["event_stream"] = {
                "listeners": n_listeners,
                "time_to_first_event": summary(firsts, p99=True),
                "errors": sorted({e for w in listeners for e in w.errors})[:5],
            }

            # 3. Reads with all of them waiting and the listeners connected.
            result.update(await measure_reads(st, http, ids, n_reads, rng))
            result["visibility"] = await measure_visibility(st.env.client, channels, n_reads)

            # 4. Approves through the API, with every listener told to watch for that production.
            to_approve = rng.sample(ids, min(n_approve, len(ids)))
            sent: dict[str, float] = {}
            approve_ms: list[float] = []
            for pid in to_approve:
                for w in listeners:
                    w.watching.add(pid)
                sent[pid] = t = time.perf_counter()
                r = await http.post(f"/api/productions/{pid}/approve", json={"stage": "script"})
                approve_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
            result["approve"] = summary(approve_ms, p99=True)

            async def all_delivered() -> bool:
                return all(len(w.seen) >= len(to_approve) for w in listeners if not w.errors)

            with contextlib.suppress(TimeoutError):
                await wait_until(all_delivered, 300, "every approve's event at every listener")
            lag = [(w.seen[pid] - sent[pid]) * 1000 for w in listeners for pid in to_approve if pid in w.seen]
            result["event_stream"]["approve_to_event_at_listener"] = summary(lag, p99=True)
            result["event_stream"]["approves_seen_by_every_listener"] = sum(
                all(pid in w.seen for w in listeners) for pid in to_approve
            )
            result["event_stream"]["approves"] = len(to_approve)

            # 5. The review queue again while the approved ones synthesise narration on both cores.
            busy = max(1, n_reads // 4)
            result["while_narration_runs"] = {
                "review_queue_html": summary(await timed(busy, lambda i: ok(http, "/review")), p99=True),
                "production_list_api": summary(await timed(busy, lambda i: ok(http, "/api/productions")), p99=True),
            }
            result["rss_mb_while_narration_runs"] = st.rss_mb()
            if settle:
                # The approved ones narrate, then wait at the audio checkpoint: all wait again.
                t1 = time.perf_counter()
                await wait_until(all_waiting, settle_timeout_s, "the approved productions at the audio checkpoint", 1)
                result["seconds_until_approved_wait_at_audio"] = round(time.perf_counter() - t1, 1)
            result["waiting"] = {
                cp: await repo.count_productions(st.db, state="waiting", stage=f"review_{cp}")
                for cp in ("script", "audio", "broll", "final")
            }

            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        # Memory and storage at the end.
        result["rss_mb_end"] = st.rss_mb()
        result["database_bytes"] = await db_size_bytes(st)
        result["database_bytes_per_production"] = round(result["database_bytes"] / max(1, n_productions))

    result["productions_waiting"] = n_productions
    result["channels"] = n_channels
    result["target_p95_ms"] = TARGET_P95_MS
    result["meets_target"] = (
        result["approve"]["p95_ms"] <= TARGET_P95_MS and result["review_queue_html"]["p95_ms"] <= TARGET_P95_MS
    )
    return result


async def latest_event_id(st: Stack) -> int:
    from api.dbview import latest_event_id as newest

    return await newest(st.db)


async def ok(http: Any, path: str, **params: Any) -> Any:
    r = await http.get(path, params=params or None)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r


async def measure_reads(st: Stack, http: Any, ids: list[str], n: int, rng: random.Random) -> dict[str, Any]:
    """Every page and list a reviewer opens, ``n`` times each (a random production for the pages)."""

    picks = [rng.choice(ids) for _ in range(n)]
    out: dict[str, Any] = {}
    out["review_queue_html"] = summary(await timed(n, lambda i: ok(http, "/review")), p99=True)
    out["review_queue_api"] = summary(
        await timed(n, lambda i: ok(http, "/api/productions", state="waiting", limit=200)), p99=True
    )
    out["production_list_api"] = summary(await timed(n, lambda i: ok(http, "/api/productions")), p99=True)
    out["production_list_html"] = summary(await timed(n, lambda i: ok(http, "/")), p99=True)
    out["production_page_html"] = summary(await timed(n, lambda i: ok(http, f"/productions/{picks[i]}")), p99=True)
    out["production_api"] = summary(await timed(n, lambda i: ok(http, f"/api/productions/{picks[i]}")), p99=True)
    return out


async def measure_visibility(client: Any, channels: tuple[str, ...], n: int) -> dict[str, Any]:
    """Temporal's list and count by the search attributes the workflows set (TubeflowChannel, TubeflowStage)."""
    queries = {
        "list_by_stage": 'TubeflowStage = "review_script"',
        "list_by_channel_running": f'TubeflowChannel = "{channels[0]}" AND ExecutionStatus = "Running"',
    }
    out: dict[str, Any] = {}
    for name, q in queries.items():
        found: list[int] = []

        async def listing(_: int, q: str = q, found: list[int] = found) -> None:
            found.append(len([wf async for wf in client.list_workflows(q)]))

        out[name] = {**summary(await timed(max(1, n // 4), listing), p99=True), "query": q, "results": found[-1]}
    counted: list[int] = []

    async def counting(_: int) -> None:
        counted.append((await client.count_workflows('TubeflowStage = "review_script"')).count)

    out["count_by_stage"] = {
        **summary(await timed(max(1, n // 4), counting), p99=True),
        "query": 'TubeflowStage = "review_script"',
        "results": counted[-1],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--productions", type=int, default=500)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--approve", type=int, default=100)
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL server the bench may create a database on (default SQLite)"
    )
    parser.add_argument(
        "--out", default="", help="write the JSON here too (default bench/results/load[-pg]-2core.json)"
    )
    parser.add_argument("--no-out", action="store_true", help="print only")
    args = parser.parse_args()
    json_out = json_stdout()

    async def go() -> dict[str, Any]:
        async with contextlib.AsyncExitStack() as scope:
            url = await scope.enter_async_context(fresh_postgres(args.database_url)) if args.database_url else ""
            return await run(args.productions, args.channels, args.approve, args.listeners, args.reads, url)
        raise AssertionError("unreachable")

    result = asyncio.run(go())
    text = json.dumps(result, indent=2)
    print(text, file=json_out, flush=True)
    if not args.no_out:
        default = "load-pg-2core.json" if args.database_url else "load-2core.json"
        Path(args.out or ROOT / "bench" / "results" / default).write_text(text + "\n")
    # The Temporal SDK's core threads sometimes abort the interpreter during finalisation
    # ("PyGILState_Release ... finalizing"); everything is shut down and printed by now.
    os._exit(0)


if __name__ == "__main__":
    main()
