"""The seeds' GPU video API: caption, img2vid and addaudio jobs, their status, and input uploads.

A job's URL inputs are fetched here, safely (:mod:`api.fetch`), into storage before the workflow
starts, so the GPU worker only ever sees storage keys and never touches a client's URL.  Inputs
can also be uploaded first (``POST /uploads``: a presigned S3 URL, or this API's own PUT endpoint
with local storage) and then named as ``upload:<key>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from temporalio.service import RPCError, RPCStatusCode

from api import errors, estimate, jobs_bridge
from api.answers import errors_doc
from api.answers_video import (
    BatchAccepted,
    CallbackSecret,
    JobAccepted,
    JobList,
    JobStatus,
    UploadDone,
    UploadTicket,
)
from api.auth import EditorKey, Principal, ViewerKey
from api.context import ApiContext, Ctx, shared_database
from api.fetch import FetchTooLarge, check_url, fetch_to_storage
from api.job_slots import Reservation, SlotsFull
from api.schemas import AddAudioIn, AddAudioOp, BatchIn, CaptionIn, CaptionOp, Img2VidIn, Img2VidOp, UploadIn
from api.views import media_url
from tubeflow import signing
from tubeflow.db import uploads
from tubeflow.keys import UPLOADS, JobKeys, upload_key
from tubeflow.media.probe import probe
from tubeflow.media.sniff import usable_input
from tubeflow.storage import LocalStorage, S3Storage, check_key

router = APIRouter(tags=["video jobs"])
JOB_ERRORS = errors_doc(400, 403, 413, 415, 422, 429, 503)
UPLOAD_PREFIX = UPLOADS
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def _ext(url: str, default: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if _EXT.match(suffix) else default


async def _input(ctx: ApiContext, who: Principal, job_id: str, name: str, url: str, default_ext: str) -> str:
    """Storage key of an input given as a URL (fetched now) or as ``upload:<key>`` (issued to ``who``)."""
    if url.startswith("upload:"):
        key = url[len("upload:") :]
        check_key(key)  # a malformed key is a StorageError (400)
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
    kind = await asyncio.to_thread(usable_input, path)  # unusable media is a MediaError (415)
    await uploads.completed(ctx.db, key, size, kind)


@asynccontextmanager
async def _capacity(ctx: ApiContext, who: Principal, more: int = 1) -> AsyncIterator[Reservation | None]:
    """Per-key concurrency (TUBEFLOW_VIDEO_JOBS_PER_KEY), reserved before any input is fetched and
    held through the start, so a burst of simultaneous requests can't all pass (api/job_slots.py)."""
    if ctx.temporal is None:
        yield None  # nothing can be counted (or started: _start answers 503 after the inputs are checked)
        return
    limit = ctx.settings.video_jobs_per_key
    owner = _owner(who)
    client = ctx.temporal

    async def running() -> set[str]:
        return await jobs_bridge.running_job_ids(client, owner, limit)

    try:
        async with ctx.job_slots.reserve(owner, more, limit, running, shared_database(ctx)) as slots:
            yield slots
    except SlotsFull as e:
        raise HTTPException(
            429,
            f"this key has {e.active} video jobs queued or running; the limit is {limit} at once "
            "(TUBEFLOW_VIDEO_JOBS_PER_KEY): wait for one to finish (GET /jobs?status=active)",
        ) from None


def _check_output_s(ctx: ApiContext, seconds: float, what: str) -> None:
    limit = ctx.settings.video_job_max_output_s
    if seconds > limit:
        raise HTTPException(
            400,
            f"{what} would make a {seconds:.1f} s output; the limit is {limit:.0f} s (TUBEFLOW_VIDEO_JOB_MAX_OUTPUT_S)",
        )


async def _duration(ctx: ApiContext, key: str, label: str) -> float:
    """An input's duration, probed now, so an over-long job is refused before the GPU sees it."""
    path = await asyncio.to_thread(ctx.storage.fetch, key)
    info = await asyncio.to_thread(probe, path, label=label)  # unreadable media is a MediaError (415)
    return info.duration_s


async def _check_callback(ctx: ApiContext, url: str | None) -> str:
    """A callback URL must pass the fetch rules now (400), not fail silently when the job ends."""
    if not url:
        return ""
    if not ctx.settings.secret_key:
        raise HTTPException(400, "callbacks are signed with a secret derived from TUBEFLOW_SECRET_KEY; set it first")
    await check_url(url, ctx.fetch_policy)  # FetchRefused -> 400 with the reason
    return url


_owner = jobs_bridge.owner_of


def _urls(ctx: ApiContext, job_id: str) -> dict[str, str]:
    """Absolute URLs from TUBEFLOW_PUBLIC_BASE_URL (never the Host header)."""
    base = ctx.settings.resolved_public_base_url()
    ws = "wss" + base[len("https") :] if base.startswith("https") else "ws" + base[len("http") :]
    return {
        "status_url": f"{base}/jobs/{job_id}",
        "events_url": f"{base}/jobs/{job_id}/events",
        "websocket_url": f"{ws}/jobs/{job_id}/ws",
    }


