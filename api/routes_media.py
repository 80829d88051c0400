"""Stored artifacts for players and downloads.

Local storage is streamed by Starlette's FileResponse, which answers Range requests (206) so
``<video>``/``<audio>`` can seek; with S3 the browser is redirected to a short-lived presigned
URL so the bytes never pass through the API process.
"""

from __future__ import annotations

import asyncio
import mimetypes

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.auth import Principal, authenticate
from api.context import ApiContext, get_ctx
from tubeflow.storage import LocalStorage, StorageError, check_key

router = APIRouter(prefix="/api", tags=["media"])

EXTRA_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".ass": "text/x-ssa", ".json": "application/json"}


def content_type(key: str) -> str:
    for ext, kind in EXTRA_TYPES.items():
        if key.endswith(ext):
            return kind
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


@router.get("/media/{key:path}", response_model=None)
async def media(key: str, ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(authenticate)) -> Response:
    try:
        check_key(key)
    except StorageError as e:
        raise HTTPException(400, str(e)) from e
    if isinstance(ctx.storage, LocalStorage):
        try:
            path = ctx.storage.fetch(key)
        except StorageError as e:
            raise HTTPException(404, f"no stored object {key!r}") from e
        return FileResponse(path, media_type=content_type(key), headers={"Cache-Control": "private, max-age=300"})
    if not await asyncio.to_thread(ctx.storage.exists, key):
        raise HTTPException(404, f"no stored object {key!r}")
    return RedirectResponse(ctx.storage.url(key, expires_s=900), status_code=307)
