"""A reviewer's edits of the b-roll plan at its checkpoint: every picture of a part, in order.

The checkpoint lists each part's pictures; the reviewer may swap one for a candidate (from any
source the planner asked: the niche library, the stock APIs, generated stills), remove one, move
one earlier or later, or put in a file of their own.  All of that arrives as one shape, per part
the keys to show in order (``BrollReviewEdits.parts``), and :func:`apply_layout` turns it into a
new plan: the part's time is shared equally by its pictures, as the planner shares it, and a
picture taken off screen becomes a candidate of its part, so every edit can be undone.

A reviewer's upload is probed when it arrives (:func:`store_upload`, used by the API) and again
when a plan names it (:func:`upload_item`), since the plan must only hold media the render can
decode.  Clips get a poster from their middle either way.
"""

from __future__ import annotations

import re
import uuid
from copy import deepcopy
from pathlib import Path, PurePosixPath

from activities.broll import CONTENT_TYPES, store_poster
from tubeflow.errors import MediaError, PermanentError
from tubeflow.keys import ProductionKeys
from tubeflow.media.probe import probe
from tubeflow.media.sniff import HEAD_BYTES, media_type
from tubeflow.render_plan import MediaItem, RenderPlan
from tubeflow.storage import Storage

UPLOAD_REASON = "chosen by the reviewer (uploaded)"


def part_index(name: str, plan: RenderPlan) -> int:
    """The plan part an edit names: ``"2"``, or ``"hook"`` for part 0."""
    raw = "0" if name == "hook" else str(name)
    indexes = sorted(p.index for p in plan.parts)
    if not raw.isdigit() or int(raw) not in indexes:
        raise PermanentError(f"b-roll edit names part {name!r}, but the plan has parts {indexes}")
    return int(raw)


def apply_layout(plan: RenderPlan, layout: dict[str, list[str]], uploads: dict[str, MediaItem]) -> RenderPlan:
    """``plan`` with each named part showing exactly ``layout[part]``, in that order.

    A key may be any picture of the plan (on screen or a candidate, of any part) or one of
    ``uploads``.  A part needs one picture at least, and no picture may be on screen twice: both
    are PermanentErrors that say what to change.
    """
    new = RenderPlan.from_json(plan.to_json())
    known: dict[str, MediaItem] = {}
    for p in new.parts:
        for m in [*p.items, *p.candidates]:
            known.setdefault(m.key, m)
    known.update(uploads)
    by_index = {p.index: p for p in new.parts}
    for name, keys in layout.items():
        part = by_index[part_index(name, plan)]
        if not keys:
            raise PermanentError(f"b-roll edit: part {part.index} ({part.label}) needs at least one picture")
        missing = [k for k in keys if k not in known]
        if missing:
            raise PermanentError(
                f"b-roll edit: {missing[0]!r} is not a picture of this plan nor an upload of this production; "
                "choose a candidate or upload the file again"
            )
        step = (part.end - part.start) / len(keys)
        items: list[MediaItem] = []
        for j, key in enumerate(keys):
            m = deepcopy(known[key])
            m.start = round(part.start + j * step, 3)
            m.end = round(part.end if j == len(keys) - 1 else part.start + (j + 1) * step, 3)
            items.append(m)
        dropped = [m for m in part.items if m.key not in keys]
        for m in dropped:
            m.start = m.end = 0.0
        kept = [c for c in part.candidates if c.key not in keys]
        part.items, part.candidates = items, dropped + kept
    on_screen: dict[str, int] = {}
    for p in new.parts:
        for m in p.items:
            if m.key in on_screen:
                raise PermanentError(
                    f"b-roll edit: {m.key!r} would be on screen twice (parts {on_screen[m.key]} and {p.index}); "
                    "a picture is shown once per video"
                )
            on_screen[m.key] = p.index
    return new


def layout_uploads(plan: RenderPlan, layout: dict[str, list[str]]) -> list[str]:
    """The keys ``layout`` names that the plan does not hold: they must be the reviewer's uploads."""
    known = {m.key for p in plan.parts for m in [*p.items, *p.candidates]}
    return list(dict.fromkeys(k for keys in layout.values() for k in keys if k not in known))


def _kind(path: Path, label: str) -> tuple[str, float]:
    """("image" | "video", duration) of a usable picture, else MediaError saying why not."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    mime = media_type(head) or ""
    if not mime.startswith(("image/", "video/")):
        raise MediaError(
            f"{label} is not a picture: b-roll takes a still image (JPEG, PNG, WebP) or a video clip (MP4, MOV, WebM)"
        )
    info = probe(path, label=label)  # decodes a frame: a truncated or corrupt file stops here
    if not info.has_video:
        raise MediaError(f"{label} has no picture (audio only); b-roll needs an image or a video")
    return ("image" if mime.startswith("image/") or info.is_image else "video"), info.duration_s


def safe_name(filename: str) -> str:
    """The uploaded file's name as a key piece (letters, digits, ``._-``), never empty or hidden."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(filename.replace("\\", "/")).name)[:80].lstrip(".")
    return name or "upload"


def store_upload(storage: Storage, production_id: str, filename: str, path: Path) -> MediaItem:
    """Probe the reviewer's file and store it (with a poster when it is a clip) for the plan to name."""
    label = f"the upload {filename!r}" if filename else "the upload"
    kind, duration = _kind(path, label)
    keys = ProductionKeys(production_id)
    name = safe_name(filename)
    key = keys.broll_upload(uuid.uuid4().hex[:12], name)
    storage.put_file(key, path, CONTENT_TYPES.get(PurePosixPath(name).suffix.lower()))
    poster = ""
    if kind == "video":
        poster = store_poster(storage, keys.broll_poster(PurePosixPath(key).name), path, duration)
    return _uploaded(key, kind, duration, poster, name)


def upload_item(storage: Storage, production_id: str, key: str) -> MediaItem:
    """The plan entry of an upload an edit names, probed again: only this production's uploads qualify."""
    keys = ProductionKeys(production_id)
    if not key.startswith(keys.broll_uploads_prefix) or not storage.exists(key):
        raise PermanentError(
            f"b-roll edit: {key!r} is not a picture of this plan nor an upload of this production; "
            "choose a candidate or upload the file again"
        )
    name = PurePosixPath(key).name
    local = storage.fetch(key)
    kind, duration = _kind(local, f"the upload {name!r}")
    poster = store_poster(storage, keys.broll_poster(name), local, duration) if kind == "video" else ""
    return _uploaded(key, kind, duration, poster, name.split("-", 1)[-1])


def _uploaded(key: str, kind: str, duration: float, poster: str, name: str) -> MediaItem:
    return MediaItem(
        key=key,
        kind=kind,
        source="upload",
        media_duration=round(duration, 3) if kind == "video" else 0.0,
        description=f"uploaded by the reviewer: {name}",
        reason=UPLOAD_REASON,
        poster=poster,
    )


def apply_edits(
    storage: Storage, production_id: str, plan: RenderPlan, layout: dict[str, list[str]], swaps: dict[str, str]
) -> RenderPlan:
    """Both kinds of b-roll edit: the per-part layout first, then the older one-item swaps."""
    from activities.broll import apply_swaps

    if layout:
        uploads = {k: upload_item(storage, production_id, k) for k in layout_uploads(plan, layout)}
        plan = apply_layout(plan, layout, uploads)
    if swaps:
        plan = apply_swaps(plan, swaps)
    return plan