async def _start(
    ctx: ApiContext,
    who: Principal,
    kind: str,
    job_id: str,
    keys: dict[str, str],
    params: dict[str, Any],
    output_s: float,
    callback_url: str,
    slots: Reservation | None,
) -> dict[str, Any]:
    est = await estimate.estimate(ctx.client(), ctx.settings.gpu_queue, kind, output_s)  # the work ahead of it
    wf_id = await jobs_bridge.start_job(
        ctx.client(), ctx.settings, kind, job_id, keys, params, _owner(who), callback_url
    )
    if slots is not None:
        slots.started(job_id)
    return {
        "job_id": job_id,
        "status": "queued",
        **_urls(ctx, job_id),
        "estimated_wait_s": est.wait_s,
        "estimated_run_s": est.run_s,
        "queue": {"backlog": est.backlog, "workers": est.workers},
        "workflow_id": wf_id,
    }


async def _caption(ctx: ApiContext, who: Principal, body: CaptionIn, slots: Reservation | None) -> dict[str, Any]:
    callback = await _check_callback(ctx, body.callback_url)
    job_id = uuid.uuid4().hex[:12]
    video, srt = await asyncio.gather(
        _input(ctx, who, job_id, "video", body.url_video, ".mp4"),
        _input(ctx, who, job_id, "captions", body.url_srt, ".srt"),
    )
    length = await _duration(ctx, video, "video")
    _check_output_s(ctx, length, "caption")
    return await _start(ctx, who, "caption", job_id, {"video": video, "srt": srt}, {}, length, callback, slots)


async def _img2vid(ctx: ApiContext, who: Principal, body: Img2VidIn, slots: Reservation | None) -> dict[str, Any]:
    _check_output_s(ctx, body.duration, "img2vid")
    callback = await _check_callback(ctx, body.callback_url)
    job_id = uuid.uuid4().hex[:12]
    image = await _input(ctx, who, job_id, "image", body.url_image, ".jpg")
    params = {"duration": body.duration, "zoom": body.zoom}
    return await _start(ctx, who, "img2vid", job_id, {"image": image}, params, body.duration, callback, slots)


async def _addaudio(ctx: ApiContext, who: Principal, body: AddAudioIn, slots: Reservation | None) -> dict[str, Any]:
    callback = await _check_callback(ctx, body.callback_url)
    job_id = uuid.uuid4().hex[:12]
    video, audio = await asyncio.gather(
        _input(ctx, who, job_id, "video", body.url_video, ".mp4"),
        _input(ctx, who, job_id, "audio", body.url_audio, ".wav"),
    )
    length = await _duration(ctx, video, "video")  # fit=shortest: never longer than the video
    _check_output_s(ctx, length, "addaudio")
    return await _start(ctx, who, "addaudio", job_id, {"video": video, "audio": audio}, {}, length, callback, slots)


