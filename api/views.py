"""Turning a production's status into what the API returns and the dashboard renders.

The workflow's status holds storage keys; people need URLs and, at a checkpoint, the thing under
review itself (the script text, the b-roll picks and their alternatives).  Both the JSON API and
the HTML pages go through :func:`production_view`, so they always show the same thing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from tubeflow.contracts import STAGES, ProductionStatus, production_workflow_id
from tubeflow.keys import ProductionKeys
from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage

log = logging.getLogger("tubeflow.api")


def media_url(key: str) -> str:
    return "/api/media/" + quote(key, safe="/")


def temporal_ui_url(settings: Settings, workflow_id: str) -> str:
    return (
        f"http://localhost:{settings.temporal_ui_port}/namespaces/{quote(settings.temporal_namespace)}"
        f"/workflows/{quote(workflow_id)}"
    )


def link(key: str) -> dict[str, str]:
    return {"key": key, "url": media_url(key)}


def artifact_links(artifacts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in artifacts.items():
        if isinstance(value, str) and value:
            out[name] = link(value)
        elif isinstance(value, list):
            out[name] = [link(v) for v in value if isinstance(v, str)]
    return out


def stage_index(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else 0


def _read_json(storage: Storage, key: str) -> Any:
    return json.loads(storage.get_text(key))


def _item(m: Any) -> dict[str, Any]:
    d = asdict(m)
    d["url"] = media_url(m.key)
    return d


def _metadata_preview(storage: Storage, production_id: str) -> dict[str, Any] | None:
    """The upload's title/description/tags as checked before the final review (see activities.calendar)."""
    key = ProductionKeys(production_id).metadata_preview()
    return _read_json(storage, key) if storage.exists(key) else None


def _voice_of(storage: Storage, timing_key: str | None) -> tuple[str, list[str]]:
    """Which voice of the chain spoke and why the ones before it did not (the timing records it;
    nothing for timings written before the voice chain)."""
    if not timing_key or not storage.exists(timing_key):
        return "", []
    timing = NarrationTiming.from_json(storage.get_text(timing_key))
    return timing.voice, timing.voice_notes


async def checkpoint_material(storage: Storage, status: ProductionStatus) -> dict[str, Any] | None:
    """What the reviewer looks at for the open checkpoint (None when no checkpoint is open)."""
    cp, arts = status.checkpoint, status.artifacts
    try:
        if cp == "script" and arts.script:
            script = await asyncio.to_thread(_read_json, storage, arts.script)
            sources = script.get("sources") or [{"claim": "", "source": s} for s in status.outputs.sources or []]
            return {"kind": "script", "script": script, "sources": sources}
        if cp == "audio" and arts.audio:
            voice, notes = await asyncio.to_thread(_voice_of, storage, arts.timing)
            return {
                "kind": "audio", "audio": link(arts.audio), "duration_s": status.outputs.narration_s,
                "voice": voice, "voice_notes": notes,
            }  # fmt: skip
        if cp == "broll" and arts.plan:
            plan = RenderPlan.from_dict(await asyncio.to_thread(_read_json, storage, arts.plan))
            parts = [
                {
                    "index": p.index,
                    "label": p.label,
                    "start": p.start,
                    "end": p.end,
                    "items": [_item(m) for m in p.items],
                    "candidates": [_item(m) for m in p.candidates],
                }
                for p in plan.parts
            ]
            preview = link(arts.preview) if arts.preview else None
            return {"kind": "broll", "parts": parts, "warnings": plan.warnings, "preview": preview}
        if cp == "final":
            thumbs = arts.thumbnails or []
            return {
                "kind": "final",
                "video": link(arts.video) if arts.video else None,
                "thumbnails": [link(k) for k in thumbs],
                "metadata": await asyncio.to_thread(_metadata_preview, storage, status.production_id),
            }
    except Exception as e:  # a missing or unreadable artifact must not hide the rest of the page
        log.warning("cannot load %s material for %s: %s", cp, status.production_id, e)
        return {"kind": cp, "error": f"cannot load the {cp} for review: {e}"}
    return None


async def production_view(
    settings: Settings, storage: Storage, status: ProductionStatus, source: str
) -> dict[str, Any]:
    wf_id = production_workflow_id(status.production_id)
    d = status.to_dict()
    d["id"] = status.production_id
    d["artifacts"] = artifact_links(status.artifacts.to_dict())
    d["artifact_keys"] = status.artifacts.to_dict()
    d["stage_index"] = stage_index(status.stage)
    d["workflow_id"] = wf_id
    d["workflow_url"] = temporal_ui_url(settings, wf_id)
    d["source"] = source  # "workflow" (live query) or "database" (the last snapshot)
    d["review"] = await checkpoint_material(storage, status)
    return d


