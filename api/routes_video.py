"""The seeds' GPU video API: caption, img2vid and addaudio jobs, their status, and input uploads.

A job's URL inputs are fetched here, safely (:mod:`api.fetch`), into storage before the workflow
starts, so the GPU worker only ever sees storage keys and never touches a client's URL.  Inputs
can also be uploaded first (``POST /uploads``: a presigned S3 URL, or this API's own PUT endpoint
with local storage) and then named as ``upload:<key>``.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError, RPCStatusCode

from api import jobs_bridge
from api.auth import Principal, authenticate, require
from api.context import ApiContext, get_ctx
from api.fetch import FetchTooLarge, fetch_to_storage
from api.schemas import AddAudioIn, CaptionIn, Img2VidIn, UploadIn
from api.views import media_url
from tubeflow.db import uploads
from tubeflow.errors import MediaError
from tubeflow.keys import UPLOADS, JobKeys, upload_key
from tubeflow.media.sniff import usable_input
from tubeflow.storage import LocalStorage, S3Storage, StorageError, check_key

router = APIRouter(tags=["video jobs"])
UPLOAD_PREFIX = UPLOADS
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def _ext(url: str, default: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if _EXT.match(suffix) else default


async def _input(ctx: ApiContext, who: Principal, job_id: str, name: str, url: str, default_ext: str) -> str:
    """Storage key of an input given as a URL (fetched now) or as ``upload:<key>`` (issued to ``who``)."""
    if url.startswith("upload:"):
        key = url[len("upload:") :]
        try:
            check_key(key)
        except StorageError as e:
            raise HTTPException(400, str(e)) from e
        if not key.startswith(UPLOAD_PREFIX):
            raise HTTPException(400, f"upload keys start with {UPLOAD_PREFIX!r} (from POST /uploads), not {key!r}")
        issued_to = await uploads.owner(ctx.db, key)
        if issued_to is None:
            raise HTTPException(400, f"no upload {key!r} was issued; ask POST /uploads for one")
        if issued_to != who.api_key_id:
            raise HTTPException(403, f"upload {key!r} was issued to another key")
        if not await asyncio.to_thread(ctx.storage.exists, key):
            raise HTTPException(400, f"nothing was uploaded at {key!r} yet; PUT the file to its upload_url first")
        if not isinstance(ctx.storage, LocalStorage):
            await _check_bucket_upload(ctx, key)  # local uploads were checked as they arrived
        return key
    key = JobKeys(job_id).input(name, _ext(url, default_ext))
    fetched = await fetch_to_storage(url, ctx.storage, key, ctx.fetch_policy)
    return fetched.key


async def _check_bucket_upload(ctx: ApiContext, key: str) -> None:
    """A presigned upload went straight to the bucket: check it now, before a job depends on it."""
    path = await asyncio.to_thread(ctx.storage.fetch, key)
    size = path.stat().st_size
    if size > ctx.fetch_policy.max_bytes:
        raise FetchTooLarge(f"upload {key!r} is {size} bytes; the limit is {ctx.fetch_policy.max_bytes} bytes")
    try:
        kind = await asyncio.to_thread(usable_input, path)
    except MediaError as e:
        raise HTTPException(415, str(e)) from e
    await uploads.completed(ctx.db, key, size, kind)


async def _start(ctx: ApiContext, kind: str, job_id: str, keys: dict[str, str], params: dict[str, Any]) -> JSONResponse:
    wf_id = await jobs_bridge.start_job(ctx.client(), ctx.settings, kind, job_id, keys, params)
    return JSONResponse({"job_id": job_id, "status_url": f"/jobs/{job_id}", "workflow_id": wf_id}, status_code=202)


@router.post("/video/caption", status_code=202, response_class=JSONResponse)
async def caption(body: CaptionIn, ctx: ApiContext = Depends(get_ctx), who: Principal = Depends(require("editor"))):
    """Burn the SRT's captions into the video."""
    job_id = uuid.uuid4().hex[:12]
    video, srt = await asyncio.gather(
        _input(ctx, who, job_id, "video", body.url_video, ".mp4"),
        _input(ctx, who, job_id, "captions", body.url_srt, ".srt"),
    )
    return await _start(ctx, "caption", job_id, {"video": video, "srt": srt}, {})


@router.post("/video/img2vid", status_code=202, response_class=JSONResponse)
async def img2vid(body: Img2VidIn, ctx: ApiContext = Depends(get_ctx), who: Principal = Depends(require("editor"))):
    """Turn a still image into a clip with a Ken Burns zoom."""
    job_id = uuid.uuid4().hex[:12]
    image = await _input(ctx, who, job_id, "image", body.url_image, ".jpg")
    return await _start(ctx, "img2vid", job_id, {"image": image}, {"duration": body.duration, "zoom": body.zoom})


