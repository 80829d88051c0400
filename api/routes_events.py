"""Live updates over Server-Sent Events, fed from the database's events table.

Polling the table (every ``poll_s``) instead of holding in-memory subscriptions means an API
restart loses nothing: a browser reconnects with ``Last-Event-ID`` (EventSource does this itself)
or ``?since=`` and receives what it missed, in order.  SSE rather than WebSocket because the
traffic is one-way and EventSource reconnects on its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from api import dbview
from api.auth import Principal, authenticate
from api.context import ApiContext, get_ctx

router = APIRouter(prefix="/api", tags=["events"])
T = TypeVar("T")

KEEPALIVE_S = 15.0
FINISHED_STATES = ("completed", "failed", "cancelled")


def sse_message(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def _shielded(query: Awaitable[T]) -> T:
    """Let a query finish even when the client disconnects mid-way.

    A disconnect cancels the stream; cancelling inside a SQLite transaction (``BEGIN IMMEDIATE``)
    can leave the pooled connection holding the write lock, and every writer then waits for it.
    """
    return await asyncio.shield(asyncio.ensure_future(query))


def progress_message(production_id: str, row: dict[str, Any]) -> str:
    # No "id:" line: progress is a passing value, so it must not move the reconnect cursor.
    event = {"kind": "progress", "production_id": production_id, **row}
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n"


async def event_stream(
    request: Request, ctx: ApiContext, since: int, poll_s: float, max_s: float | None
) -> AsyncIterator[str]:
    """Stored events after ``since`` (stage changes, checkpoints, endings), then live ones; plus
    progress of running productions, which changes too often to be stored as events."""
    yield "retry: 2000\n\n"
    last, idle = since, 0.0
    sent_progress: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        if await request.is_disconnected():
            return
        batch = await _shielded(dbview.events_since(ctx.db, last, limit=200))
        for event in batch:
            last = max(last, int(event["id"]))
            yield sse_message(event)
        if len(batch) == 200:
            continue  # drain a backlog before anything else
        running = await _shielded(dbview.running_progress(ctx.db))
        for pid, row in running.items():
            if sent_progress.get(pid) != row:
                if pid in sent_progress:  # the first sighting is already on the page
                    yield progress_message(pid, row)
                    idle = 0.0
        sent_progress = running
        if max_s is not None and loop.time() - started >= max_s:
            return
        await asyncio.sleep(poll_s)
        idle += poll_s
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"


@router.get("/events", response_class=StreamingResponse)
async def events(
    request: Request,
    ctx: ApiContext = Depends(get_ctx),
    _: Principal = Depends(authenticate),
    since: int | None = Query(None, ge=0, description="the last event id you saw; omit for live events only"),
    max_s: float | None = Query(None, gt=0, le=3600, description="close the stream after this many seconds"),
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    # A reconnecting EventSource repeats the original URL, so its Last-Event-ID header wins over ?since=.
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else since
    if start is None:
        start = await dbview.latest_event_id(ctx.db)
    poll_s = float(getattr(request.app.state, "events_poll_s", 0.5))
    return StreamingResponse(
        event_stream(request, ctx, start, poll_s, max_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/events/missed")
async def missed(
    ctx: ApiContext = Depends(get_ctx),
    _: Principal = Depends(authenticate),
    since: int = Query(..., ge=0, description="the last event id the reviewer saw"),
) -> dict[str, Any]:
    """What finished or failed since ``since``: the dashboard's "completed while you were away"."""
    finished: dict[str, dict[str, Any]] = {}
    last = since
    while True:
        batch = await dbview.events_since(ctx.db, last, limit=500)
        if not batch:
            break
        for e in batch:
            last = max(last, int(e["id"]))
            if e.get("state") in FINISHED_STATES and e.get("production_id"):
                finished[e["production_id"]] = e  # the latest outcome per production
        if len(batch) < 500:
            break
    return {"last_id": last, "finished": sorted(finished.values(), key=lambda e: e["id"])}