def _seconds(s: float) -> str:
    """38 s, 2 min 5 s, 1 h 3 min: a duration as a person reads it."""
    whole = round(s)
    if whole < 60:
        return f"{s:.1f} s" if s < 10 else f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _usd(v: float) -> str:
    return f"${v:.2f}" if v >= 0.01 or v == 0 else f"${v:.4f}"


def outputs_in_words(outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """A production's outputs as (label, words-and-units) rows for the dashboard, never raw JSON.

    Keys shown elsewhere on the page (sources are listed at the script, the thumbnail is an image)
    or not meant for people are left out; a key this function does not know is still shown, as
    text, so nothing new is hidden."""
    rows: list[tuple[str, str]] = []
    o = outputs
    if o.get("narration_s") is not None:
        rows.append(("Narration", _seconds(float(o["narration_s"]))))
    render = o.get("render")
    if isinstance(render, dict):
        rows.append(("Video length", _seconds(float(render.get("duration_s") or 0))))
        rendered, total = render.get("segments_rendered"), render.get("segments_total")
        rows.append(("Encoder", str(render.get("encoder") or "unknown")))
        if total:
            rows.append(("Segments rendered", f"{rendered} of {total}"))
        if render.get("render_s") is not None:
            rows.append(("Render time", _seconds(float(render["render_s"]))))
    preview = o.get("preview")
    if isinstance(preview, dict):
        made = _seconds(float(preview.get("seconds") or 0))
        rows.append(("Preview", f"{preview.get('width')}×{preview.get('height')}, made in {made}"))
    if o.get("gpu_seconds") is not None:
        rows.append(("GPU time", _seconds(float(o["gpu_seconds"]))))
    priced = (("cost_usd", "GPU"), ("llm_cost_usd", "script writer"), ("tts_cost_usd", "voice"))
    costs = [(label, o[k]) for k, label in priced if o.get(k) is not None]
    if costs:
        total_usd = sum(float(v) for _, v in costs)
        parts = ", ".join(f"{label} {_usd(float(v))}" for label, v in costs)
        rows.append(("Cost", f"{_usd(total_usd)} ({parts})"))
    if o.get("llm_tokens") is not None:
        rows.append(("Script tokens", f"{int(o['llm_tokens']):,}"))
    if o.get("tts_characters") is not None:
        rows.append(("Voiced characters", f"{int(o['tts_characters']):,}"))
    if o.get("broll_warnings"):
        rows.append(("B-roll warnings", "; ".join(str(w) for w in o["broll_warnings"])))
    if o.get("published"):
        rows.append(("Published to", str(o["published"])))
    if o.get("video_id"):
        rows.append(("YouTube video", str(o["video_id"])))
    for i, where in enumerate(o.get("shorts") or [], 1):
        rows.append((f"Short {i}", str(where)))
    if o.get("sources"):
        rows.append(("Sources", f"{len(o['sources'])} (listed at the script review)"))
    known = {"narration_s", "render", "preview", "gpu_seconds", "cost_usd", "llm_cost_usd", "tts_cost_usd",
             "llm_tokens", "tts_characters", "broll_warnings", "published", "video_id", "shorts", "sources",
             "thumbnail"}  # fmt: skip
    for k, v in o.items():
        if k not in known and v not in (None, "", [], {}):
            rows.append((k.replace("_", " ").capitalize(), str(v)))
    return rows


def transcript(storage: Storage, timing_key: str) -> list[dict[str, Any]]:
    """The narration's parts with each word's time, for the audio checkpoint's transcript.

    The timing file holds each part's exact start and end; inside a part a word's time is spread
    by its length (characters), close enough to follow along and to seek to a word.  Empty when
    the timing cannot be read, so the page still shows the player."""
    try:
        timing = NarrationTiming.from_json(storage.get_text(timing_key))
    except Exception as e:  # the player alone is still a review
        log.warning("cannot read timing %s: %s", timing_key, e)
        return []
    parts = []
    for p in timing.parts:
        words = p.text.split()
        weights = [len(w) + 1 for w in words]
        total = sum(weights) or 1
        at, timed = p.start, []
        for w, weight in zip(words, weights, strict=True):
            span = (p.end - p.start) * weight / total
            timed.append({"w": w, "start": round(at, 2), "end": round(at + span, 2)})
            at += span
        label = "Hook" if p.kind == "hook" else f"Section {(p.section or 0) + 1}"
        parts.append({"label": label, "start": round(p.start, 2), "end": round(p.end, 2), "words": timed})
    return parts
