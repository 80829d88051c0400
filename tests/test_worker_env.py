"""A GPU worker started with exactly what a provider sent to the cloud API serves the queue.

For each provider the autoscaler launches one worker against the fake cloud API (RunPod, Vast.ai,
Kubernetes; the local provider spawns the process itself).  The environment the fake received (for
Kubernetes: the Secret the pods read with envFrom) is all a real ``tubeflow worker --queue gpu``
process gets: no AWS variables, no files.  It must reach Temporal through a TLS proxy that wants a
client certificate and an API key, read and write S3 (moto) with the credentials it was given, and
finish an img2vid render.  Secrets appear in neither the autoscaler's log nor its state file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from autoscaler.controller import Autoscaler, ControllerConfig
from autoscaler.policy import PolicyConfig, ScalingPolicy
from service.backlog import QueueObservation
from service.metrics import TubeflowMetrics
from tests.conftest import tiny_settings
from tests.mediagen import still_image
from tests.test_observability import _sample
from tests.tls_proxy import make_pki, tls_proxy
from tubeflow.job_contracts import Img2VidJob, VideoJobInput, VideoJobResult
from tubeflow.settings import REPO_ROOT, Settings
from tubeflow.storage import open_storage
from workflows.video_job import VideoJobWorkflow

API_KEY = "tf-worker-key-51c2"
S3_KEY_ID = "AKIDWORKERTEST"
S3_SECRET = "s3-secret/worker+test"
OS_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR")


class _Queue:
    """One scripted observation: one task waiting, no workers yet (the autoscaler launches one)."""

    async def __call__(self) -> QueueObservation:
        return QueueObservation("q", 1, 5.0, {}, {}, waiting=1)


@contextmanager
def _provider(name: str, s: Settings) -> Iterator[tuple[Any, Any]]:
    """(provider, a function returning the env its last launch sent) against the fake API."""
    if name == "runpod":
        from autoscaler.providers.runpod import RunPodProvider
        from tests.fake_runpod import fake_runpod

        with fake_runpod() as (url, st):
            p = RunPodProvider.from_settings(s.with_overrides(runpod_api_key=st.api_key, runpod_base_url=url))
            yield p, lambda: st.deploys[-1]["env"]
    elif name == "vastai":
        from autoscaler.providers.vastai import VastAiProvider
        from tests.fake_vastai import fake_vastai

        with fake_vastai() as (url, vs):
            vp = VastAiProvider.from_settings(s.with_overrides(vastai_api_key=vs.api_key, vastai_base_url=url))
            yield vp, lambda: next(iter(vs.instances.values()))["extra_env"]
            vp.close()
    elif name == "kubernetes":
        from kubernetes import client

        from autoscaler.providers.kubernetes import WORKER_SECRET, KubernetesProvider
        from tests.fake_k8s import fake_k8s, secret_env

        with fake_k8s() as (url, ks):
            kp = KubernetesProvider.from_settings(
                s.with_overrides(k8s_gpu_price_per_hour=0.61),
                api_client=client.ApiClient(client.Configuration(host=url)),
            )

            def pod_env() -> dict[str, str]:
                # envFrom the Secret, plus what the manifest sets itself (downward API identity, NVENC).
                pod = next(iter(ks.pods))
                return {**secret_env(ks, WORKER_SECRET), "TUBEFLOW_WORKER_IDENTITY": pod}

            yield kp, pod_env
    else:
        raise AssertionError(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def metrics_text(port: int) -> str:
    return str(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())  # noqa: S310


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "worker", "--queue", "gpu"], env=env, cwd=REPO_ROOT, stdout=out, stderr=out
        )


async def _render(env: WorkflowEnvironment, s: Settings, storage: Any, tmp: Path) -> VideoJobResult:
    image_key = f"jobs/{uuid.uuid4().hex[:8]}/in.png"
    storage.put_file(image_key, still_image(tmp / "in.png"), "image/png")
    inp = VideoJobInput(
        job_id=uuid.uuid4().hex[:8],
        op="img2vid",
        img2vid=Img2VidJob(image_key=image_key, output_key=image_key.replace("in.png", "out.mp4"), duration_s=1.0),
        gpu_queue=s.gpu_queue,
        max_attempts=1,
    )
    async with Worker(env.client, task_queue=s.main_queue, workflows=[VideoJobWorkflow]):
        handle = await env.client.start_workflow(
            VideoJobWorkflow.run, inp, id=f"videojob-env-{inp.job_id}", task_queue=s.main_queue
        )
        return await asyncio.wait_for(handle.result(), 180)


@pytest.mark.parametrize("provider_name", ["runpod", "vastai", "kubernetes", "local"])
async def test_worker_from_the_provider_env_connects_over_tls_and_renders_to_s3(
    provider_name: str,
    temporal_env: WorkflowEnvironment,
    moto_endpoint: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pki = make_pki()
    target = temporal_env.client.service_client.config.target_host
    async with tls_proxy(target, pki, api_key=API_KEY) as (address, log):
        s = tiny_settings(
            tmp_path,
            temporal_address=address,
            temporal_namespace=temporal_env.client.namespace,
            temporal_tls_ca=pki.ca.cert.decode(),
            temporal_tls_cert=pki.client.cert.decode(),
            temporal_tls_key=pki.client.key.decode(),
            temporal_tls_server_name="temporal.test",
            temporal_api_key=API_KEY,
            storage="s3",
            s3_bucket=f"wenv-{uuid.uuid4().hex[:8]}",
            s3_endpoint_url=moto_endpoint,
            s3_access_key_id=S3_KEY_ID,
            s3_secret_access_key=S3_SECRET,
            autoscaler_local_price_per_hour=0.5,
            worker_metrics_port=_free_port(),
            autoscaler_max_price_per_hour=1.0,
        )
        storage = open_storage(s)
        secrets = [API_KEY, S3_SECRET, pki.client.key.decode().splitlines()[1]]
        with ExitStack() as stack:
            proc: subprocess.Popen[bytes] | None = None
            if provider_name == "local":
                from autoscaler.providers.local import LocalProvider

                provider: Any = LocalProvider.from_settings(s, cwd=REPO_ROOT, scope=f"wenv-{uuid.uuid4().hex[:6]}")
                stack.callback(provider.close, 5)
                sent: Any = None
            else:
                provider, sent = stack.enter_context(_provider(provider_name, s))
            state_path = tmp_path / "autoscaler" / "state.json"
            scaler = Autoscaler(
                provider,
                _Queue(),
                ScalingPolicy(PolicyConfig(max_workers=1, scale_up_cooldown_s=0)),
                ControllerConfig(state_path=state_path),
                TubeflowMetrics(),
            )
            with caplog.at_level(logging.DEBUG):
                report = await scaler.tick()
            assert len(report.launched) == 1, report
            (tracked,) = scaler.tracked.values()
            if sent is not None:
                worker_env = dict(sent())
                for key in ("TUBEFLOW_TEMPORAL_API_KEY", "TUBEFLOW_TEMPORAL_TLS_KEY", "TUBEFLOW_S3_SECRET_ACCESS_KEY"):
                    assert key in worker_env, f"{provider_name} did not send {key}"
                assert float(worker_env["TUBEFLOW_WORKER_PRICE_PER_HOUR"]) == pytest.approx(tracked.price_per_hour)
                assert tracked.price_per_hour > 0
                assert not any(k.startswith("AWS_") for k in worker_env)
                home = tmp_path / "worker-home"
                env = {k: os.environ[k] for k in OS_ENV if k in os.environ}
                env.update(worker_env)
                env.update(HOME=str(home), TUBEFLOW_HOME=str(home), PYTHONUNBUFFERED="1")
                proc = _start_worker(env, tmp_path / "worker.log")
            try:
                result = await _render(temporal_env, s, storage, tmp_path)
                scrape = await asyncio.to_thread(metrics_text, s.worker_metrics_port)
            finally:
                if proc is not None:
                    proc.terminate()  # its exit waits on the in-flight long poll: not what this test is about
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            price = _sample(scrape, "tubeflow_worker_price_per_hour")
            assert price == pytest.approx(tracked.price_per_hour) and price > 0, "it costs what it was rented at"
            assert _sample(scrape, "tubeflow_activity_attempts_total", activity_type="video_img2vid") == 1
            assert storage.exists(result.output_key) and result.duration_s == pytest.approx(1.0, abs=0.2)
            worker_calls = [auth for m, auth in log.calls if m.endswith("/PollActivityTaskQueue")]
            assert worker_calls and set(worker_calls) == {f"Bearer {API_KEY}"}, "the worker polled through TLS + key"
            text = caplog.text + state_path.read_text()
            leaked = [x for x in secrets if x in text]
            assert not leaked, "a secret reached the autoscaler's log or state file"
