"""A video job's live events: ``GET /jobs/{id}/events`` (SSE) and ``/jobs/{id}/ws`` (WebSocket).

Both carry the same messages (README, "Video job events"): the job's durable events, numbered
from 1 and kept by its workflow (queued, started, checkpoint, resumed, complete, error), and
``progress`` messages read from the running attempt's heartbeats.  Progress has no id of its
own: it is a passing value, so it never moves the reconnect cursor; a client that reconnects
with ``Last-Event-ID`` (EventSource does it itself) or ``?after=`` gets every durable event it
missed, then the current progress.  The stream ends after ``complete`` or ``error``.

Polling the workflow (a query and a describe, every ``POLL_S``) rather than subscribing keeps
the API stateless: any API replica can serve any job's stream, and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from api import jobs_bridge
from api.auth import Principal, ViewerKey, presented
from api.context import ApiContext, Ctx
from api.routes_events import SSE_DOC, StreamSlot
from api.routes_video import read_job

router = APIRouter(tags=["video jobs"])
POLL_S = 0.5
KEEPALIVE_S = 15.0
TERMINAL = ("complete", "error")


async def job_messages(ctx: ApiContext, job_id: str, after: int, max_s: float | None) -> AsyncIterator[dict[str, Any]]:
    """Durable events after ``after``, then live ones, with progress in between; ends with the job.

    After ``KEEPALIVE_S`` without a message it yields ``{}`` (a keep-alive for idle proxies)."""
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    last_progress: dict[str, Any] | None = None
    while True:
        st = await jobs_bridge.query_status(ctx.client(), job_id)
        for e in st.events:
            if e.id > after:
                after = e.id
                last_sent = loop.time()
                yield {"id": e.id, "event": e.type, "job_id": job_id, "at": e.at, **e.data}
                if e.type in TERMINAL:
                    return
        if st.state in ("completed", "failed"):
            return  # a reconnect after the end: nothing more will come
        if st.state in ("running", "queued"):
            live = await jobs_bridge.live_progress(ctx.client(), job_id)
            if live is not None:
                view = jobs_bridge.status_view(st, live)["progress_detail"]
                msg = {"event": "progress", "job_id": job_id, **view, "worker": live.get("worker", "")}
                if msg != last_progress:
                    last_progress, last_sent = msg, loop.time()
                    yield msg
        if max_s is not None and loop.time() - started >= max_s:
            return
        if loop.time() - last_sent >= KEEPALIVE_S:
            last_sent = loop.time()
            yield {}
        await asyncio.sleep(POLL_S)


def _sse(msg: dict[str, Any]) -> str:
    data = json.dumps(msg, separators=(",", ":"))
    head = f"id: {msg['id']}\n" if "id" in msg else ""
    return f"{head}event: {msg['event']}\ndata: {data}\n\n"


def _start_from(after: int | None, last_event_id: str | None) -> int:
    # A reconnecting EventSource repeats the original URL, so its Last-Event-ID header wins.
    if last_event_id and last_event_id.isdigit():
        return int(last_event_id)
    return after or 0


async def _slot(ctx: ApiContext, who: Principal) -> StreamSlot:
    return await StreamSlot.open(ctx, who.key_id, "close one first")


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse, responses=SSE_DOC)
async def job_events(
    job_id: str,
    request: Request,
    ctx: Ctx,
    who: ViewerKey,
    after: int | None = Query(None, ge=0, le=10_000, description="the last event id you saw"),
    max_s: float | None = Query(None, gt=0, le=7200, description="close the stream after this many seconds"),
    last_event_id: str | None = Header(None, max_length=20),
) -> StreamingResponse:
    await read_job(ctx, job_id, who)  # 404 before a stream is opened
    slot = await _slot(ctx, who)
    start = _start_from(after, last_event_id)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            async for msg in job_messages(ctx, job_id, start, max_s):
                if await request.is_disconnected():
                    return
                yield _sse(msg) if msg else ": keep-alive\n\n"
        finally:
            await slot.release()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(slot.release),
    )


async def _ws_principal(ws: WebSocket, ctx: ApiContext) -> Principal | None:
    """A key (``X-API-Key`` or ``Authorization: Bearer``) or a dashboard session cookie.

    A session cookie is only accepted from this API's own origin (TUBEFLOW_PUBLIC_BASE_URL):
    browsers send cookies on cross-site WebSocket handshakes and CSRF headers cannot be set.
    """
    credential = presented(ws)  # type: ignore[arg-type]  # headers and cookies, as on a Request
    if credential is None:
        return None
    kind, secret = credential
    if kind == "session":
        origin = ws.headers.get("origin", "")
        if origin and origin.rstrip("/") != ctx.settings.resolved_public_base_url():
            return None
    found = await ctx.auth.verify(ctx.db, kind, secret)
    if found is None:
        return None
    return Principal(found.name, found.role, f"key{found.api_key_id}", kind == "session", found.api_key_id)


@router.websocket("/jobs/{job_id}/ws")
async def job_ws(ws: WebSocket, job_id: str, after: int = 0) -> None:
    """The same messages as the SSE stream, as JSON text frames; close code 1000 after the end."""
    ctx: ApiContext = ws.app.state.tubeflow
    who = await _ws_principal(ws, ctx)
    if who is None:
        await ws.close(code=4401, reason="an API key or a dashboard sign-in is required")
        return
    try:
        await read_job(ctx, job_id, who)
        slot = await _slot(ctx, who)
    except HTTPException as e:
        await ws.close(code=4000 + e.status_code, reason=str(e.detail)[:120])
        return
    last = ws.headers.get("last-event-id")
    await ws.accept()
    try:
        async for msg in job_messages(ctx, job_id, _start_from(after, last), None):
            if msg:  # WebSocket keeps itself alive (ping frames)
                await ws.send_text(json.dumps(msg, separators=(",", ":")))
        await ws.close(code=1000)
    except WebSocketDisconnect:
        pass
    finally:
        await slot.release()
