"""What every request handler needs, built once per app (see :func:`api.app.create_app`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from temporalio.client import Client

from api.fetch import FetchPolicy
from api.job_slots import JobSlots
from api.ratelimit import RateLimiter
from tubeflow.db.engine import Database
from tubeflow.settings import Settings
from tubeflow.storage import Storage

if TYPE_CHECKING:
    from api.credentials import AuthCache, SignInGuard
    from api.notify import ChangeNotifier


@dataclass
class MetricsCache:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    body: bytes | None = None
    content_type: str = ""
    at: float = 0.0


@dataclass
class ApiContext:
    settings: Settings
    database: Database | None  # opened by the app's lifespan unless given
    storage: Storage
    limiter: RateLimiter
    fetch_policy: FetchPolicy
    auth: AuthCache
    guard: SignInGuard
    notifier: ChangeNotifier
    temporal: Client | None = None
    # Open /api/events streams per key (see routes_events), for the per-key cap.
    streams: dict[str, int] = field(default_factory=dict)
    # On PostgreSQL: this process's rows in open_streams, renewed by one heartbeat task while any are open.
    shared_streams: set[str] = field(default_factory=set)
    stream_heartbeat: asyncio.Task[None] | None = None
    metrics_cache: MetricsCache = field(default_factory=MetricsCache)
    # Video job slots reserved per key, so a burst of requests can't overrun the per-key limit.
    job_slots: JobSlots = field(default_factory=JobSlots)
    # The dashboard's "Connect YouTube" flows (their state travels sealed; this keeps the used ones).
    connector: Any = None
    platform_connector: Any = None  # the same for "Connect TikTok" / "Connect Instagram"

    @property
    def db(self) -> Database:
        if self.database is None:
            raise RuntimeError("the API's database is opened when the app starts (lifespan); none yet")
        return self.database

    def client(self) -> Client:
        if self.temporal is None:
            raise HTTPException(503, "Temporal is not connected; is the dev server running (`tubeflow dev`)?")
        return self.temporal


def shared_database(ctx: ApiContext) -> Database | None:
    """The database limits are kept in when replicas must share them (PostgreSQL), else None:
    on SQLite (one machine) each limit stays in this process's memory, which costs nothing."""
    db = ctx.database
    return db if db is not None and db.dialect == "postgresql" else None


def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.tubeflow
    return ctx


# What a route asks for to reach the app's connections: ``ctx: Ctx``.
Ctx = Annotated[ApiContext, Depends(get_ctx)]
