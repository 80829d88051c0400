"""The quality report of the demo production (long-form and both Shorts): prints ONE JSON object.

Either measures a demo already produced (``--home`` a TUBEFLOW_HOME where ``tubeflow demo`` ran:
it reads ``demo-report.json`` there), or produces one first in a fresh home with its own ports
(``tubeflow demo --yes``: about 2 minutes on the 2-core dev box), then runs
gpu_activities/quality.py on the rendered files with the plan.  The voice MOS table of
bench/voice_mos.py is folded in from bench/results/ when it is there.

Usage: python bench/quality.py [--home DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpu_activities.quality import measure_video  # noqa: E402
from gpu_activities.shorts import sub_plan  # noqa: E402
from tubeflow.render_plan import RenderPlan, pick_ranges  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402


def produce(home: Path) -> None:
    from rich.console import Console

    from cli.demo import run_demo

    settings = Settings.from_env().with_overrides(
        home=home, temporal_address="localhost:17533", temporal_ui_port=18533, api_port=18511
    )
    run_demo(settings, yes=True, topic="Why is the sky blue?", console=Console(stderr=True))


def measure(home: Path) -> dict[str, Any]:
    report = json.loads((home / "demo-report.json").read_text())
    storage = home / "storage"
    artifacts = report["status"]["artifacts"]
    plan = RenderPlan.from_json((storage / artifacts["plan"]).read_text())
    pid = report["production_id"]
    shorts_dir = storage / "productions" / pid / "shorts"
    short_files = sorted(shorts_dir.glob("short-*.mp4"))
    ranges = pick_ranges(plan, len(short_files))
    videos: list[tuple[str, Path, RenderPlan, str]] = [("long", storage / artifacts["video"], plan, "bottom")]
    for i, (f, rng) in enumerate(zip(short_files, ranges, strict=False)):
        videos.append((f"short-{i}", f, sub_plan(plan, rng), "center"))
    out: dict[str, Any] = {}
    for name, path, p, position in videos:
        t0 = time.perf_counter()
        r = measure_video(path, video=name, plan=p, caption_position=position)
        out[name] = {**r.to_dict(), "measure_s": round(time.perf_counter() - t0, 2)}
    return {"production_id": pid, "render": report["status"]["outputs"].get("render"), "videos": out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, help="a TUBEFLOW_HOME where `tubeflow demo` already ran")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tubeflow-quality-") as tmp:
        home = args.home
        produced_s = None
        if home is None:
            home = Path(tmp)
            t0 = time.perf_counter()
            produce(home)
            produced_s = round(time.perf_counter() - t0, 1)
        result = {
            "bench": "bench/quality.py: the quality report of the demo production",
            "machine": "2-core dev box, shared with other jobs, no GPU (libx264)",
            "demo_s": produced_s,
            **measure(home),
        }
    mos = ROOT / "bench" / "results" / "voice_mos-2core.json"
    if mos.is_file():
        result["voice_mos"] = json.loads(mos.read_text())["table"]
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
