"""Stored artifacts for players and downloads, served so that no stored file can run as a page.

The type comes from the file's first bytes (:mod:`tubeflow.media.sniff`), never from its name or
what an uploader declared: audio, video and still images are served inline with that type;
anything else (JSON, subtitles, and whatever an uploader claimed was a clip) is a download
(``Content-Disposition: attachment``).  With ``nosniff`` and a sandboxing CSP (api.middleware), a
``.html`` or ``.svg`` upload opened directly is inert text, not script on the dashboard's origin.

Local storage is streamed by Starlette's FileResponse, which answers Range requests (206) so
``<video>``/``<audio>`` can seek; with S3 the browser is redirected to a short-lived presigned
URL that carries the same type and disposition, so the bytes never pass through the API process.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.answers import errors_doc
from api.auth import ViewerKey
from api.context import Ctx
from tubeflow.media.sniff import DOWNLOAD_TYPES, HEAD_BYTES, media_type
from tubeflow.storage import LocalStorage, StorageError, check_key

router = APIRouter(prefix="/api", tags=["media"])
MEDIA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
MEDIA_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The stored bytes, typed by their content: media inline, anything else as a download",
        "content": {"video/mp4": {}, "audio/wav": {}, "image/jpeg": {}, "application/octet-stream": {}},
    },
    307: {"description": "With S3 storage: a short-lived presigned URL of the object"},
    **errors_doc(400, 404),
}


def serving(key: str, head: bytes) -> tuple[str, str]:
    """(Content-Type, Content-Disposition) for an object starting with ``head``."""
    name = PurePosixPath(key).name or "download"
    kind = media_type(head)
    if kind is not None:
        return kind, "inline"
    suffix = PurePosixPath(name).suffix.lower()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "download"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return DOWNLOAD_TYPES.get(suffix, "application/octet-stream"), disposition


@router.get("/media/{key:path}", response_class=Response, response_model=None, responses=MEDIA_DOC)
async def media(key: str, ctx: Ctx, _: ViewerKey) -> Response:
    check_key(key)  # a malformed key is a StorageError (400)
    try:
        head = await asyncio.to_thread(ctx.storage.head_bytes, key, HEAD_BYTES)
    except StorageError as e:
        raise HTTPException(404, f"no stored object {key!r}") from e
    content_type, disposition = serving(key, head)
    headers = {
        "Cache-Control": "private, max-age=300",
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": MEDIA_CSP,
    }
    if isinstance(ctx.storage, LocalStorage):
        path = ctx.storage.fetch(key)
        return FileResponse(path, media_type=content_type, headers=headers)
    url = ctx.storage.url(key, expires_s=900, content_type=content_type, disposition=disposition)
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "private, no-store"})
