"""Peak memory of a long render (default 10 minutes of 1080p): the GPU worker's memory target.

Prints one JSON object.  `SECS=600 python bench/render_memory.py`; THREADS limits FFmpeg threads.
Memory is the render process plus its FFmpeg children, sampled every 0.1 s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.render import FPS, H, PeakRss, W, make_project  # noqa: E402
from gpu_activities.render import render_production  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402


def main() -> None:
    seconds = float(os.environ.get("SECS", "600"))
    threads = int(os.environ.get("THREADS", "0"))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = Settings(home=d, width=W, height=H, fps=FPS, segment_seconds=10.0, ffmpeg_threads=threads)
        plan, voice, music, words = make_project(d / "media", seconds)
        with PeakRss() as rss:
            t0 = time.monotonic()
            stats = render_production(plan, voice, words, d / "full.mp4", d / "w", s, music=music)
            elapsed = time.monotonic() - t0
    print(
        json.dumps(
            {
                "seconds_of_video": seconds,
                "render_s": round(elapsed, 1),
                "peak_rss_mib": round(rss.peak / 2**20, 1),
                "segments": stats.segments_total,
                "frames": stats.frames_encoded,
                "encoder": stats.encoder,
                "ffmpeg_threads": threads,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
