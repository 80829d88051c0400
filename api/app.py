"""The FastAPI application: REST API, SSE feed, dashboard pages and the seeds' video job API.

``create_app`` takes ready-made dependencies (tests and the bench pass a Temporal client and a
database they control); otherwise the lifespan connects from the settings.  If Temporal is down at
start-up the API still serves lists and media from the database and storage, and answers 503 to
anything that must talk to a workflow, so a restart of the dev server does not take the dashboard
down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path
from temporalio.client import Client

from api import (
    errors,
    routes_broll,
    routes_channels,
    routes_dashboard,
    routes_events,
    routes_job_events,
    routes_keys,
    routes_media,
    routes_metrics,
    routes_productions,
    routes_video,
)
from api.answers import Health
from api.context import ApiContext
from api.credentials import AuthCache, SignInGuard
from api.fetch import FetchPolicy
from api.middleware import BodyLimit, CleanTarget, SecurityHeaders, dashboard_csp
from api.notify import ChangeNotifier
from api.observability import RequestContext, instrument
from api.ratelimit import RateLimiter
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings
from tubeflow.storage import Storage, open_storage

log = logging.getLogger("tubeflow.api")
STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    temporal_client: Client | None = None,
    db: Database | None = None,
    storage: Storage | None = None,
    rate_limiter: RateLimiter | None = None,
    fetch_policy: FetchPolicy | None = None,
    key_cache_s: float = 60.0,
    events_poll_s: float = 10.0,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_db = None
        ctx: ApiContext = app.state.tubeflow
        if ctx.database is None:
            from tubeflow.db.engine import open_database

            ctx.database = owned_db = await open_database(settings)
        if ctx.temporal is None:
            from service.client import connect

            try:
                ctx.temporal = await connect(settings)
            except Exception as e:  # the dashboard still lists and plays without Temporal
                log.warning("Temporal at %s is not reachable (%s); reviews answer 503", settings.temporal_address, e)
        metrics_server = await _start_metrics_server(ctx) if settings.metrics_bind else None
        try:
            yield
        finally:
            if metrics_server is not None:
                await _stop(metrics_server)
            if owned_db is not None:
                await owned_db.close()

    app = FastAPI(
        title="tubeflow",
        version="0.1.0",
        description="Video productions on Temporal with human checkpoints: start, review, watch, and the "
        "seeds' GPU video job API. Authenticate with `Authorization: Bearer <key>` or `X-API-Key`.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs below, with Swagger UI from the swagger-ui-bundle wheel
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(CleanTarget)
    app.add_middleware(SecurityHeaders, page_csp=dashboard_csp(settings))
    app.add_middleware(RequestContext)  # outermost: the id and the timing cover everything inside
    instrument(app)
    errors.install(app)
    app.state.tubeflow = ApiContext(
        settings=settings,
        database=db,
        storage=storage or open_storage(settings),
        limiter=rate_limiter or _limiter(settings),
        fetch_policy=fetch_policy or FetchPolicy.from_settings(settings),
        temporal=temporal_client,
        auth=AuthCache(ttl_s=key_cache_s),
        notifier=ChangeNotifier(db.url if db is not None else settings.resolved_database_url()),
        guard=SignInGuard(settings),
    )
    app.state.events_poll_s = events_poll_s

    @app.get("/healthz", include_in_schema=False, response_model=Health)
    async def healthz() -> dict[str, Any]:
        ctx: ApiContext = app.state.tubeflow
        return {"ok": True, "temporal": ctx.temporal is not None}

    app.include_router(routes_productions.router)
    app.include_router(routes_broll.router)
    app.include_router(routes_channels.router)
    app.include_router(routes_events.router)
    app.include_router(routes_media.router)
    app.include_router(routes_keys.router)
    app.include_router(routes_video.router)
    app.include_router(routes_job_events.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_metrics.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        """Swagger UI from the installed wheel, started by /static/docs.js: nothing loads from a
        CDN (an offline or locked-down deployment still has its docs) and no inline script runs."""
        return HTMLResponse(DOCS_PAGE)

    return app


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tubeflow API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


async def _start_metrics_server(ctx: ApiContext) -> tuple[Any, asyncio.Task[None]]:
    """Serve /metrics alone on TUBEFLOW_METRICS_BIND (e.g. an address only Prometheus reaches)."""
    import uvicorn

    host, _, port = ctx.settings.metrics_bind.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"TUBEFLOW_METRICS_BIND must be host:port, not {ctx.settings.metrics_bind!r}")
    config = uvicorn.Config(
        routes_metrics.metrics_app(ctx), host=host.strip("[]"), port=int(port), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(250):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # the bind failed: say why
    log.info("metrics on http://%s/metrics", ctx.settings.metrics_bind)
    return server, task


async def _stop(running: tuple[Any, asyncio.Task[None]]) -> None:
    server, task = running
    server.should_exit = True
    await asyncio.wait({task}, timeout=5)


def _limiter(settings: Settings) -> RateLimiter:
    return RateLimiter(
        rate_per_s=settings.api_rate_per_s, burst=settings.api_rate_burst, max_buckets=settings.rate_limit_max_buckets
    )
