"""Prometheus /metrics for the control plane.

Behind a token (TUBEFLOW_METRICS_TOKEN) or any API key, or served without either on a separate
address (TUBEFLOW_METRICS_BIND) that only the monitoring network reaches; the answer is cached
for TUBEFLOW_METRICS_CACHE_S so scrapes cannot load the database and Temporal.

Computed at scrape time from what is durable (the GPU queue in Temporal, productions in the
database), not from counters in this process: the API may restart or run as several replicas,
and the work itself happens in worker processes.  The autoscaler exports its own decisions and
worker states on its metrics port (TUBEFLOW_AUTOSCALER_METRICS_PORT).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import Counter as Tally
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from api.auth import authenticate
from api.context import ApiContext, Ctx
from api.observability import REGISTRY as REQUEST_REGISTRY
from service.backlog import export_queue_metrics
from service.metrics import TubeflowMetrics
from tubeflow.db import repo

router = APIRouter()
log = logging.getLogger("tubeflow.api.metrics")
RECENT = 500  # productions looked at per scrape (newest first)
FAILED = ("failed", "needs_attention")
HOUR = timedelta(hours=1)


@router.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
async def metrics(request: Request, ctx: Ctx) -> Response:
    """Behind the metrics token or an API key; 404 when served on its own address (TUBEFLOW_METRICS_BIND)."""
    if ctx.settings.metrics_bind:
        raise HTTPException(404, "metrics are served on TUBEFLOW_METRICS_BIND, not here")
    await _scraper_allowed(request, ctx)
    return await cached_metrics(ctx)


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


async def _scraper_allowed(request: Request, ctx: ApiContext) -> None:
    token = ctx.settings.metrics_token
    if token and hmac.compare_digest(_bearer(request).encode(), token.encode()):
        wait = ctx.limiter.check("metrics-token")
        if wait > 0:
            raise HTTPException(429, "metrics are scraped too often", headers={"Retry-After": str(int(wait) + 1)})
        return
    await authenticate(request, ctx)  # any API key (per-key rate limit, sign-in guard)


async def cached_metrics(ctx: ApiContext) -> Response:
    """The last answer while younger than TUBEFLOW_METRICS_CACHE_S: one computation per interval,
    however many scrapers (or attackers) ask, since each reads 500 productions and asks Temporal."""
    cache = ctx.metrics_cache
    async with cache.lock:
        now = time.monotonic()
        if cache.body is None or now - cache.at >= ctx.settings.metrics_cache_s:
            cache.body, cache.content_type = await compute_metrics(ctx)
            cache.at = time.monotonic()
        return Response(cache.body, media_type=cache.content_type)


def metrics_app(ctx: ApiContext) -> FastAPI:
    """The app served on TUBEFLOW_METRICS_BIND: only /metrics, open unless a token is set."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def scrape(request: Request) -> Response:
        token = ctx.settings.metrics_token
        if token and not hmac.compare_digest(_bearer(request).encode(), token.encode()):
            raise HTTPException(401, "send the metrics token: Authorization: Bearer <TUBEFLOW_METRICS_TOKEN>")
        return await cached_metrics(ctx)

    return app


async def compute_metrics(ctx: ApiContext) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    m = TubeflowMetrics(registry)
    by_state = Gauge("tubeflow_productions", "Productions by state (newest 500)", ["state"], registry=registry)
    pollers = Gauge("tubeflow_gpu_queue_pollers", "GPU workers polling the GPU queue recently", registry=registry)
    failure_rate = Gauge(
        "tubeflow_production_failure_rate",
        "Share of productions ending in the last hour that failed or need attention",
        registry=registry,
    )
    oldest_wait = Gauge(
        "tubeflow_checkpoint_oldest_wait_seconds",
        "How long the longest-waiting open checkpoint has waited for a reviewer",
        registry=registry,
    )
    if ctx.temporal is not None:
        try:
            obs = await export_queue_metrics(ctx.temporal, ctx.settings.temporal_namespace, ctx.settings.gpu_queue, m)
            pollers.set(sum(1 for t in obs.pollers.values() if time.time() - t < 60))
        except Exception as e:  # metrics must answer even when Temporal does not
            log.warning("GPU queue backlog unavailable: %s", e)

    rows = await repo.list_productions(ctx.db, limit=RECENT)
    for state, n in Tally(r.state for r in rows).items():
        by_state.labels(state=state).set(n)
    now = datetime.now(UTC)
    done = [r for r in rows if r.state == "completed" and r.finished_at is not None]
    m.jobs.labels(kind="production").inc(len(done))
    m.jobs_per_hour.set(sum(1 for r in done if now - _utc(r.finished_at) <= timedelta(hours=1)))
    ended = [r for r in rows if r.state in ("completed", *FAILED) and now - _utc(r.finished_at or r.updated_at) <= HOUR]
    failure_rate.set(sum(1 for r in ended if r.state in FAILED) / len(ended) if ended else 0.0)
    waiting = [now - _utc(r.updated_at) for r in rows if r.state == "waiting" and r.checkpoint]
    oldest_wait.set(max(waiting).total_seconds() if waiting else 0.0)
    for r in done:
        render = r.outputs.get("render") or {}
        video_s = float(render.get("duration_s") or 0.0)
        # The render activity's own worker time: transcription and Shorts are not the render.
        render_s = float(render.get("render_s") or 0.0)
        if video_s > 0 and render_s > 0:
            m.render_finished(render_s, video_s)
        if "cost_usd" in r.outputs:
            m.video_cost(float(r.outputs["cost_usd"]))
    body, content_type = m.exposition()
    return body + generate_latest(REQUEST_REGISTRY), content_type


def _utc(t: datetime | None) -> datetime:
    assert t is not None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
