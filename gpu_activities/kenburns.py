"""Ken Burns motion for stills, as FFmpeg filter expressions: which framing each shot gets, and how
it moves.

Why this shape: zoompan's famous jitter comes from cropping at whole *source* pixels of an image
smaller than the output, so each rounding step is magnified.  We scale the still once (Lanczos)
to OVERSCAN times the output size and let zoompan crop that: a rounding step is then at most
1/OVERSCAN of an output pixel, and every crop is a downscale (never blurry).  zoompan on a 4:2:0
frame rounds its crop to even pixels (chroma alignment), which made the centre wobble 1.8 output
pixels (the smoothness test allows 1); on 4:4:4 it is smooth but re-samples twice the pixels.  So
the three planes are moved separately (each a gray frame: whole-pixel crops, luma at full size,
chroma at its own half size) and merged back: 4:4:4 smoothness for 4:2:0 work (measured on a
1080p still: 420 1.50, 444 3.56, planes 1.77 CPU-s per 300 frames).

What moves where (:func:`move_for`): a picture is scaled to cover the frame, and what is left
over along its long axis is kept (up to :data:`MAX_CANVAS` frames' worth) so the camera can pan
along it; a picture shaped like the frame is pushed towards its subject (found by the b-roll
stage, ``MediaItem.focus_x/y``) or panned across it at a tighter framing.  Shots of one picture
alternate wide and tight framings, so the hard cut between them reads as a punch-in, never as a
hiccup.  Every move runs between two framings that both lie inside the picture, interpolated
linearly, so the crop is never clamped: clamping is what made the old pan stand still for its
first and last sixth and then jump to the next picture.  Motion is a pure function of the
frame's position inside its shot, so a segment that starts in the middle of a shot continues the
motion exactly where the previous segment stopped (tests/test_pacing.py measures it across a cut).
"""

from __future__ import annotations

from dataclasses import dataclass

OVERSCAN = 1.5
ZOOM = 0.12  # total zoom change over one still (img2vid's default move)
MAX_CANVAS = 2.0  # a picture's long axis keeps at most this many frame widths (or heights) to pan along
LONG_AXIS = 0.08  # a picture this much wider (or taller) than the frame pans along its long axis
PAN_SPEED = 0.07  # how fast a pan travels: frame widths (or heights) per second
PUSH_SECONDS = 3.0  # a push changes the framing by its full amount over a shot this long (less if shorter)


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
)


def motion_for(index: int) -> Motion:
    return MOTIONS[index % len(MOTIONS)]


def even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def overscan_size(width: int, height: int) -> tuple[int, int]:
    return even(width * OVERSCAN), even(height * OVERSCAN)


