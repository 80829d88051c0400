"""The quality report of the demo production (long-form and both Shorts): prints ONE JSON object.

Either measures a demo already produced (``--home`` a TUBEFLOW_HOME where ``tubeflow demo`` ran:
it reads ``demo-report.json`` there), or produces one first in a fresh home with its own ports
(``tubeflow demo --yes``: about 2 minutes on the 2-core dev box), then runs
gpu_activities/quality.py on the rendered files with the plan and the text layout the render
stored beside each (``short-0.text.json``), as the production's own report does.  The voice MOS
table of bench/voice_mos.py is folded in from bench/results/ when it is there.

Usage: python bench/quality.py [--home DIR] [--out FILE]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_run import demo_arguments, demo_files, demo_home, print_result, text_layout  # noqa: E402
from gpu_activities.quality import measure_video  # noqa: E402
from gpu_activities.shorts import sub_plan  # noqa: E402
from tubeflow.render_plan import RenderPlan, pick_ranges  # noqa: E402


def measure(home: Path) -> dict[str, Any]:
    demo = demo_files(home)
    plan, pid = demo.plan, demo.production_id
    ranges = pick_ranges(plan, len(demo.shorts))
    videos: list[tuple[str, Path, RenderPlan, str]] = [("long", demo.video, plan, "bottom")]
    for i, (f, rng) in enumerate(zip(demo.shorts, ranges, strict=False)):
        videos.append((f"short-{i}", f, sub_plan(plan, rng), "center"))
    out: dict[str, Any] = {}
    for name, path, p, position in videos:
        t0 = time.perf_counter()
        r = measure_video(path, video=name, plan=p, layout=text_layout(path), caption_position=position)
        out[name] = {**r.to_dict(), "measure_s": round(time.perf_counter() - t0, 2)}
    return {"production_id": pid, "render": demo.report["status"]["outputs"].get("render"), "videos": out}


def main() -> None:
    args = demo_arguments("the quality report of the demo production").parse_args()
    with tempfile.TemporaryDirectory(prefix="tubeflow-quality-") as tmp:
        home, produced_s = demo_home(args.home, tmp, (17533, 18533, 18511))
        result = {
            "bench": "bench/quality.py: the quality report of the demo production",
            "machine": "2-core dev box, shared with other jobs, no GPU (libx264)",
            "demo_s": produced_s,
            **measure(home),
        }
    mos = ROOT / "bench" / "results" / "voice_mos-2core.json"
    if mos.is_file():
        result["voice_mos"] = json.loads(mos.read_text())["table"]
    print_result(result, args.out)


if __name__ == "__main__":
    main()
