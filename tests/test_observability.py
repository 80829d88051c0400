"""Observability: one trace from an API request to the GPU activity, JSON logs with workflow and
activity context and a request id, worker metrics (retries fed), and alert rules and the Grafana
dashboard using only metrics that something really exports.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import re
import socket
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from service.metrics import TubeflowMetrics
from tests.conftest import tiny_settings
from tests.workflow_helpers import wait_until
from tubeflow import tracing
from tubeflow.settings import REPO_ROOT

log = logging.getLogger("tubeflow.test.plain")
SCRAPE_PORT: list[int] = []
MID_RUN: list[str] = []


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no access log on stderr
        pass


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[str]:
    Image.new("RGB", (320, 180), (30, 90, 160)).save(tmp_path / "still.png")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_one_trace_from_the_api_request_through_the_workflow_to_the_gpu_activity(
    temporal_env: WorkflowEnvironment, tmp_path: Path, origin: str
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from api.app import create_app
    from api.auth import create_key
    from api.fetch import FetchPolicy
    from service.client import connect
    from tests.workflow_helpers import running_stack

    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(tp)
    try:
        s = tiny_settings(
            tmp_path / "home",
            temporal_address=temporal_env.client.service_client.config.target_host,
            temporal_namespace=temporal_env.client.namespace,
        )
        client = await connect(s)  # carries the TracingInterceptor; the workers below inherit it
        async with running_stack(client, s) as stack:
            key = await create_key(stack.db, "trace", "editor")
            app = create_app(
                s,
                temporal_client=client,
                db=stack.db,
                storage=stack.storage,
                fetch_policy=FetchPolicy(allow_hosts=frozenset({origin}), max_bytes=5 << 20, timeout_s=10),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"X-API-Key": key}) as http:
                r = await http.post("/video/img2vid", json={"url_image": f"http://{origin}/still.png", "duration": 1})
                assert r.status_code == 202, r.text
                job = r.json()["job_id"]
                for _ in range(480):
                    st = (await http.get(f"/jobs/{job}")).json()
                    if st["status"] in ("completed", "failed"):
                        break
                    await asyncio.sleep(0.25)
                assert st["status"] == "completed", st
    finally:
        tracing.use(None)
    spans = exporter.get_finished_spans()
    request = next(sp for sp in spans if sp.name.startswith("POST /video/img2vid") and sp.parent is None)
    trace = [sp for sp in spans if sp.context.trace_id == request.context.trace_id]
    names = {sp.name for sp in trace}
    for expected in (
        "StartWorkflow:VideoJobWorkflow",
        "RunWorkflow:VideoJobWorkflow",
        "StartActivity:video_img2vid",
        "RunActivity:video_img2vid",
    ):
        assert expected in names, f"{expected} is not in the request's trace: {sorted(names)}"


# ------------------------------------------------------------------------------ logs


@activity.defn(name="obs_flaky")
async def flaky(n: int) -> int:
    activity.logger.info("activity logger line")
    log.info("plain module line inside the activity")
    if activity.info().attempt < 2:
        raise RuntimeError("first attempt fails on purpose")
    if SCRAPE_PORT:
        await asyncio.sleep(1.0)  # running long enough for the oldest-running gauge to see it
        MID_RUN.append(await asyncio.to_thread(_scrape, SCRAPE_PORT[0]))
    return n + 1


def _scrape(port: int) -> str:
    return str(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())  # noqa: S310


@workflow.defn(name="ObsWorkflow", sandboxed=False)
class ObsWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        workflow.logger.info("workflow line")
        return await workflow.execute_activity(
            flaky,
            n,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        )


async def _scrape_until_idle(port: int) -> str:
    """The exporter's next tick sees no running activity; polled, since a busy box delays ticks."""
    last: list[str] = []

    async def idle() -> bool:
        last[:] = [await asyncio.to_thread(_scrape, port)]
        return _sample(last[0], "tubeflow_activity_oldest_running_seconds", activity_type="obs_flaky") == 0

    await wait_until(idle, 20, "the exporter to see no running activity")
    return last[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_json_logs_carry_context_and_worker_metrics_count_retries(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from service.client import connect
    from service.observability import ActivityMetrics, metrics_runtime, set_price
    from tubeflow.logging import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("worker-test", "INFO", stream)
    port = _free_port()
    SCRAPE_PORT[:] = [port]
    runtime = metrics_runtime(port, "127.0.0.1")
    s = tiny_settings(
        tmp_path,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_namespace=temporal_env.client.namespace,
    )
    try:
        client = await connect(s, runtime=runtime)
        probe = ActivityMetrics()
        set_price(runtime.metric_meter, 0.42, s.gpu_queue)
        exporter = asyncio.create_task(probe.export(runtime.metric_meter, s.gpu_queue, every_s=0.2))
        wf_id = f"production-{uuid.uuid4().hex[:12]}"
        async with Worker(
            client,
            task_queue=s.gpu_queue,
            workflows=[ObsWorkflow],
            activities=[flaky],
            interceptors=[probe],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            assert await client.execute_workflow(ObsWorkflow.run, 1, id=wf_id, task_queue=s.gpu_queue) == 2
        scrape = await _scrape_until_idle(port)  # a few exporter ticks after the activity finished
        exporter.cancel()
    finally:
        SCRAPE_PORT.clear()
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    pid = wf_id.removeprefix("production-")
    wf_line = next(x for x in lines if x["msg"] == "workflow line")
    assert wf_line["workflow_id"] == wf_id and wf_line["production_id"] == pid and wf_line["process"] == "worker-test"
    plain = [x for x in lines if x["msg"] == "plain module line inside the activity"]
    assert [x["attempt"] for x in plain] == [1, 2], "a plain module logger inside an activity gets its context"
    assert all(x["activity"] == "obs_flaky" and x["production_id"] == pid and x["workflow_id"] == wf_id for x in plain)
    act = [x for x in lines if x["msg"] == "activity logger line"]
    assert [x["attempt"] for x in act] == [1, 2] and act[0]["activity"] == "obs_flaky"

    assert _sample(scrape, "tubeflow_activity_attempts_total", activity_type="obs_flaky") == 2
    assert _sample(scrape, "tubeflow_activity_retries_total", activity_type="obs_flaky") == 1
    assert _sample(scrape, "tubeflow_worker_price_per_hour") == pytest.approx(0.42)
    assert _sample(MID_RUN[0], "tubeflow_activity_oldest_running_seconds", activity_type="obs_flaky") >= 0.2
    assert _sample(scrape, "tubeflow_activity_oldest_running_seconds", activity_type="obs_flaky") == 0, "finished"
    _check_alerts_and_dashboard(scrape, await _api_scrape(s, tmp_path))


def _sample(scrape: str, name: str, **labels: str) -> float:
    for line in scrape.splitlines():
        m = re.match(rf"^{name}(\{{[^}}]*\}})?\s+(\S+)", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            return float(m.group(2))
    raise AssertionError(f"{name} {labels} not exported:\n" + "\n".join(x for x in scrape.splitlines() if name in x))


async def _api_scrape(s: Any, tmp_path: Path) -> str:
    """The API's /metrics after one request (the latency histogram has a sample)."""
    from api.app import create_app
    from tubeflow.db.engine import open_database

    db = await open_database(s)
    try:
        app = create_app(s.with_overrides(metrics_token="scrape-token"), db=db)  # /metrics is not anonymous
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            r = await http.get("/healthz", headers={"X-Request-ID": "req-abc.123"})
            assert r.headers["X-Request-ID"] == "req-abc.123"
            r = await http.get("/healthz", headers={"X-Request-ID": "bad id\n"})
            assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"]), "an unsafe id is replaced"
            return (await http.get("/metrics", headers={"Authorization": "Bearer scrape-token"})).text
    finally:
        await db.close()


def _metric_names(text: str) -> set[str]:
    found = set(re.findall(r"\b((?:tubeflow|temporal)_[a-z0-9_]+)", text))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in found}


def _exported(scrape: str) -> set[str]:
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"^([a-z_0-9]+)[{ ]", scrape, re.M)} | {
        m for m in re.findall(r"^# TYPE ([a-z_0-9]+) ", scrape, re.M)
    }


def _check_alerts_and_dashboard(worker_scrape: str, api_scrape: str) -> None:
    from prometheus_client import generate_latest

    autoscaler = TubeflowMetrics()
    autoscaler.gpu_cost.labels(provider="x").inc(0)
    autoscaler_scrape = generate_latest(autoscaler.registry).decode()
    exported = _exported(worker_scrape) | _exported(api_scrape) | _exported(autoscaler_scrape)
    assert "tubeflow_api_request_seconds" in exported and "tubeflow_production_failure_rate" in exported
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    required = {"GpuQueueBacklog", "RenderTooLong", "ProductionFailureRate", "GpuSpendPerHour", "CheckpointWaiting"}
    assert required <= alerts
    dashboard = json.loads((REPO_ROOT / "deploy" / "grafana" / "tubeflow-dashboard.json").read_text())
    panel_exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert panel_exprs, "the dashboard has queries"
    used = _metric_names("\n".join(exprs + panel_exprs))
    missing = sorted(used - exported)
    assert not missing, f"alert rules or dashboard use metrics nothing exports: {missing}"


def test_spans_go_over_otlp_http_when_the_standard_endpoint_variable_is_set() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT alone turns tracing on; spans reach a collector at /v1/traces."""
    from http.server import BaseHTTPRequestHandler

    from tubeflow.settings import Settings
    from tubeflow.tracing import configure_tracing

    received: list[tuple[str, str, int]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, self.headers.get("Content-Type", ""), len(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"})
        assert Settings.from_env({}).otlp_endpoint == "" and s.otlp_endpoint
        tp = configure_tracing(s, "test")
        try:
            with tp.get_tracer("t").start_as_current_span("one span"):
                pass
            tp.force_flush()
        finally:
            tracing.use(None)
            tp.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    assert received and received[0][0] == "/v1/traces" and received[0][1] == "application/x-protobuf"
    assert received[0][2] > 0
