"""Preview benchmark: prints ONE JSON object.

The b-roll checkpoint's preview (gpu_activities/preview.py: 480 lines, half frame rate above 24
fps, fast preset, captions burned, same plan, narration and music) against the full render of the
same project (bench/render.py's generated 1080p30 project: 10 stills, 2 clips, voice, music,
captions), on the same machine in the same run, each measured --repeat times (best kept, so a
neighbour's burst on a shared machine counts less).  Target: preview_s <= 0.15 * render_s.

Usage: python bench/preview.py [--seconds 60] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.render import child_cpu_s, make_project  # noqa: E402
from gpu_activities.preview import preview_plan, preview_settings  # noqa: E402
from gpu_activities.render import render_production  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    settings = Settings.from_env()
    out: dict[str, object] = {"seconds": args.seconds, "cpu_count": os.cpu_count(), "machine": platform.node()}
    with tempfile.TemporaryDirectory(prefix="tubeflow-bench-preview-") as tmp:
        d = Path(tmp)
        plan, voice, music, words = make_project(d, args.seconds)
        small = preview_plan(plan)
        runs: dict[str, list[tuple[float, float]]] = {"render": [], "preview": []}
        for r in range(args.repeat):
            for name, p, s in (("render", plan, settings), ("preview", small, preview_settings(settings, small))):
                c0, t0 = child_cpu_s(), time.monotonic()
                stats = render_production(p, voice, words, d / f"{name}{r}.mp4", d / f"w-{name}{r}", s, music=music)
                runs[name].append((time.monotonic() - t0, child_cpu_s() - c0))
                out[f"{name}_encoder"] = stats.encoder
        for name, got in runs.items():
            out[f"{name}_s"] = round(min(t for t, _ in got), 2)
            out[f"{name}_cpu_s"] = round(min(c for _, c in got), 2)
            out[f"{name}_all_s"] = [round(t, 2) for t, _ in got]
        out["preview_size"] = f"{small.width}x{small.height}@{small.fps}"
        out["render_size"] = f"{plan.width}x{plan.height}@{plan.fps}"
        out["ratio_preview_over_render"] = round(float(out["preview_s"]) / float(out["render_s"]), 3)  # type: ignore[arg-type]
        out["cpu_ratio_preview_over_render"] = round(
            float(out["preview_cpu_s"]) / float(out["render_cpu_s"]),  # type: ignore[arg-type]
            3,
        )
        out["target_met"] = out["ratio_preview_over_render"] <= 0.15  # type: ignore[operator]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
