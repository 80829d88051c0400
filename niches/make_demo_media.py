"""Draws the science niche's small demo b-roll library (run once; the outputs are committed).

Real channels fill ``niches/<niche>/media/`` with their own photos and clips; the demo ships a
few drawn ones so the library path (name matching, clips next to stills) is exercised on a fresh
clone without shipping anyone's footage.  File names carry the words cues are matched against.
Deterministic: running it again gives the same pictures.  ``python niches/make_demo_media.py``
"""

from __future__ import annotations

import math
import random
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "science" / "media"
W, H = 960, 540


def sky_sunlight(path: Path) -> None:
    img = Image.linear_gradient("L").resize((W, H))
    top, bottom = Image.new("RGB", (W, H), (18, 86, 200)), Image.new("RGB", (W, H), (170, 215, 250))
    img = Image.composite(bottom, top, img)
    glow = Image.new("L", (W, H), 0)
    ImageDraw.Draw(glow).ellipse((650, 40, 850, 240), fill=255)
    glow = glow.filter(ImageFilter.GaussianBlur(60))
    img = Image.composite(Image.new("RGB", (W, H), (255, 250, 220)), img, glow)
    d = ImageDraw.Draw(img)
    d.ellipse((715, 105, 785, 175), fill=(255, 253, 235))
    rng = random.Random(1)
    for _ in range(5):  # a few soft clouds
        x, y = rng.randint(0, W), rng.randint(250, 480)
        for k in range(6):
            r = rng.randint(30, 60)
            d.ellipse((x + k * 35 - r, y - r // 2, x + k * 35 + r, y + r // 2), fill=(245, 248, 252))
    img.filter(ImageFilter.GaussianBlur(2)).save(path, quality=80)


def rainbow_prism(path: Path) -> None:
    img = Image.new("RGB", (W, H), (12, 14, 28))
    d = ImageDraw.Draw(img)
    d.line((0, 300, 420, 270), fill=(255, 255, 255), width=6)
    d.polygon([(380, 380), (560, 380), (470, 170)], outline=(200, 220, 255), fill=(40, 50, 80))
    colours = [(255, 0, 0), (255, 127, 0), (255, 240, 0), (0, 200, 0), (0, 120, 255), (75, 0, 130), (148, 0, 211)]
    for i, c in enumerate(colours):
        d.polygon([(505, 275), (512, 285), (W, 230 + i * 30), (W, 200 + i * 30)], fill=c)
    img.filter(ImageFilter.GaussianBlur(1.5)).save(path, quality=80)


def earth_orbit(path: Path) -> None:
    img = Image.new("RGB", (W, H), (5, 8, 20))
    d = ImageDraw.Draw(img)
    rng = random.Random(2)
    for _ in range(250):
        x, y, b = rng.randint(0, W), rng.randint(0, H), rng.randint(80, 255)
        d.point((x, y), fill=(b, b, b))
    d.ellipse((130, 170, 830, 370), outline=(90, 110, 160), width=2)
    d.ellipse((430, 220, 530, 320), fill=(255, 200, 60))
    cx, cy, r = 790, 300, 34
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(40, 110, 200))
    d.chord((cx - r, cy - r, cx + r, cy + r), 200, 340, fill=(60, 160, 80))
    tilt = math.radians(23.4)
    d.line((cx - 55 * math.sin(tilt), cy - 55 * math.cos(tilt), cx + 55 * math.sin(tilt), cy + 55 * math.cos(tilt)),
           fill=(230, 230, 230), width=2)  # fmt: skip
    img.save(path, quality=80)


def black_hole_clip(path: Path, seconds: float = 3.0, fps: int = 15) -> None:
    """A slowly turning accretion disc: a real clip, so the render's video path runs in the demo."""
    import imageio_ffmpeg

    w, h = 640, 360
    rng = random.Random(3)
    stars = [(rng.randint(0, w), rng.randint(0, h), rng.randint(90, 255)) for _ in range(160)]
    frames = int(seconds * fps)
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "slow", "-crf", "30",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in range(frames):
        img = Image.new("RGB", (w, h), (2, 2, 8))
        d = ImageDraw.Draw(img)
        for x, y, b in stars:
            d.point((x, y), fill=(b, b, b))
        angle = f / frames * 2 * math.pi / 3
        for k in range(36):
            a = angle + k * math.pi / 18
            rx, ry = 170, 48
            cx, cy = w / 2 + rx * math.cos(a), h / 2 + ry * math.sin(a)
            heat = 150 + int(100 * (0.5 + 0.5 * math.cos(a)))
            d.ellipse((cx - 14, cy - 6, cx + 14, cy + 6), fill=(255, heat, 60))
        img = img.filter(ImageFilter.GaussianBlur(3))
        ImageDraw.Draw(img).ellipse((w / 2 - 45, h / 2 - 45, w / 2 + 45, h / 2 + 45), fill=(0, 0, 0))
        proc.stdin.write(img.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sky_sunlight(OUT / "blue-sky-sunlight-clouds.jpg")
    rainbow_prism(OUT / "rainbow-prism-light-spectrum.jpg")
    earth_orbit(OUT / "earth-orbit-sun-seasons-planets.jpg")
    black_hole_clip(OUT / "black-hole-space-stars.mp4")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total // 1024} KB, in {OUT}")


if __name__ == "__main__":
    main()
