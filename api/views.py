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
from tubeflow.render_plan import RenderPlan
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


async def checkpoint_material(storage: Storage, status: ProductionStatus) -> dict[str, Any] | None:
    """What the reviewer looks at for the open checkpoint (None when no checkpoint is open)."""
    cp, arts = status.checkpoint, status.artifacts
    try:
        if cp == "script" and arts.script:
            script = await asyncio.to_thread(_read_json, storage, arts.script)
            sources = script.get("sources") or [{"claim": "", "source": s} for s in status.outputs.sources or []]
            return {"kind": "script", "script": script, "sources": sources}
        if cp == "audio" and arts.audio:
            return {"kind": "audio", "audio": link(arts.audio), "duration_s": status.outputs.narration_s}
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
