"""OpenTelemetry traces: one trace from an API request through the workflow to its activities.

Off unless an OTLP endpoint is configured (``TUBEFLOW_OTLP_ENDPOINT`` or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``): then every process exports its spans over OTLP/HTTP.  The
Temporal client (service/client.py) adds Temporal's TracingInterceptor whenever a tracer provider
is active, so workers built from that client trace workflows and activities, and the API's
FastAPI instrumentation starts the trace.  Tests install their own provider with :func:`use`.
"""

from __future__ import annotations

from typing import Any

from tubeflow.settings import Settings

_provider: Any = None


def provider() -> Any:
    """The active ``TracerProvider``, or None when tracing is off."""
    return _provider


def use(tracer_provider: Any) -> None:
    """Make ``tracer_provider`` the one tubeflow traces with (None turns tracing off)."""
    global _provider
    _provider = tracer_provider


def configure_tracing(settings: Settings, service: str) -> Any:
    """Export spans over OTLP when an endpoint is set; returns the provider (None when off)."""
    if not settings.otlp_endpoint:
        return _provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    tp = TracerProvider(resource=Resource.create({"service.name": f"tubeflow-{service}"}))
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use(tp)
    return tp


def shutdown() -> None:
    """Flush spans still buffered (at process exit)."""
    if _provider is not None and hasattr(_provider, "shutdown"):
        _provider.shutdown()
