"""bench/load.py's whole code path at toy size: the real stack (dev server, worker and API processes),
5 productions over 2 channels, 3 live listeners, 2 approves; the JSON has every figure, each measured."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import run  # noqa: E402

pytestmark = pytest.mark.slow

LATENCIES = (
    "start_production",
    "approve",
    "review_queue_html",
    "review_queue_api",
    "production_list_api",
    "production_list_html",
    "production_page_html",
    "production_api",
)


def positive_summary(s: dict[str, Any], n: int) -> None:
    assert s["n"] == n, s
    assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"], s


@pytest.mark.timeout(120)
async def test_load_bench_small() -> None:
    out = await run(
        n_productions=5, n_channels=2, n_approve=2, n_listeners=3, n_reads=3, settle=True, settle_timeout_s=90
    )
    assert out["machine"]["cpus"] >= 1 and out["machine"]["database"] == "sqlite" and out["machine"]["python"]
    assert out["productions_waiting"] == 5 and out["channels"] == 2
    for busy in out["while_narration_runs"].values():
        positive_summary(busy, 1)
    for name in LATENCIES:
        positive_summary(out[name], 5 if name == "start_production" else 2 if name == "approve" else 3)
    # The two approved ones narrated and now wait at the audio checkpoint, the rest at the script's.
    assert out["waiting"] == {"script": 3, "audio": 2, "broll": 0, "final": 0}
    events = out["event_stream"]
    assert events["listeners"] == 3 and events["errors"] == []
    positive_summary(events["time_to_first_event"], 3)
    assert events["approves"] == 2 and events["approves_seen_by_every_listener"] == 2
    positive_summary(events["approve_to_event_at_listener"], 6)
    vis = out["visibility"]
    assert vis["list_by_stage"]["results"] == 5  # measured before the approves: all at review_script
    assert vis["count_by_stage"]["results"] == 5
    assert vis["list_by_channel_running"]["results"] == 3  # channel load-0 has productions 0, 2 and 4
    for q in vis.values():
        assert q["p50_ms"] > 0
    for when in ("rss_mb_all_waiting", "rss_mb_end"):
        rss = out[when]
        assert set(rss) == {"temporal_server", "worker", "api"}
        assert all(v is not None and v > 10 for v in rss.values()), rss
    assert out["database_bytes"] > 0 and out["database_bytes_per_production"] > 0
    assert isinstance(out["meets_target"], bool)
