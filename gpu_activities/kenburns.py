"""Ken Burns motion for stills, as FFmpeg filter expressions.

Why this shape: zoompan's famous jitter comes from cropping at whole *source* pixels of an image
smaller than the output, so each rounding step is magnified.  We scale the still once (Lanczos)
to OVERSCAN times the output size and let zoompan crop that: a rounding step is then at most
1/OVERSCAN of an output pixel, and every crop is a downscale (never blurry).  zoompan on a 4:2:0
frame rounds its crop to even pixels (chroma alignment), which made the centre wobble 1.8 output
pixels (the smoothness test allows 1); on 4:4:4 it is smooth but re-samples twice the pixels.  So
the three planes are moved separately (each a gray frame: whole-pixel crops, luma at full size,
chroma at its own half size) and merged back: 4:4:4 smoothness for 4:2:0 work (measured on a
1080p still: 420 1.50, 444 3.56, planes 1.77 CPU-s per 300 frames).  Motion is a pure function of
the frame's position inside the visual, so a segment that starts in the middle of a still
continues the motion exactly where the previous segment stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

OVERSCAN = 1.5
ZOOM = 0.12  # total zoom change over one still


@dataclass(frozen=True)
class Motion:
    """Zoom goes z0 -> z1; the crop centre goes (cx0, cy0) -> (cx1, cy1), as fractions of the frame."""

    z0: float
    z1: float
    cx0: float = 0.5
    cy0: float = 0.5
    cx1: float = 0.5
    cy1: float = 0.5


MOTIONS: tuple[Motion, ...] = (
    Motion(1.0, 1.0 + ZOOM),  # push in
    Motion(1.0 + ZOOM, 1.0, 0.45, 0.45, 0.5, 0.5),  # pull out
    Motion(1.0 + ZOOM, 1.0 + ZOOM, 0.42, 0.5, 0.58, 0.5),  # pan right
    Motion(1.0 + ZOOM * 0.5, 1.0 + ZOOM, 0.56, 0.55, 0.46, 0.46),  # drift up-left while pushing in
)


def motion_for(index: int) -> Motion:
    return MOTIONS[index % len(MOTIONS)]


def even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def overscan_size(width: int, height: int) -> tuple[int, int]:
    return even(width * OVERSCAN), even(height * OVERSCAN)


def zoompan_filter(motion: Motion, width: int, height: int, fps: int, frames: int, first: int, length: int) -> str:
    """zoompan emitting ``frames`` frames of a still whose motion spans ``length`` frames.

    ``first`` is the index of this segment's first frame inside the still's own run, so
    progress p = (first + on) / (length - 1) is continuous across segment cuts.
    """
    span = max(length - 1, 1)
    p = f"(({first}+on)/{span})"
    z = f"({motion.z0}+({motion.z1 - motion.z0})*{p})"
    cx = f"({motion.cx0}+({motion.cx1 - motion.cx0})*{p})"
    cy = f"({motion.cy0}+({motion.cy1 - motion.cy0})*{p})"
    # Crop centre at (cx, cy) of the source, clamped so the crop stays inside the image.
    x = f"max(0,min(iw-iw/zoom,iw*{cx}-iw/zoom/2))"
    y = f"max(0,min(ih-ih/zoom,ih*{cy}-ih/zoom/2))"
    return f"zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps}"


def crop_at(width: int, height: int, focus: tuple[float, float] | None) -> str:
    """Crop to width x height: centred, or centred on ``focus`` (fractions) and kept inside the picture."""
    if focus is None:
        return f"crop={width}:{height}"
    fx, fy = focus
    return f"crop={width}:{height}:'max(0,min(iw-ow,iw*{fx}-ow/2))':'max(0,min(ih-oh,ih*{fy}-oh/2))'"


def prescale(width: int, height: int, pix_fmt: str, focus: tuple[float, float] | None = None) -> str:
    """Scale a still once to cover width x height (Lanczos, BT.709 limited range) and crop the excess
    (around ``focus``, the picture's subject, when a portrait Short crops a landscape picture)."""
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos:"
        f"out_range=tv:out_color_matrix=bt709,format={pix_fmt},{crop_at(width, height, focus)},setsar=1"
    )


def _planes_zoompan(motion: Motion, width: int, height: int, fps: int, frames: int, first: int, length: int,
                    tag: str) -> str:  # fmt: skip
    """zoompan each plane of a 4:2:0 frame on its own (see the module docstring), then merge them."""
    zy = zoompan_filter(motion, width, height, fps, frames, first, length)
    zc = zoompan_filter(motion, width // 2, height // 2, fps, frames, first, length)
    return (
        f"extractplanes=y+u+v[{tag}y][{tag}u][{tag}v];[{tag}y]{zy}[{tag}zy];[{tag}u]{zc}[{tag}zu];"
        f"[{tag}v]{zc}[{tag}zv];[{tag}zy][{tag}zu][{tag}zv]"
        "mergeplanes=map0s=0:map0p=0:map1s=1:map1p=0:map2s=2:map2p=0:format=yuv420p"
    )


def still_chain(
    width: int,
    height: int,
    fps: int,
    frames: int,
    *,
    first: int,
    length: int,
    index: int,
    ken_burns: bool,
    motion: Motion | None = None,
    focus: tuple[float, float] | None = None,
) -> str:
    """Filter chain turning one decoded still into ``frames`` frames at the output size.

    Used by the render's segments and by img2vid alike, so the smoothness test covers both.
    """
    if not ken_burns:
        still = prescale(width, height, "yuv420p", focus)
        return f"{still},loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N"
    ow, oh = overscan_size(width, height)
    zp = _planes_zoompan(motion or motion_for(index), width, height, fps, frames, first, length, f"kb{index}")
    return f"{prescale(ow, oh, 'yuv420p', focus)},{zp},setsar=1,settb=1/{fps},setpts=N"
