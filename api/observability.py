"""Request ids, request latency and traces for the API.

Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new one):
it is on the response, on every log line written while the request runs (tubeflow/logging.py)
and on one access line per request.  Latency goes to a histogram per route template (bounded
cardinality: ``/api/productions/{production_id}``, not each id), served with /metrics.  When
tracing is on, FastAPI's OpenTelemetry instrumentation starts the trace the Temporal client
continues into the workflow and its activities.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tubeflow.logging import request_id

log = logging.getLogger("tubeflow.api.access")
REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "tubeflow_api_request_seconds",
    "API request latency by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Long-lived streams would only skew the latency histogram.
_NOT_TIMED = ("/api/events",)
# Probes, scrapes and static files: their access lines only at DEBUG unless they fail.
_QUIET = ("/healthz", "/metrics", "/static/")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            if not scope["path"].startswith(_NOT_TIMED):
                REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            quiet = scope["path"].startswith(_QUIET) or route == "/metrics"
            log.log(
                logging.DEBUG if quiet and status < 400 else logging.INFO,
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={"fields": {"status": status, "route": route, "duration_ms": round(elapsed * 1000, 1)}},
            )
            request_id.reset(token)


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def instrument(app: Any) -> None:
    """Trace requests when a tracer provider is active (tubeflow/tracing.py)."""
    from tubeflow import tracing

    tp = tracing.provider()
    if tp is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tp, excluded_urls="/metrics,/healthz,/static/.*")
