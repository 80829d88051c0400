"""The offline publisher: a local outbox folder per channel, written atomically."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activities.publish_metadata import (
    PublishingPlatform,
    PublishOptions,
    build_metadata,
    captions_srt,
    entry_name,
    sha256_file,
)
from tubeflow.contracts import PublishRequest, PublishResult
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings
from tubeflow.storage import Storage

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class OutboxPublisher:
    """``<outbox>/<channel>/<production>[-short-N]/`` with video.mp4, thumbnail.jpg, metadata.json."""

    name = "outbox"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def publish(
        self, storage: Storage, req: PublishRequest, script: dict[str, Any], options: PublishOptions | None = None
    ) -> PublishResult:
        for what, value in (("channel", req.channel), ("production id", req.production_id)):
            if not NAME_RE.match(value or ""):
                raise PermanentError(f"{what} {value!r} cannot name an outbox folder (letters, digits, . _ -)")
        name = entry_name(req)
        final = self.root / req.channel / name
        video = storage.fetch(req.video_key)
        thumb = storage.fetch(req.thumbnail_key) if req.thumbnail_key else None
        meta = build_metadata(storage, req, script, float(req.extra.get("duration_s") or 0.0), options)
        srt = captions_srt(storage, req)
        meta["captions"] = "captions.srt" if srt else ""
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
            if srt:
                (staging / "captions.srt").write_text(srt, encoding="utf-8")
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


def _from_settings(settings: Settings) -> OutboxPublisher:
    return OutboxPublisher(settings.resolved_outbox_dir())


PLATFORM = PublishingPlatform("outbox", _from_settings)
