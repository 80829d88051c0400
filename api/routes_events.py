"""Live updates over Server-Sent Events, fed from the database's events table.

Reading the table (woken by change notifications, :mod:`api.notify`) instead of holding
in-memory subscriptions means an API restart loses nothing: a browser reconnects with
``Last-Event-ID`` (EventSource does this itself) or ``?since=`` and receives what it missed, in
order.  SSE rather than WebSocket because the
traffic is one-way and EventSource reconnects on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from api import dbview
from api.answers_productions import Missed
from api.auth import ViewerKey
from api.context import ApiContext, Ctx, shared_database
from tubeflow.contracts import State
from tubeflow.db import limits
from tubeflow.db.engine import Database

log = logging.getLogger("tubeflow.api")
router = APIRouter(prefix="/api", tags=["events"])
T = TypeVar("T")

KEEPALIVE_S = 15.0
SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events until the client leaves"}
}
FINISHED_STATES = tuple(s.value for s in State if s.finished)


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
    request: Request, ctx: ApiContext, since: int, fallback_s: float, max_s: float | None
) -> AsyncIterator[str]:
    """Stored events after ``since`` (stage changes, checkpoints, endings), then live ones; plus
    progress of running productions, which changes too often to be stored as events.

    Between rounds the stream sleeps until the tables change (:mod:`api.notify`), or at most
    ``fallback_s`` in case a notification was lost."""
    notifier = ctx.notifier
    yield "retry: 2000\n\n"
    last = since
    sent_progress: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    async with notifier.subscribed():
        while True:
            if await request.is_disconnected():
                return
            seen = notifier.generation
            batch = await _shielded(dbview.events_since(ctx.db, last, limit=200))
            # Read progress before yielding anything: a client reacting to an event (or another
            # writer) must not move a production on before this round has seen it once, or its
            # "first sighting" would swallow the change.
            running = None if len(batch) == 200 else await _shielded(dbview.running_progress(ctx.db))
            for event in batch:
                last = max(last, int(event["id"]))
                last_sent = loop.time()
                yield sse_message(event)
            if running is None:
                continue  # drain a backlog before anything else
            for pid, row in running.items():
                if sent_progress.get(pid) != row:
                    if pid in sent_progress:  # the first sighting is already on the page
                        last_sent = loop.time()
                        yield progress_message(pid, row)
            sent_progress = running
            now = loop.time()
            if max_s is not None and now - started >= max_s:
                return
            timeout = min(fallback_s, KEEPALIVE_S - (now - last_sent))
            if max_s is not None:
                timeout = min(timeout, max_s - (now - started))
            await notifier.wait(seen, max(0.0, timeout))
            if loop.time() - last_sent >= KEEPALIVE_S:
                last_sent = loop.time()
                yield ": keep-alive\n\n"


STREAM_TTL_S = 30.0  # a shared stream row outlives its last heartbeat by this much (a killed replica's streams)


class StreamSlot:
    """One of a key's concurrent streams; released once, whichever way the stream ends.

    On SQLite the count is this process's; on PostgreSQL each stream is a row of ``open_streams``
    that every replica counts, renewed every ``STREAM_TTL_S / 3`` while the stream is open."""

    def __init__(self, ctx: ApiContext, key_id: str, shared_id: str = "") -> None:
        self.ctx, self.key_id, self.shared_id, self.held = ctx, key_id, shared_id, True
        if not shared_id:
            ctx.streams[key_id] = ctx.streams.get(key_id, 0) + 1

    @classmethod
    async def open(cls, ctx: ApiContext, key_id: str, why: str) -> StreamSlot:
        """A slot for a new stream, or 429 when the key already has the cap open (``why``: what to close)."""
        cap = ctx.settings.events_max_streams_per_key
        shared = shared_database(ctx)
        full = ctx.streams.get(key_id, 0) >= cap
        stream_id = ""
        if shared is not None:
            stream_id = uuid.uuid4().hex
            full = await limits.open_stream(shared, key_id, stream_id, cap, STREAM_TTL_S) is None
        if full:
            raise HTTPException(
                429,
                f"this key already has {cap} live event streams open (TUBEFLOW_EVENTS_MAX_STREAMS_PER_KEY); {why}",
                headers={"Retry-After": "5"},
            )
        if shared is not None:
            ctx.shared_streams.add(stream_id)
            if ctx.stream_heartbeat is None or ctx.stream_heartbeat.done():
                ctx.stream_heartbeat = asyncio.create_task(_heartbeat(ctx, shared))
        return cls(ctx, key_id, stream_id)

    async def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if self.shared_id:
            self.ctx.shared_streams.discard(self.shared_id)
            db = shared_database(self.ctx)
            if db is not None:
                # A client that goes away cancels the response, and with it this cleanup: shield it,
                # or the row would count against the key until its expiry.
                with anyio.CancelScope(shield=True):
                    await limits.close_stream(db, self.shared_id)
            return
        left = self.ctx.streams.get(self.key_id, 1) - 1
        if left > 0:
            self.ctx.streams[self.key_id] = left
        else:
            self.ctx.streams.pop(self.key_id, None)


async def _heartbeat(ctx: ApiContext, db: Database) -> None:
    """Renew this process's open streams until none is left (the next one starts a new task)."""
    while ctx.shared_streams:
        await asyncio.sleep(STREAM_TTL_S / 3)
        try:
            await limits.renew_streams(db, sorted(ctx.shared_streams), STREAM_TTL_S)
        except Exception as e:  # a database blip: the rows outlive one missed renewal
            log.warning("could not renew open event streams: %s", e)


async def _held(slot: StreamSlot, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await slot.release()


@router.get("/events", response_class=StreamingResponse, responses=SSE_DOC)
async def events(
    request: Request,
    ctx: Ctx,
    who: ViewerKey,
    since: int | None = Query(None, ge=0, le=2**62, description="the last event id you saw; omit for live events only"),
    max_s: float | None = Query(None, gt=0, le=3600, description="close the stream after this many seconds"),
    last_event_id: str | None = Header(None, max_length=20),
) -> StreamingResponse:
    slot = await StreamSlot.open(ctx, who.key_id, "close one (a browser tab) first")
    # A reconnecting EventSource repeats the original URL, so its Last-Event-ID header wins over ?since=.
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else since
    if start is None:
        start = await dbview.latest_event_id(ctx.db)
    fallback_s = float(getattr(request.app.state, "events_poll_s", 10.0))
    return StreamingResponse(
        _held(slot, event_stream(request, ctx, start, fallback_s, max_s)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(slot.release),
    )


@router.get("/events/missed", response_model=Missed)
async def missed(
    ctx: Ctx,
    _: ViewerKey,
    since: int = Query(..., ge=0, le=2**62, description="the last event id the reviewer saw"),
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
