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
from tubeflow.quality_report import LABELS
from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.script_citations import cited_sources, uncited_sources
from tubeflow.script_diff import diff_scripts
from tubeflow.script_schema import validate_script
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


def broll_item(m: Any) -> dict[str, Any]:
    """A plan picture as the checkpoint shows it: its URL, and its poster's for a clip that has one."""
    d = asdict(m)
    d["url"] = media_url(m.key)
    if m.poster:
        d["poster_url"] = media_url(m.poster)
    return d


def _metadata_preview(storage: Storage, production_id: str) -> dict[str, Any] | None:
    """The upload's title/description/tags as checked before the final review (see activities.calendar)."""
    key = ProductionKeys(production_id).metadata_preview()
    return _read_json(storage, key) if storage.exists(key) else None


def _script_changes(storage: Storage, production_id: str, attempt: int, script: dict[str, Any]) -> dict[str, Any]:
    """What this redo changed against the attempt before it (the edited text where an approval
    edited it), for the script checkpoint; nothing when that attempt cannot be read."""
    keys = ProductionKeys(production_id)
    for key in (keys.script(attempt - 1, "-edited"), keys.script(attempt - 1)):
        if storage.exists(key):
            try:
                before = validate_script(_read_json(storage, key))
                return {"previous_attempt": attempt - 1, "diff": diff_scripts(before, validate_script(script))}
            except Exception as e:  # an old or damaged file must not hide the script under review
                log.warning("cannot compare script attempts of %s: %s", production_id, e)
                return {}
    return {}


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
            material: dict[str, Any] = {"kind": "script", "script": script}
            if script.get("sources"):  # what the narration says, as published; the rest is named apart
                material["sources"], material["uncited_sources"] = cited_sources(script), uncited_sources(script)
            else:
                material["sources"] = [{"claim": "", "source": s} for s in status.outputs.sources or []]
            attempt = status.attempts.get("script", 1)
            if attempt > 1:
                material.update(
                    await asyncio.to_thread(_script_changes, storage, status.production_id, attempt, script)
                )
            return material
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
                    "items": [broll_item(m) for m in p.items],
                    "candidates": [broll_item(m) for m in p.candidates],
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
                "quality": status.outputs.quality.to_dict() if status.outputs.quality else None,
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


def quality_view(status: ProductionStatus) -> dict[str, Any]:
    """The production's quality reports as the API answers them (``QualityReportsOut``)."""
    o = status.outputs
    return {
        "production_id": status.production_id,
        "video": o.quality.to_dict() if o.quality else None,
        "shorts": [r.to_dict() for r in o.shorts_quality or []],
    }


def quality_in_words(report: dict[str, Any]) -> str:
    """One line for the outputs list: passed, or which figures failed and where."""
    figures = [f for f in report.get("figures") or [] if isinstance(f, dict)]
    failed = [f for f in figures if f.get("passed") is False]
    unmeasured = sum(f.get("passed") is None for f in figures)
    tail = f" ({unmeasured} not measured)" if unmeasured else ""
    if not failed:
        return f"passed: {len(figures) - unmeasured} measured figures within the channel's limits{tail}"
    parts = []
    for f in failed:
        at = f.get("at_s")
        where = f" at {clock(float(at))}" if isinstance(at, (int, float)) else ""
        value, unit = f.get("value"), str(f.get("unit") or "")
        shown = f"{value:g}" if isinstance(value, (int, float)) else "?"
        name = str(f.get("label") or LABELS.get(str(f.get("name")), str(f.get("name"))))
        parts.append(f"{name} {shown}{' ' + unit if unit else ''}{where}")
    return f"{len(failed)} failed: " + "; ".join(parts) + tail


def clock(t: float) -> str:
    """Seconds as a reviewer scrubs to them: 75.25 -> '1:15.2'."""
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m)}:{s:04.1f}"


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
    if isinstance(o.get("quality"), dict):
        rows.append(("Quality", quality_in_words(o["quality"])))
    for i, report in enumerate(o.get("shorts_quality") or [], 1):
        if isinstance(report, dict):
            rows.append((f"Short {i} quality", quality_in_words(report)))
    known = {"narration_s", "render", "preview", "gpu_seconds", "cost_usd", "llm_cost_usd", "tts_cost_usd",
             "llm_tokens", "tts_characters", "broll_warnings", "published", "video_id", "shorts", "sources",
             "thumbnail", "quality", "shorts_quality"}  # fmt: skip
    for k, v in o.items():
        if k not in known and v not in (None, "", [], {}):
            rows.append((k.replace("_", " ").capitalize(), str(v)))
    return rows