@router.post("/video/addaudio", status_code=202, response_class=JSONResponse)
async def addaudio(body: AddAudioIn, ctx: ApiContext = Depends(get_ctx), who: Principal = Depends(require("editor"))):
    """Lay an audio track under the video."""
    job_id = uuid.uuid4().hex[:12]
    video, audio = await asyncio.gather(
        _input(ctx, who, job_id, "video", body.url_video, ".mp4"),
        _input(ctx, who, job_id, "audio", body.url_audio, ".wav"),
    )
    return await _start(ctx, "addaudio", job_id, {"video": video, "audio": audio}, {})


@router.get("/jobs/{job_id}")
async def job_status(
    job_id: str, request: Request, ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(authenticate)
) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id):
        raise HTTPException(404, f"unknown job {job_id!r}")
    try:
        out = await jobs_bridge.job_status(ctx.client(), job_id)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"unknown job {job_id!r}") from e
        raise
    key = out.get("output_key")
    out["output_url"] = ctx.settings.resolved_public_base_url() + media_url(key) if key else None
    return out


@router.post("/uploads", status_code=201)
async def create_upload(
    body: UploadIn, ctx: ApiContext = Depends(get_ctx), who: Principal = Depends(require("editor"))
) -> dict[str, Any]:
    """Where to upload an input: a presigned S3 PUT, or this API's PUT endpoint with local storage.

    The key is issued to the calling API key: only it can fill the upload and name it in a job.
    """
    count, _size = await uploads.usage(ctx.db, who.api_key_id)
    if count >= ctx.settings.upload_quota_files:
        raise HTTPException(
            429, f"upload quota: this key has made {count} uploads in 24 h (TUBEFLOW_UPLOAD_QUOTA_FILES)"
        )
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(body.filename).name)[:100].lstrip(".") or "input"
    key = upload_key(uuid.uuid4().hex, safe)
    await uploads.issue(ctx.db, key, who.api_key_id)
    if isinstance(ctx.storage, S3Storage):
        url = ctx.storage.upload_url(key, expires_s=3600)
        return {"key": key, "upload_url": url, "method": "PUT", "headers": {}, "use_as": f"upload:{key}"}
    url = ctx.settings.resolved_public_base_url() + f"/uploads/{key}"
    headers = {"X-API-Key": "<your key>"}
    return {"key": key, "upload_url": url, "method": "PUT", "headers": headers, "use_as": f"upload:{key}"}


@router.put("/uploads/{key:path}", status_code=201)
async def put_upload(
    key: str, request: Request, ctx: ApiContext = Depends(get_ctx), who: Principal = Depends(require("editor"))
) -> dict[str, Any]:
    """Local storage's stand-in for a presigned URL (S3 uploads go straight to the bucket).

    The body must be media a job can use (probed here); anything else is refused with 415 and
    not stored.
    """
    if not isinstance(ctx.storage, LocalStorage):
        raise HTTPException(400, "uploads go to the presigned URL from POST /uploads when storage is S3")
    try:
        check_key(key)
    except StorageError as e:
        raise HTTPException(400, str(e)) from e
    if not key.startswith(UPLOAD_PREFIX) or key.count("/") != 2:
        raise HTTPException(400, "upload to the key POST /uploads gave you")
    issued_to = await uploads.owner(ctx.db, key)
    if issued_to is None:
        raise HTTPException(404, "no such upload was issued; upload to the key POST /uploads gave you")
    if issued_to != who.api_key_id:
        raise HTTPException(403, "this upload was issued to another key")
    _count, used = await uploads.usage(ctx.db, who.api_key_id, excluding=key)
    quota_left = ctx.settings.upload_quota_bytes - used
    limit = min(ctx.fetch_policy.max_bytes, quota_left)
    over = (
        f"the limit of {limit} bytes"
        if limit == ctx.fetch_policy.max_bytes
        else f"this key's upload quota ({quota_left} of {ctx.settings.upload_quota_bytes} bytes left in 24 h)"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchTooLarge(f"upload of {declared} bytes is over {over}")
    size = 0
    with tempfile.TemporaryDirectory(prefix="tubeflow-upload-") as tmp:
        path = Path(tmp) / "body"
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise FetchTooLarge(f"upload is over {over}")
                out.write(chunk)
        try:
            kind = await asyncio.to_thread(usable_input, path)
        except MediaError as e:
            raise HTTPException(415, str(e)) from e
        await asyncio.to_thread(ctx.storage.put_file, key, path, kind)
    await uploads.completed(ctx.db, key, size, kind)
    return {"key": key, "size": size, "content_type": kind, "use_as": f"upload:{key}"}
