"""The finished production page: each video that went out (the long-form and every Short) with its
player, where it went (outbox folder or YouTube id and link) and when, and its quality figures in
words and units.

Where and when come from the channel's calendar (``publications``: one row per video, written by
the publish activity as each goes up), shown in the channel's time zone; the players read the
stored files (``ProductionKeys.short(i)`` for the Shorts, which the status does not list).  The
quality figures are shown when a quality report exists (``outputs["quality"]`` or the
``artifacts["quality"]`` JSON, as :mod:`tubeflow.quality_report` writes it) and left out otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api.views import link
from tubeflow.db.engine import Database
from tubeflow.db.models import PublicationRow
from tubeflow.keys import ProductionKeys
from tubeflow.quality_report import LABELS
from tubeflow.storage import Storage

log = logging.getLogger("tubeflow.api")


def when_in_words(at: datetime | None, tz_name: str) -> str:
    """The time as "Tue 8 Dec 2026, 17:00 Europe/Lisbon (17:00 UTC)": the channel's wall clock first."""
    if at is None:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    try:
        tz = ZoneInfo(tz_name or "UTC")
    except Exception:  # an unknown zone was refused when set; an old row still shows in UTC
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    text = f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} {tz.key}"
    return text if tz.key == "UTC" else f"{text} ({at.astimezone(UTC):%H:%M} UTC)"


def youtube_url(video_id: str, short: bool = False) -> str:
    return f"https://www.youtube.com/{'shorts/' if short else 'watch?v='}{video_id}" if video_id else ""


async def _rows(db: Database, production_id: str) -> list[PublicationRow]:
    stmt = select(PublicationRow).where(PublicationRow.production_id == production_id).order_by(PublicationRow.idx)
    async with db.session() as s:
        return list((await s.execute(stmt)).scalars().all())


def _published(row: PublicationRow | None, tz: str, short: bool) -> dict[str, str]:
    if row is None:
        return {"status": "", "when": "", "video_id": "", "url": "", "location": ""}
    if row.status == "scheduled" and row.publish_at is not None:
        when = f"scheduled for {when_in_words(row.publish_at, tz)}"
    elif row.status == "published":
        when = f"published {when_in_words(row.updated_at, tz)}"
    else:
        when = f"{row.status}" + (f" for {when_in_words(row.publish_at, tz)}" if row.publish_at else "")
    return {
        "status": row.status,
        "when": when,
        "video_id": row.video_id,
        "url": youtube_url(row.video_id, short),
        "location": row.location,
    }


def _quality(storage: Storage, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Each report (video, figures with value, unit, threshold, pass) as it exists; [] when none."""
    raw: Any = (view.get("outputs") or {}).get("quality")
    key = (view.get("artifact_keys") or {}).get("quality")
    if raw is None and isinstance(key, str) and key:
        try:
            raw = json.loads(storage.get_text(key))
        except Exception as e:  # a missing report is no reason to hide the finished page
            log.warning("cannot read the quality report %s: %s", key, e)
            return []
    shorts = (view.get("outputs") or {}).get("shorts_quality")
    if isinstance(raw, dict) and "figures" in raw:
        reports = [raw, *(r for r in shorts or [] if isinstance(r, dict))]
    elif isinstance(raw, dict):
        reports = [r for r in raw.values() if isinstance(r, dict)]
    elif isinstance(raw, list):
        reports = [r for r in raw if isinstance(r, dict)]
    else:
        return []
    out = []
    for r in reports:
        figures = []
        for f in r.get("figures") or []:
            if not isinstance(f, dict):
                continue
            value, unit = f.get("value"), str(f.get("unit") or "")
            if value is None:
                shown = "not measured"
            else:
                shown = f"{value:g} {unit}".strip() if isinstance(value, (int, float)) else str(value)
            passed, name = f.get("passed"), str(f.get("name") or "")
            figures.append({
                "name": str(f.get("label") or LABELS.get(name, name.replace("_", " "))),
                "value": shown,
                "threshold": str(f.get("threshold") or ""),
                "verdict": "passes" if passed is True else "fails" if passed is False else "not judged",
                "message": str(f.get("message") or ""),
            })  # fmt: skip
        out.append({"video": _video_name(str(r.get("video") or "")), "figures": figures})
    return out


def _video_name(video: str) -> str:
    """ "long" / "short-0" as a reader says them."""
    if video in ("", "long"):
        return "Long-form video"
    index = video.removeprefix("short-")
    return f"Short {int(index) + 1}" if index.isdigit() else video


def _figures(outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """The long-form's own figures in words and units (length, picture size, encoder), when known."""
    rows: list[tuple[str, str]] = []
    render = outputs.get("render")
    if isinstance(render, dict) and render.get("duration_s") is not None:
        s = float(render["duration_s"])
        rows.append(("Length", f"{int(s // 60)} min {s % 60:.0f} s" if s >= 60 else f"{s:.1f} s"))
        if render.get("encoder"):
            rows.append(("Encoder", str(render["encoder"])))
    return rows


async def finished_view(db: Database, storage: Storage, view: dict[str, Any], tz: str) -> dict[str, Any]:
    """What the finished page shows; the long-form first, then each Short in order."""
    pid = str(view["id"])
    rows = await _rows(db, pid)
    long_row = next((r for r in rows if r.kind == "long"), None)
    outputs = view.get("outputs") or {}
    video = (view.get("artifacts") or {}).get("video")
    long: dict[str, Any] = {
        "title": (long_row.title if long_row else "") or view.get("title") or view.get("topic"),
        "video": video,
        **_published(long_row, tz, short=False),
    }
    if not long["location"]:
        long["location"] = str(outputs.get("published") or "")
    if not long["video_id"] and outputs.get("video_id"):
        long["video_id"] = str(outputs["video_id"])
        long["url"] = youtube_url(str(outputs["video_id"]))
    keys = ProductionKeys(pid)
    shorts: list[dict[str, Any]] = []
    where = list(outputs.get("shorts") or [])
    short_rows = {r.idx: r for r in rows if r.kind == "short"}
    for idx in sorted(set(short_rows) | set(range(len(where)))):
        key = keys.short(idx)
        row = short_rows.get(idx)
        item: dict[str, Any] = {
            "n": len(shorts) + 1,
            "title": row.title if row else "",
            "video": None,
            **_published(row, tz, True),
        }
        if not item["location"] and idx < len(where):
            item["location"] = str(where[idx])
        if await asyncio.to_thread(storage.exists, key):
            item["video"] = link(key)
        shorts.append(item)
    return {"long": long, "shorts": shorts, "figures": _figures(outputs), "quality": _quality(storage, view)}
