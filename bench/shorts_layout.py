"""Native Shorts vs the blurred band, and the four caption styles: frames to look at, and render time.

Renders one plan (a generated title card with its portrait twin, a still whose subject stands off
centre, a clip) as a Short in the ``native`` layout and in the old ``blur`` layout, REPEATS times
each, alternating, and prints ONE JSON object: wall seconds per layout (median), the ratio, the
content fraction of both (gpu_activities/portrait_fill.py), and the caption checks of the native
text layout.  Writes the frames shown in the README (docs/frames/) and the caption-style stills the
dashboard's channel page shows (api/static/captions/<style>.png, committed; rerun after changing
gpu_activities/captions.py).

Usage: python bench/shorts_layout.py [--width 640] [--repeats 3] [--out FILE] [--no-images | --stills-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from activities.stills import card_name, make_still  # noqa: E402
from gpu_activities.portrait_fill import video_content_fraction  # noqa: E402
from gpu_activities.render import render_production  # noqa: E402
from gpu_activities.shorts import render_short  # noqa: E402
from niches.config import CaptionStyle  # noqa: E402
from tests.mediagen import color_bars_clip, tone_wav  # noqa: E402
from tubeflow.quality_report import TextLayout, caption_overlaps, captions_outside  # noqa: E402
from tubeflow.render_plan import MediaItem, PlanPart, RenderPlan, ShortRange  # noqa: E402
from tubeflow.settings import Settings  # noqa: E402

PALETTE = ["#1d3557", "#457b9d", "#a8dadc", "#e63946"]
STYLES = ("karaoke", "word-pop", "boxed", "classic")
TEXT = "light from the low sun crosses more air so blue scatters away and the reds reach your eyes at dusk"
WORDS = [{"word": w, "start": round(0.1 + i * 0.42, 3), "end": round(0.1 + i * 0.42 + 0.38, 3)}
         for i, w in enumerate(TEXT.split())]  # fmt: skip


def photo_like(path: Path, width: int, height: int) -> Path:
    """A sunset-ish picture with its subject (the sun, a city edge) right of centre."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(img)
    for y in range(height):
        t = y / height
        d.line((0, y, width, y), fill=(int(40 + 200 * t), int(60 + 60 * t), int(140 - 80 * t)))
    cx, cy, r = int(width * 0.72), int(height * 0.55), height // 7
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 214, 120))
    rng = np.random.default_rng(5)
    x = 0
    while x < width:
        bw, bh = int(rng.integers(width // 40, width // 14)), int(rng.integers(height // 10, height // 3))
        d.rectangle((x, height - bh, x + bw, height), fill=(25, 20, 35))
        for wy in range(height - bh + 6, height - 4, 10):
            for wx in range(x + 3, x + bw - 3, 8):
                if rng.random() < 0.4:
                    d.rectangle((wx, wy, wx + 3, wy + 4), fill=(255, 220, 150))
        x += bw + int(rng.integers(0, width // 60 + 1))
    img = img.filter(ImageFilter.SMOOTH)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def make_media(d: Path, width: int, height: int, settings: Settings) -> dict[str, Path]:
    card = make_still(d / "card.jpg", "Why sunsets glow red", (width, height), PALETTE, 7, settings, "Light and air",
                      fact="At dusk sunlight crosses more air, so blue scatters away.", portrait=True)  # fmt: skip
    return {
        "card": card,
        "photo": photo_like(d / "photo.png", width, height),
        "clip": color_bars_clip(d / "clip.mp4", 2.5, width, height, 15),
        "voice": tone_wav(d / "voice.wav", 8.0),
    }


def plan_for(m: dict[str, Path], width: int, height: int) -> RenderPlan:
    meta = json.loads(m["card"].with_name(card_name(m["card"].name)).read_text())
    meta["portrait_key"] = str(m["card"].with_name(meta.pop("portrait")))
    return RenderPlan(
        width=width, height=height, fps=15, duration_s=8.0, title="Why sunsets glow red",
        parts=[
            PlanPart(0, "hook", 0.0, 2.5, [MediaItem(str(m["card"]), "image", "generated", start=0.0, end=2.5,
                                                     card=meta)]),
            PlanPart(1, "The long way through the air", 2.5, 5.5,
                     [MediaItem(str(m["photo"]), "image", "library", start=2.5, end=5.5)]),
            PlanPart(2, "Blue goes first", 5.5, 8.0, [MediaItem(str(m["clip"]), "video", "library", start=5.5,
                                                                end=8.0, media_duration=2.5)]),
        ],
    )  # fmt: skip


def frames(path: Path, at_s: list[float], fps: int = 15) -> list[np.ndarray]:
    import av

    want = {round(t * fps) for t in at_s}
    got: dict[int, np.ndarray] = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                got[i] = f.to_ndarray(format="rgb24")
    return [got[round(t * fps)] for t in at_s if round(t * fps) in got]


def save(img: np.ndarray, path: Path, width: int | None = None) -> None:
    from PIL import Image

    im = Image.fromarray(img)
    if width:
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, optimize=True)


def strip(images: list[np.ndarray], gap: int = 6) -> np.ndarray:
    h = max(i.shape[0] for i in images)
    pad = np.full((h, gap, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for i in images:
        parts += [i, pad]
    return np.concatenate(parts[:-1], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--no-images", action="store_true")
    ap.add_argument("--stills-only", action="store_true", help="only re-render the channel page's caption stills")
    args = ap.parse_args()
    width, height = args.width, args.width * 9 // 16 // 2 * 2
    with tempfile.TemporaryDirectory(prefix="tubeflow-shorts-bench-") as tmp:
        d = Path(tmp)
        s = Settings.from_env().with_overrides(home=d, width=width, height=height, fps=15, video_quality="fast",
                                               force_cpu=True, segment_seconds=30.0)  # fmt: skip
        m = make_media(d / "media", width, height, s)
        plan = plan_for(m, width, height)
        if args.stills_only:
            write_caption_stills(d, m, plan, s)
            return
        rng = ShortRange(0.0, 7.5)
        times: dict[str, list[float]] = {"native": [], "blur": []}
        outs: dict[str, Path] = {}
        layouts: dict[str, Path] = {}
        for rep in range(args.repeats):
            for layout in ("native", "blur"):
                out = d / f"{layout}-{rep}.mp4"
                t0 = time.monotonic()
                stats = render_short(plan, m["voice"], WORDS, rng, out, d / f"w-{layout}-{rep}", s, reframe=layout)
                times[layout].append(time.monotonic() - t0)
                outs[layout] = out
                assert stats.text_layout is not None
                layouts[layout] = stats.text_layout
        native_layout = TextLayout.from_json(layouts["native"].read_text())
        result: dict[str, Any] = {
            "what": "one 7.5 s Short of a 3-picture plan, native vs blur layout, CPU libx264 'fast'",
            "size": f"{height}x{height * 16 // 9 // 2 * 2} from {width}x{height}",
            "repeats": args.repeats,
            "wall_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
            "all_wall_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
            "content_fraction": {k: round(video_content_fraction(p), 3) for k, p in outs.items()},
            "native_caption_overlaps": len(caption_overlaps(native_layout)),
            "native_captions_outside_safe_zone": len(captions_outside(native_layout)),
        }
        result["native_over_blur"] = round(result["wall_s"]["native"] / result["wall_s"]["blur"], 3)
        if not args.no_images:
            write_images(d, m, plan, outs, s)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def write_images(d: Path, m: dict[str, Path], plan: RenderPlan, outs: dict[str, Path], s: Settings) -> None:
    """README frames (docs/frames/) and the dashboard's caption-style stills (api/static/captions/)."""
    at = [1.0, 3.4, 6.2]
    save(strip(frames(outs["native"], at)), ROOT / "docs/frames/short-native.png", 900)
    save(strip(frames(outs["blur"], at)), ROOT / "docs/frames/short-blur.png", 900)
    shots = write_caption_stills(d, m, plan, s)
    save(strip(shots[:2]), ROOT / "docs/frames/caption-styles-1.png", 900)
    save(strip(shots[2:]), ROOT / "docs/frames/caption-styles-2.png", 900)


def caption_crop(frame: np.ndarray, layout: TextLayout, at_s: float) -> np.ndarray:
    """A 16:9 window of 60% of the frame's width around the caption on screen at ``at_s``: the
    channel page shows each still about 240 px wide, where a whole frame's caption (some 5% of
    its height) is too small to tell one style from another."""
    h, w = frame.shape[:2]
    ww = round(w * 0.6 / 16) * 16
    wh = ww * 9 // 16
    caps = [b.rect for b in layout.boxes if b.kind == "caption" and b.start <= at_s < b.end]
    if not caps:
        return frame
    r = caps[0]
    x = min(max(round(r.x + r.w / 2 - ww / 2), 0), w - ww)
    y = min(max(round(r.y + r.h / 2 - wh * 0.62), 0), h - wh)
    return frame[y : y + wh, x : x + ww]


def write_caption_stills(d: Path, m: dict[str, Path], plan: RenderPlan, s: Settings) -> list[np.ndarray]:
    """One frame per caption style (a still, no motion); the dashboard's stills are cropped around
    the caption (:func:`caption_crop`).  Returns the whole frames (the README shows those)."""
    one = RenderPlan(plan.width, plan.height, plan.fps, 4.0, [PlanPart(0, "x", 0.0, 4.0, [MediaItem(
        str(m["photo"]), "image", "library", start=0.0, end=4.0)])], ken_burns=False)  # fmt: skip
    voice = tone_wav(d / "voice4.wav", 4.0)
    shots = []
    for kind in STYLES:
        out = d / f"style-{kind}.mp4"
        stats = render_production(one, voice, WORDS, out, d / f"style-{kind}", s, caption_style=CaptionStyle(kind=kind))
        (frame,) = frames(out, [1.5])
        assert stats.text_layout is not None
        layout = TextLayout.from_json(stats.text_layout.read_text())
        save(caption_crop(frame, layout, 1.5), ROOT / f"api/static/captions/{kind}.png", 320)
        shots.append(frame)
    return shots


if __name__ == "__main__":
    main()