@router.post("/video/caption", status_code=202, response_model=JobAccepted, responses=JOB_ERRORS)
async def caption(body: CaptionIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Burn the SRT's captions into the video."""
    async with _capacity(ctx, who) as slots:
        return await _caption(ctx, who, body, slots)


@router.post("/video/img2vid", status_code=202, response_model=JobAccepted, responses=JOB_ERRORS)
async def img2vid(body: Img2VidIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Turn a still image into a clip with a Ken Burns zoom."""
    async with _capacity(ctx, who) as slots:
        return await _img2vid(ctx, who, body, slots)


@router.post("/video/addaudio", status_code=202, response_model=JobAccepted, responses=JOB_ERRORS)
async def addaudio(body: AddAudioIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Lay an audio track under the video."""
    async with _capacity(ctx, who) as slots:
        return await _addaudio(ctx, who, body, slots)


@router.post("/video/batch", status_code=202, response_model=BatchAccepted, responses=errors_doc(400, 429, 503))
async def batch(body: BatchIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Several independent jobs at once: each item is a job's 202 answer, or its own refusal.

    The whole batch counts against TUBEFLOW_VIDEO_JOBS_PER_KEY up front (429 for all, nothing
    started); past that, one item's bad input does not stop the others.
    """
    ops = body.operations
    if len(ops) > ctx.settings.video_batch_max:
        raise HTTPException(
            400,
            f"a batch holds at most {ctx.settings.video_batch_max} operations (TUBEFLOW_VIDEO_BATCH_MAX), "
            f"not {len(ops)}",
        )

    async def one(i: int, op: CaptionOp | Img2VidOp | AddAudioOp, slots: Reservation | None) -> dict[str, Any]:
        try:
            if isinstance(op, CaptionOp):
                out = await _caption(ctx, who, op, slots)
            elif isinstance(op, Img2VidOp):
                out = await _img2vid(ctx, who, op, slots)
            else:
                out = await _addaudio(ctx, who, op, slots)
        except Exception as e:  # a bad URL, unusable media: refused with the status it would get alone
            refused = errors.refusal(e)
            if refused is None:
                raise
            return {"index": i, "op": op.op, "accepted": False, "status_code": refused[0], "error": refused[1]}
        return {"index": i, "op": op.op, "accepted": True, **out}

    async with _capacity(ctx, who, more=len(ops)) as slots:
        results = await asyncio.gather(*(one(i, op, slots) for i, op in enumerate(ops)))
    accepted = sum(1 for r in results if r["accepted"])
    return {"accepted": accepted, "refused": len(ops) - accepted, "jobs": results}


def _job_id(job_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id):
        raise HTTPException(404, f"unknown job {job_id!r}")
    return job_id


async def read_job(ctx: ApiContext, job_id: str, who: Principal) -> dict[str, Any]:
    """A job's status with absolute URLs; 404 for an unknown id or another key's job (admins see
    every job).  Also feeds the wait estimate."""
    try:
        owner = await jobs_bridge.job_owner(ctx.client(), _job_id(job_id))
        if owner not in ("-", _owner(who)) and not who.can("admin"):
            raise HTTPException(404, f"unknown job {job_id!r}")
        out, st = await jobs_bridge.job_status(ctx.client(), job_id)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"unknown job {job_id!r}") from e
        raise
    if st.state == "completed":
        estimate.BOOK.record(st.job_id, st.op, st.duration_s, st.gpu_seconds)
    key = out.get("output_key")
    out["output_url"] = ctx.settings.resolved_public_base_url() + media_url(key) if key else None
    out.update(_urls(ctx, out["job_id"] or job_id))
    return out


@router.get("/video/callback-secret", response_model=CallbackSecret, responses=errors_doc(409))
async def callback_secret(ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """This key's secret for checking callback signatures (README, "Callbacks")."""
    if not ctx.settings.secret_key:
        raise HTTPException(409, "callbacks need TUBEFLOW_SECRET_KEY to be set on the API and workers")
    secret = signing.key_secret(ctx.settings.secret_key, _owner(who))
    return {"secret": secret, "header": signing.HEADER, "scheme": "t=<unix>,v1=hex(HMAC-SHA256(secret, '<t>.' + body))"}


@router.get("/jobs", response_model=JobList, responses=errors_doc(400, 503))
async def list_jobs(
    ctx: Ctx,
    who: ViewerKey,
    status: Literal["", "active", "completed", "failed"] = Query("", description="empty for all"),
    since: datetime | None = Query(None, description="ISO time: jobs started or finished since then"),
    page_size: int = Query(50, ge=1, le=200),
    page_token: str = Query("", max_length=2000, description="next_page_token of the previous page"),
) -> dict[str, Any]:
    """This key's video jobs, newest first: what finished or failed while the client was away."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:
        token = base64.urlsafe_b64decode(page_token.encode()) if page_token else b""
    except (ValueError, binascii.Error) as e:
        raise HTTPException(400, "page_token is not one this API gave out") from e
    rows, nxt = await jobs_bridge.list_jobs(ctx.client(), _owner(who), status, since, page_size, token)
    base = ctx.settings.resolved_public_base_url()
    for row in rows:
        row["status_url"] = base + row["status_url"]
    return {"jobs": rows, "next_page_token": base64.urlsafe_b64encode(nxt).decode() if nxt else None}


@router.get("/jobs/{job_id}", response_model=JobStatus, responses=errors_doc(404, 503))
async def job_status(job_id: str, request: Request, ctx: Ctx, who: ViewerKey) -> dict[str, Any]:
    return await read_job(ctx, job_id, who)


@router.post("/uploads", status_code=201, response_model=UploadTicket, responses=errors_doc(429))
async def create_upload(body: UploadIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
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


@router.put(
    "/uploads/{key:path}", status_code=201, response_model=UploadDone, responses=errors_doc(400, 403, 404, 413, 415)
)
async def put_upload(key: str, request: Request, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Local storage's stand-in for a presigned URL (S3 uploads go straight to the bucket).

    The body must be media a job can use (probed here); anything else is refused with 415 and
    not stored.
    """
    if not isinstance(ctx.storage, LocalStorage):
        raise HTTPException(400, "uploads go to the presigned URL from POST /uploads when storage is S3")
    check_key(key)  # a malformed key is a StorageError (400)
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
        kind = await asyncio.to_thread(usable_input, path)  # a MediaError (415) stores nothing
        await asyncio.to_thread(ctx.storage.put_file, key, path, kind)
    await uploads.completed(ctx.db, key, size, kind)
    return {"key": key, "size": size, "content_type": kind, "use_as": f"upload:{key}"}
