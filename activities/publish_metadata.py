"""What every publisher says about a video: title, description, chapters, sources, entry names.

Shared by the local outbox and YouTube so both publish the same metadata; the publishers
themselves live in ``outbox.py`` and ``youtube.py`` and ``publishers.py`` picks one.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Protocol

from tubeflow.contracts import PublishRequest, PublishResult, production_prefix
from tubeflow.errors import PermanentError
from tubeflow.render_plan import NarrationTiming
from tubeflow.storage import Storage


class Publisher(Protocol):
    name: str

    def publish(self, storage: Storage, req: PublishRequest, script: dict[str, Any]) -> PublishResult: ...


# ---------------------------------------------------------------- metadata shared by publishers


def _stamp(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def find_timing(storage: Storage, req: PublishRequest) -> NarrationTiming | None:
    """The approved narration timing: ``extra["timing_key"]``, else the newest timing-v<n>.json."""
    key = str(req.extra.get("timing_key") or "")
    if not key:
        versions = []
        for k in storage.list(f"{production_prefix(req.production_id)}/"):
            m = re.search(r"/timing-v(\d+)\.json$", k)
            if m:
                versions.append((int(m.group(1)), k))
        if not versions:
            return None
        key = max(versions)[1]
    try:
        return NarrationTiming.from_json(storage.get_text(key))
    except (ValueError, KeyError, TypeError):
        return None


def chapters_from(timing: NarrationTiming | None, script: dict[str, Any]) -> list[dict[str, Any]]:
    """One chapter per part; the hook folds into the first section so chapter 1 starts at 0:00."""
    if timing is None:
        return []
    sections = script.get("sections") or []
    out: list[dict[str, Any]] = []
    for p in timing.parts:
        if p.section is None or p.section >= len(sections):
            continue
        out.append({"start": 0.0 if not out else round(p.start, 2), "title": sections[p.section]["heading"]})
    return out


def youtube_chapters_ok(chapters: list[dict[str, Any]], duration_s: float) -> bool:
    """YouTube only shows chapters with >= 3 entries, the first at 0:00, each at least 10 s long."""
    if len(chapters) < 3 or chapters[0]["start"] != 0:
        return False
    ends = [c["start"] for c in chapters[1:]] + [duration_s]
    return all(e - c["start"] >= 10 for c, e in zip(chapters, ends, strict=True))


def build_metadata(
    storage: Storage, req: PublishRequest, script: dict[str, Any], duration_s: float = 0.0
) -> dict[str, Any]:
    title = str(req.extra.get("title") or script.get("title") or req.production_id)
    if req.kind == "short" and "#shorts" not in title.lower():
        title = f"{title[:90]} #shorts"
    timing = find_timing(storage, req) if req.kind == "long" else None
    duration = duration_s or (timing.duration_s if timing else 0.0)
    chapters = chapters_from(timing, script)
    sources = [s for s in script.get("sources") or [] if s.get("source")]
    credits: dict[str, str] = {}
    credits_key = f"{production_prefix(req.production_id)}/broll/credits.json"
    if storage.exists(credits_key):
        try:
            credits = json.loads(storage.get_text(credits_key))
        except ValueError:
            credits = {}

    lines = [str(script.get("description") or "").strip()]
    if chapters and youtube_chapters_ok(chapters, duration):
        lines += ["", "Chapters:"] + [f"{_stamp(c['start'])} {c['title']}" for c in chapters]
    unique_sources = list(dict.fromkeys(s["source"] for s in sources))
    if unique_sources:
        lines += ["", "Sources:"] + [f"- {s}" for s in unique_sources]
    unique_credits = sorted(set(credits.values()))
    if unique_credits:
        lines += ["", "Footage:"] + [f"- {c}" for c in unique_credits]
    description = "\n".join(lines).strip()[:5000]  # YouTube's description limit
    return {
        "title": title[:100],
        "description": description,
        "tags": list(script.get("tags") or []),
        "language": str(script.get("language") or "en"),
        "kind": req.kind,
        "channel": req.channel,
        "production_id": req.production_id,
        "chapters": chapters,
        "sources": sources,
        "credits": unique_credits,
        "duration_s": round(duration, 3),
    }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_name(req: PublishRequest) -> str:
    if req.kind == "long":
        return req.production_id
    if req.kind == "short":
        return f"{req.production_id}-short-{int(req.extra.get('index', 1))}"
    raise PermanentError(f"publish kind must be 'long' or 'short', not {req.kind!r}")
