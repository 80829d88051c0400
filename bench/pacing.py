"""Pacing of the demo production: the longest static shot and the cuts per minute, measured with
FFmpeg scene detection on the rendered long-form and Shorts (gpu_activities/quality.measure_pacing,
captions masked where the render's text layout beside each video says they are, as in the
production's own report), against the channel's limits (3.5 s long-form, 2.0 s Shorts by default).
Prints ONE JSON object.

Either measures a demo already produced (``--home`` a TUBEFLOW_HOME where ``tubeflow demo`` ran),
or produces one first in a fresh home on its own ports (``tubeflow demo --yes``: about 2 minutes
on the 2-core dev box; the ports go through the environment, so the workers the demo starts use
them too).  Optionally writes PNG frames around every shot change and segment cut (``--frames``).

Usage: python bench/pacing.py [--home DIR] [--out FILE] [--frames DIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_run import demo_arguments, demo_files, demo_home, print_result, text_layout  # noqa: E402
from gpu_activities.quality import measure_pacing  # noqa: E402
from gpu_activities.timeline import build_visuals, plan_segments, total_frames  # noqa: E402
from tubeflow.media.ffmpeg import ffmpeg_exe  # noqa: E402


def frames_at(video: Path, times: list[float], out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for t in times:
        name = out / f"{video.stem}-{t:06.2f}.png"
        subprocess.run(
            [ffmpeg_exe(), "-loglevel", "error", "-y", "-ss", f"{max(t, 0):.3f}", "-i", str(video),
             "-frames:v", "1", "-vf", "scale=640:-2", str(name)],
            check=True,
        )  # fmt: skip
        names.append(name.name)
    return names


def measure(home: Path, frames: Path | None) -> dict[str, Any]:
    demo = demo_files(home)
    plan, pid = demo.plan, demo.production_id
    videos = [("long", demo.video, plan.max_shot_s, "bottom")]
    for f in demo.shorts:
        videos.append((f.stem, f, plan.shorts_max_shot_s, "center"))
    out: dict[str, Any] = {}
    for name, path, limit, position in videos:
        t0 = time.perf_counter()
        static, cuts = measure_pacing(path, max_shot_s=limit, caption_position=position, layout=text_layout(path))
        out[name] = {
            "max_shot_s": limit,
            "longest_static_shot_s": static.value,
            "passed": static.passed,
            "message": static.message,
            "cuts_per_minute": cuts.value,
            "changes": [m.start for m in cuts.moments],
            "measure_s": round(time.perf_counter() - t0, 2),
        }
    items = plan.all_items()
    seg_frames = total_frames(plan.duration_s, plan.fps)
    visuals = build_visuals(plan, seg_frames)
    cuts_at = [s.start / plan.fps for s in plan_segments(visuals, seg_frames, plan.fps, 5.0)[1:]]
    result: dict[str, Any] = {
        "production_id": pid,
        "pictures": len(items),
        "distinct_pictures": len({m.key for m in items}),
        "shots": len(visuals),
        "render": demo.report["status"]["outputs"].get("render"),
        "videos": out,
    }
    if frames is not None:
        long_video = demo.video
        changes = out["long"]["changes"]
        around = sorted(
            {round(t + d, 2) for t in changes[:4] for d in (-0.2, 0.3)}
            | {round(cuts_at[0] + d, 2) for d in (-0.1, 0.1)}
        )
        result["frames"] = frames_at(long_video, around, frames)
        result["segment_cuts_s"] = [round(c, 3) for c in cuts_at]
    return result


def main() -> None:
    ap = demo_arguments("longest static shot and cuts per minute of the demo production")
    ap.add_argument("--frames", type=Path, help="write PNG frames around shot changes and a segment cut here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tubeflow-pacing-") as tmp:
        home, produced_s = demo_home(args.home, tmp, (17733, 18733, 18711))
        result = {
            "bench": "bench/pacing.py: longest static shot and cuts per minute of the demo production",
            "machine": "2-core dev box, shared with other jobs, no GPU (libx264)",
            "demo_s": produced_s,
            **measure(home, args.frames),
        }
    print_result(result, args.out)


if __name__ == "__main__":
    main()