# --- framings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A frame-shaped window on the picture's canvas: its centre in canvas pixels and its size as a
    fraction ``s`` of the largest one (1: it spans the canvas's short side)."""

    cx: float
    cy: float
    s: float


@dataclass(frozen=True)
class Move:
    """One shot's camera: from window ``a`` to window ``b`` over the shot (``kind`` names it)."""

    kind: str  # push | pull | pan
    a: Window
    b: Window


@dataclass(frozen=True)
class Canvas:
    """The still as the shot sees it: scaled to cover the overscanned frame (``ow`` x ``oh``), with
    the long axis kept up to ``cw`` x ``ch``; ``crop_x/y`` is where that canvas lies in the scaled
    picture (the excess beyond MAX_CANVAS is cut around the subject)."""

    cw: int
    ch: int
    ow: int
    oh: int
    crop_x: int = 0
    crop_y: int = 0
    focus: tuple[float, float] = (0.5, 0.5)  # the subject, in canvas fractions

    @property
    def long_axis(self) -> str:
        return "x" if self.cw > self.ow else "y" if self.ch > self.oh else ""


def canvas_for(
    width: int, height: int, pic_w: int = 0, pic_h: int = 0, focus: tuple[float, float] = (0.5, 0.5)
) -> Canvas:
    """The canvas of a ``pic_w`` x ``pic_h`` picture for a ``width`` x ``height`` frame (sizes 0: unknown,
    treated as shaped like the frame)."""
    ow, oh = overscan_size(width, height)
    fx, fy = (min(max(f, 0.0), 1.0) for f in focus)
    if pic_w <= 0 or pic_h <= 0:
        return Canvas(ow, oh, ow, oh, focus=(fx, fy))
    pa, oa = pic_w / pic_h, ow / oh
    cw, ch = ow, oh
    if pa > oa * (1 + LONG_AXIS):
        cw = even(min(oh * pa, ow * MAX_CANVAS))
    elif pa < oa / (1 + LONG_AXIS):
        ch = even(min(ow / pa, oh * MAX_CANVAS))
    k = max(cw / pic_w, ch / pic_h)  # cover scale
    sw, sh = pic_w * k, pic_h * k
    x0 = int(min(max(sw * fx - cw / 2, 0.0), max(sw - cw, 0.0)))
    y0 = int(min(max(sh * fy - ch / 2, 0.0), max(sh - ch, 0.0)))
    return Canvas(cw, ch, ow, oh, x0, y0, ((sw * fx - x0) / cw, (sh * fy - y0) / ch))


def _fit(c: Canvas, cx: float, cy: float, s: float) -> Window:
    """The window at (cx, cy) of size s, moved just enough to lie inside the canvas."""
    ww, wh = c.ow * s, c.oh * s
    return Window(min(max(cx, ww / 2), c.cw - ww / 2), min(max(cy, wh / 2), c.ch - wh / 2), s)


def _pan(c: Canvas, s: float, forward: bool, seconds: float) -> Move:
    """Along the long axis (sideways for a frame-shaped picture), as near the subject as the
    picture allows, at an even speed whatever the shot's length."""
    fx, fy = c.focus[0] * c.cw, c.focus[1] * c.ch
    vertical = c.long_axis == "y"
    size, room, at = (c.oh * s, c.ch, fy) if vertical else (c.ow * s, c.cw, fx)
    lo, hi = size / 2, room - size / 2  # where the window's centre may be
    d = min(PAN_SPEED * seconds * (c.oh if vertical else c.ow), hi - lo) / 2
    mid = min(max(at, lo + d), hi - d)  # the whole travel inside the picture, not clamped at one end
    if vertical:
        a, b = _fit(c, fx, mid - d, s), _fit(c, fx, mid + d, s)
    else:
        a, b = _fit(c, mid - d, fy, s), _fit(c, mid + d, fy, s)
    return Move("pan", a, b) if forward else Move("pan", b, a)


def _push(c: Canvas, s0: float, s1: float, from_centre: bool, seconds: float) -> Move:
    """From ``s0`` towards ``s1`` (the whole way over PUSH_SECONDS), ending on the subject."""
    fx, fy = c.focus[0] * c.cw, c.focus[1] * c.ch
    share = min(1.0, seconds / PUSH_SECONDS)
    s1 = s0 + (s1 - s0) * share
    cx0, cy0 = (c.cw / 2, c.ch / 2) if from_centre else (fx, fy)
    start = (cx0 + (fx - cx0) * (1 - share), cy0 + (fy - cy0) * (1 - share))
    return Move("push" if s1 < s0 else "pull", _fit(c, *start, s0), _fit(c, fx, fy, s1))


def move_for(c: Canvas, item: int, shot: int, seconds: float = PUSH_SECONDS) -> Move:
    """Shot ``shot`` (``seconds`` long) of the ``item``-th picture: even shots wide, odd shots
    tight, so the cut between two shots of one picture is a clear change of framing (at least
    1.3 times in size), and neighbouring pictures start with different moves."""
    phase = (shot + 2 * (item % 2)) % 4
    forward = (item + shot // 2) % 2 == 0
    t = max(seconds, 0.1)
    if c.long_axis:
        if shot % 2 == 0:
            return _pan(c, 1.0, forward, t)  # the whole short side, travelling along the long one
        return _push(c, 0.7, 0.58, False, t) if phase in (0, 1) else _pan(c, 0.62, forward, t)
    return (
        _push(c, 1.0, 0.86, True, t),  # wide: a slow push from the whole picture to its subject
        _pan(c, 0.6, forward, t),  # tight: across the subject
        _pan(c, 0.88, forward, t),  # wide: a gentle sideways drift
        _push(c, 0.66, 0.56, False, t),  # tight: into the subject
    )[phase]


# --- filter graphs -----------------------------------------------------------------------------


def zoompan_filter(motion: Motion, width: int, height: int, fps: int, frames: int, first: int, length: int) -> str:
    """zoompan emitting ``frames`` frames of a still whose motion spans ``length`` frames.

    ``first`` is the index of this segment's first frame inside the still's own run, so
    progress p = (first + on) / (length - 1) is continuous across segment cuts.
    """
    p = _progress(first, length, "on")
    z = f"({motion.z0}+({motion.z1 - motion.z0})*{p})"
    cx = f"({motion.cx0}+({motion.cx1 - motion.cx0})*{p})"
    cy = f"({motion.cy0}+({motion.cy1 - motion.cy0})*{p})"
    return _zoompan(z, cx, cy, (width, height), fps, frames)


def _progress(first: int, length: int, frame: str) -> str:
    """How far through the still's own run of ``length`` frames the filter's frame ``frame`` (zoompan's
    ``on``, crop's ``n``) is, 0..1, counted from ``first`` so it runs on across segment cuts."""
    return f"(({first}+{frame})/{max(length - 1, 1)})"


def _zoompan(z: str, cx: str, cy: str, size: tuple[int, int], fps: int, frames: int) -> str:
    """The zoompan filter at zoom ``z`` with the crop centred at (``cx``, ``cy``) of the source
    (fractions), clamped so the crop stays inside the image."""
    x = f"max(0,min(iw-iw/zoom,iw*{cx}-iw/zoom/2))"
    y = f"max(0,min(ih-ih/zoom,ih*{cy}-ih/zoom/2))"
    return f"zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s={size[0]}x{size[1]}:fps={fps}"


def crop_at(width: int, height: int, focus: tuple[float, float] | None) -> str:
    """Crop to width x height: centred, or centred on ``focus`` (fractions) and kept inside the picture."""
    if focus is None:
        return f"crop={width}:{height}"
    fx, fy = focus
    return f"crop={width}:{height}:'max(0,min(iw-ow,iw*{fx}-ow/2))':'max(0,min(ih-oh,ih*{fy}-oh/2))'"


def _zoom_filter(s0: float, s1: float, c0: tuple[float, float], c1: tuple[float, float], size: tuple[int, int],
                 fps: int, frames: int, first: int, length: int) -> str:  # fmt: skip
    """zoompan with the window's size (not the zoom) linear in time: a window moving linearly
    between two windows inside the picture stays inside it, so the clamp never bites."""
    p = _progress(first, length, "on")
    z = f"1/({s0:.6f}+({s1 - s0:.6f})*{p})"
    cx = f"({c0[0]:.6f}+({c1[0] - c0[0]:.6f})*{p})"
    cy = f"({c0[1]:.6f}+({c1[1] - c0[1]:.6f})*{p})"
    return _zoompan(z, cx, cy, size, fps, frames)


def _plane_crop_pan(m: Move, c: Canvas, scale: float, out: tuple[int, int], first: int, length: int) -> str:
    """A fixed-size window sliding across one plane (``scale``: that plane's size against luma)."""
    p = _progress(first, length, "n")
    w = max(2, int(round(c.ow * m.a.s * scale)))
    h = max(2, int(round(c.oh * m.a.s * scale)))
    x0, x1 = (m.a.cx - c.ow * m.a.s / 2) * scale, (m.b.cx - c.ow * m.b.s / 2) * scale
    y0, y1 = (m.a.cy - c.oh * m.a.s / 2) * scale, (m.b.cy - c.oh * m.b.s / 2) * scale
    x = f"min(iw-{w},max(0,{x0:.4f}+({x1 - x0:.4f})*{p}))"
    y = f"min(ih-{h},max(0,{y0:.4f}+({y1 - y0:.4f})*{p}))"
    return f"crop=w={w}:h={h}:x='{x}':y='{y}':exact=1,scale={out[0]}:{out[1]}:flags=bicubic,setsar=1"


def _planes(luma: str, chroma: str, tag: str) -> str:
    """Run ``luma`` on the Y plane and ``chroma`` on U and V (see the module docstring), then merge."""
    return (
        f"extractplanes=y+u+v[{tag}y][{tag}u][{tag}v];[{tag}y]{luma}[{tag}zy];[{tag}u]{chroma}[{tag}zu];"
        f"[{tag}v]{chroma}[{tag}zv];[{tag}zy][{tag}zu][{tag}zv]"
        "mergeplanes=map0s=0:map0p=0:map1s=1:map1p=0:map2s=2:map2p=0:format=yuv420p"
    )


def prescale(width: int, height: int, pix_fmt: str, crop_x: int | None = None, crop_y: int | None = None) -> str:
    """Scale a still once to cover width x height (Lanczos, BT.709 limited range) and crop the excess
    (centred, or from ``crop_x/y`` of the scaled picture)."""
    at = ""
    if crop_x is not None and crop_y is not None:
        at = f":x='min({crop_x},iw-{width})':y='min({crop_y},ih-{height})'"
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos:"
        f"out_range=tv:out_color_matrix=bt709,format={pix_fmt},crop={width}:{height}{at},setsar=1"
    )


def _planes_zoompan(motion: Motion, width: int, height: int, fps: int, frames: int, first: int, length: int,
                    tag: str) -> str:  # fmt: skip
    """zoompan each plane of a 4:2:0 frame on its own (see the module docstring), then merge them."""
    zy = zoompan_filter(motion, width, height, fps, frames, first, length)
    zc = zoompan_filter(motion, width // 2, height // 2, fps, frames, first, length)
    return _planes(zy, zc, tag)


def move_chain(m: Move, c: Canvas, width: int, height: int, fps: int, frames: int, first: int, length: int,
               tag: str) -> str:  # fmt: skip
    """The planes of the canvas moved by ``m``: zoompan when the window changes size, a sliding
    crop when it keeps its size (a pan along a long picture has no frame-shaped region to zoom in)."""
    if m.a.s != m.b.s:
        # Zoom inside the frame-shaped region that holds both windows (the whole canvas when the
        # picture is shaped like the frame), positions relative to that region.
        rx = min(max((m.a.cx + m.b.cx) / 2, c.ow / 2), c.cw - c.ow / 2) - c.ow / 2
        ry = min(max((m.a.cy + m.b.cy) / 2, c.oh / 2), c.ch - c.oh / 2) - c.oh / 2
        region = ""
        if (c.cw, c.ch) != (c.ow, c.oh):
            region = f"crop={c.ow}:{c.oh}:{int(rx)}:{int(ry)},"
            rx, ry = float(int(rx)), float(int(ry))

        def rel(w: Window) -> tuple[float, float]:
            return ((w.cx - rx) / c.ow, (w.cy - ry) / c.oh)

        zy = _zoom_filter(m.a.s, m.b.s, rel(m.a), rel(m.b), (width, height), fps, frames, first, length)
        zc = _zoom_filter(m.a.s, m.b.s, rel(m.a), rel(m.b), (width // 2, height // 2), fps, frames, first, length)
        return region + _planes(zy, zc, tag)
    # The still's one frame repeated; fps= also sets the stream's rate (xfade checks it).
    loop = f"loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,fps={fps},"
    py = _plane_crop_pan(m, c, 1.0, (width, height), first, length)
    pc = _plane_crop_pan(m, c, 0.5, (width // 2, height // 2), first, length)
    return loop + _planes(py, pc, tag)


def static_chain(m: Move, c: Canvas, width: int, height: int) -> str:
    """Ken Burns off: the shot's first framing, held (shots still differ in framing)."""
    w, h = even(c.ow * m.a.s), even(c.oh * m.a.s)
    x, y = int(m.a.cx - w / 2), int(m.a.cy - h / 2)
    return f"crop={w}:{h}:{max(0, x)}:{max(0, y)},scale={width}:{height}:flags=lanczos,setsar=1"


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
    picture: tuple[int, int] = (0, 0),
    focus: tuple[float, float] = (0.5, 0.5),
    item: int | None = None,
    shot: int = 0,
    hold: bool = False,
) -> str:
    """Filter chain turning one decoded still into ``frames`` frames at the output size.

    ``motion`` is a fixed zoom (img2vid); ``hold`` keeps the move's first frame still (a looping
    Short's end); otherwise the shot's move is chosen by :func:`move_for` from the picture's size,
    its subject and which shot of which picture this is.  Used by the render's segments and by
    img2vid alike, so the smoothness test covers both.
    """
    tag = f"kb{index}"
    if motion is not None:
        ow, oh = overscan_size(width, height)
        zp = _planes_zoompan(motion, width, height, fps, frames, first, length, tag)
        return f"{prescale(ow, oh, 'yuv420p')},{zp},setsar=1,settb=1/{fps},setpts=N"
    c = canvas_for(width, height, picture[0], picture[1], focus)
    m = move_for(c, index if item is None else item, shot, length / fps)
    pre = prescale(c.cw, c.ch, "yuv420p", c.crop_x, c.crop_y)
    if hold:  # the move's first window, still (a looping Short's end), through the same filters
        m = Move(m.kind, m.a, m.a)
    if not ken_burns:
        held = f"loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,fps={fps}"
        return f"{pre},{static_chain(m, c, width, height)},{held}"
    chain = move_chain(m, c, width, height, fps, frames, first, length, tag)
    return f"{pre},{chain},setsar=1,settb=1/{fps},setpts=N"
