"""A multi-host run on this machine (issue 21 item 2): bench/multihost.py puts the control plane and
two GPU worker hosts in their own network namespaces, renders one production across both hosts and
cuts one host's link while it encodes a segment.

Runs where the machine allows it (root, iproute2, ``ip netns add`` permitted) and says why it
skipped otherwise.  The script is run as an operator would, and its JSON is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.multihost import preflight  # noqa: E402

pytestmark = pytest.mark.postgres


def test_a_production_renders_across_two_hosts_and_survives_a_cut_link() -> None:
    reason = preflight()
    if reason:
        pytest.skip(f"multi-host run not possible here: {reason}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "multihost.py"), "--timeout", "600"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads(done.stdout)
    assert figures["production_state"] == "completed", figures
    by_host = figures["segments_by_host"]
    assert set(by_host) == {"gpu1", "gpu2"}, f"both hosts encode segments: {by_host}"
    cut = figures["cut"]
    assert cut is not None and cut["in_flight"], "host 1's link went down while it encoded a segment"
    # Only what the cut host held in flight is encoded again; nothing else is redone.
    assert figures["lost_beyond_in_flight"] == []
    assert set(figures["segments_encoded_again"]) <= set(cut["in_flight"])
    assert set(figures["segments_encoded_again"]) == set(cut["in_flight"]), "the lost segment was redone elsewhere"
    # Published exactly once: the long-form and its Shorts, one file each.
    published = figures["published_files"]
    assert len(published) == len(set(published)) and any("short" not in p for p in published), published
