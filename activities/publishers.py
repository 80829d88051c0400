"""Publishing a finished video: a local outbox folder by default, YouTube with credentials.

Publishing must be idempotent because Temporal retries activities: publishing the same
production twice rewrites the same outbox folder (never a second one), and the YouTube publisher
remembers the uploaded video id in storage so a retry never uploads a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tubeflow.contracts import PublishRequest, PublishResult, production_prefix
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.render_plan import NarrationTiming
from tubeflow.settings import Settings
from tubeflow.storage import Storage

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


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


# ---------------------------------------------------------------- outbox


def entry_name(req: PublishRequest) -> str:
    if req.kind == "long":
        return req.production_id
    if req.kind == "short":
        return f"{req.production_id}-short-{int(req.extra.get('index', 1))}"
    raise PermanentError(f"publish kind must be 'long' or 'short', not {req.kind!r}")


class OutboxPublisher:
    """``<outbox>/<channel>/<production>[-short-N]/`` with video.mp4, thumbnail.jpg, metadata.json."""

    name = "outbox"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def publish(self, storage: Storage, req: PublishRequest, script: dict[str, Any]) -> PublishResult:
        for what, value in (("channel", req.channel), ("production id", req.production_id)):
            if not NAME_RE.match(value or ""):
                raise PermanentError(f"{what} {value!r} cannot name an outbox folder (letters, digits, . _ -)")
        name = entry_name(req)
        final = self.root / req.channel / name
        video = storage.fetch(req.video_key)
        thumb = storage.fetch(req.thumbnail_key) if req.thumbnail_key else None
        meta = build_metadata(storage, req, script, float(req.extra.get("duration_s") or 0.0))
        meta["video_sha256"] = sha256_file(video)
        meta["video_key"], meta["thumbnail_key"] = req.video_key, req.thumbnail_key

        old_meta = final / "metadata.json"
        if old_meta.is_file():
            try:
                previous = json.loads(old_meta.read_text(encoding="utf-8"))
            except ValueError:
                previous = {}
            meta["published_at"] = previous.get("published_at") or _now()
            same = {k: v for k, v in previous.items() if k != "updated_at"} == meta
            if same and (final / "video.mp4").is_file():
                return PublishResult(location=f"{req.channel}/{name}", video_id=name)
        else:
            meta["published_at"] = _now()

        # Build the entry beside its final place, then swap it in: readers never see half an entry.
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
        try:
            shutil.copyfile(video, staging / "video.mp4")
            if thumb is not None:
                shutil.copyfile(thumb, staging / "thumbnail.jpg")
            (staging / "metadata.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
            if final.exists():
                trash = final.with_name(f".old-{name}")
                shutil.rmtree(trash, ignore_errors=True)
                final.replace(trash)
                staging.replace(final)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                staging.replace(final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return PublishResult(location=f"{req.channel}/{name}", video_id=name)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- choice


def make_publisher(settings: Settings) -> Publisher:
    if settings.publisher == "outbox":
        return OutboxPublisher(settings.resolved_outbox_dir())
    if settings.publisher == "youtube":
        from activities.youtube import YouTubePublisher

        return YouTubePublisher.from_settings(settings)
    raise ConfigError(f"TUBEFLOW_PUBLISHER must be 'outbox' or 'youtube', not {settings.publisher!r}")
