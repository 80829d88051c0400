"""Providers against local servers that speak the RunPod, Vast.ai and Kubernetes APIs, with failures.

The production provider code is unchanged; only the base URL points at the fake.  Controller
tests here feed the controller scripted queue observations (the same dataclass Temporal fills in
the end-to-end test) and a settable clock, so readiness timeouts and back-offs run without sleeping.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoscaler.controller import Autoscaler, ControllerConfig
from autoscaler.costs import CostLedger, production_of, slices_for_tick
from autoscaler.policy import Action, PolicyConfig, ScalingPolicy, WorkerState
from autoscaler.providers.base import (
    NAME_PREFIX,
    InstanceState,
    LaunchFailedError,
    Provider,
    ProviderAuthError,
    QuotaExceededError,
)
from autoscaler.providers.kubernetes import KubernetesProvider
from autoscaler.providers.runpod import RunPodProvider
from autoscaler.providers.vastai import VastAiProvider
from service.backlog import QueueObservation
from service.metrics import TubeflowMetrics
from tests.fake_k8s import K8sState, fake_k8s
from tests.fake_runpod import RunPodState, default_gpu_types, fake_runpod
from tests.fake_vastai import VastState, fake_vastai
from tubeflow.db.engine import Database


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


class Script:
    """The queue as the controller sees it each tick: set backlog, pollers and busy workers between ticks."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.backlog = 0
        self.pollers: dict[str, float] = {}
        self.busy: dict[str, list[str]] = {}

    def poll(self, identity: str) -> None:
        self.pollers[identity] = self.clock()

    async def __call__(self) -> QueueObservation:
        return QueueObservation(
            "tubeflow-gpu",
            self.backlog,
            5.0 if self.backlog else 0.0,
            dict(self.pollers),
            {k: list(v) for k, v in self.busy.items()},
            waiting=self.backlog,
        )


def make_scaler(provider: Provider, clock: Clock, script: Script, **cfg: float) -> Autoscaler:
    policy = ScalingPolicy(
        PolicyConfig(max_workers=3, idle_timeout_s=300, scale_up_cooldown_s=0, scale_down_cooldown_s=0)
    )
    config = ControllerConfig(
        ready_timeout_s=cfg.get("ready_timeout_s", 120),
        lease_s=cfg.get("lease_s", 1800),
        unknown_grace_s=cfg.get("unknown_grace_s", 60),
        launch_backoff_s=60,
        quota_backoff_s=300,
    )
    return Autoscaler(provider, script, policy, config, TubeflowMetrics(), clock=clock)


def test_pending_work_trusts_the_fresh_count_over_a_young_cached_backlog() -> None:
    # A 1 s-old backlog of 3 with nothing scheduled in the workflows: an echo of tasks already taken.
    assert QueueObservation("q", 3, 1.0, waiting=0).pending == 0
    # Old enough that the server's 5 s cache cannot explain it: work the workflow scan missed.
    assert QueueObservation("q", 3, 12.0, waiting=1).pending == 3
    assert QueueObservation("q", 0, 0.0, waiting=2).pending == 2


# ---------------------------------------------------------------------------------------- Vast.ai


@pytest.fixture
def vast() -> Iterator[tuple[VastAiProvider, VastState]]:
    with fake_vastai() as (url, state):
        provider = VastAiProvider(
            api_key=state.api_key, image="tubeflow-gpu:test", base_url=url, min_vram_gb=16, max_price_per_hour=1.0
        )
        yield provider, state
        provider.close()


def test_vastai_searches_by_price_and_vram_and_rents_the_cheapest(vast: tuple[VastAiProvider, VastState]) -> None:
    provider, state = vast
    offers = provider.search_offers()
    # T4 (15 GB) is under the VRAM floor, the H100 over the price cap; the rest cheapest first.
    assert [o["id"] for o in offers] == [101, 102, 105]
    inst = provider.launch(NAME_PREFIX + "a", {"queue": "q"})
    assert inst.state is InstanceState.STARTING and inst.price_per_hour == 0.35
    assert inst.identity == NAME_PREFIX + "a" and inst.placement == "machine:11"
    created = state.instances[int(inst.id)]
    assert created["extra_env"]["TUBEFLOW_WORKER_IDENTITY"] == NAME_PREFIX + "a"
    assert "video" in created["extra_env"]["NVIDIA_DRIVER_CAPABILITIES"]
    # A stranger's instance on the same account is never listed (so never reaped).
    state.instances[1] = {
        "id": 1,
        "label": "someone-else",
        "actual_status": "running",
        "machine_id": 99,
        "dph_total": 1.0,
        "start_date": time.time(),
        "offer_id": 0,
    }
    listed = provider.list()
    assert [i.id for i in listed] == [inst.id] and listed[0].state is InstanceState.RUNNING
    provider.terminate(inst.id)
    provider.terminate(inst.id)  # already gone: not an error
    assert [i.id for i in provider.list()] == []
    assert 1 in state.instances


def test_vastai_failed_rent_moves_to_the_next_offer(vast: tuple[VastAiProvider, VastState]) -> None:
    provider, state = vast
    state.failing_offers = {101}
    inst = provider.launch(NAME_PREFIX + "b", {})
    assert inst.placement == "machine:12" and inst.price_per_hour == 0.42
    state.failing_offers = {101, 102, 105}
    with pytest.raises(LaunchFailedError, match="every Vast.ai offer tried failed"):
        provider.launch(NAME_PREFIX + "c", {})


def test_vastai_quota_and_bad_key(vast: tuple[VastAiProvider, VastState]) -> None:
    provider, state = vast
    state.out_of_credit = True
    with pytest.raises(QuotaExceededError, match="balance is too low"):
        provider.launch(NAME_PREFIX + "d", {})
    bad = VastAiProvider(
        api_key="wrong", image="x", base_url=provider._http.base_url.__str__().removesuffix("/api/v0/")
    )
    with pytest.raises(ProviderAuthError, match="refused the API key"):
        bad.list()


async def test_controller_backs_off_on_quota_then_scales_when_it_clears(vast: tuple[VastAiProvider, VastState]) -> None:
    provider, state = vast
    clock, script = Clock(), Script(Clock())
    script.clock = clock
    scaler = make_scaler(provider, clock, script)
    state.out_of_credit = True
    script.backlog = 2
    r = await scaler.tick()
    assert r.decision and r.decision.action is Action.SCALE_UP and r.launched == []

    def rents() -> int:
        return sum(1 for m, p, _ in state.requests if m == "PUT")

    assert rents() == 1, "stopped at the first quota answer instead of hammering the API"
    clock.advance(60)
    r = await scaler.tick()
    assert r.decision and r.decision.action is Action.HOLD and r.decision.cause == "launch_blocked"
    assert "quota" in r.decision.reason and rents() == 1
    state.out_of_credit = False
    clock.advance(241)  # past the 300 s quota back-off
    r = await scaler.tick()
    assert r.decision and r.decision.action is Action.SCALE_UP and len(r.launched) == 2


async def test_never_ready_instance_is_terminated_and_relaunched_elsewhere(
    vast: tuple[VastAiProvider, VastState],
) -> None:
    provider, state = vast
    clock = Clock()
    script = Script(clock)
    scaler = make_scaler(provider, clock, script, ready_timeout_s=120)
    state.never_ready_machines = {11}  # the cheapest offer's host never finishes loading
    script.backlog = 1
    r = await scaler.tick()
    assert len(r.launched) == 1
    first = r.launched[0]
    assert scaler.tracked[first].placement == "machine:11"
    for _ in range(3):
        clock.advance(30)
        r = await scaler.tick()
        assert scaler.tracked[first].state is WorkerState.STARTING
        assert r.launched == [] and r.terminated == []
    clock.advance(40)  # 130 s > ready timeout
    r = await scaler.tick()
    assert (first, "never_ready") in r.terminated
    assert int(first) not in state.instances, "the stuck instance was destroyed (no more billing)"
    assert len(r.launched) == 1
    second = r.launched[0]
    assert scaler.tracked[second].placement == "machine:12", "retried on another machine"
    # The replacement boots and its worker polls the queue: it is ready, then takes the task.
    script.poll(scaler.tracked[second].name)
    clock.advance(15)
    await scaler.tick()
    assert scaler.tracked[second].state is WorkerState.IDLE
    script.backlog, script.busy = 0, {scaler.tracked[second].name: ["production-p1"]}
    clock.advance(15)
    await scaler.tick()
    assert scaler.tracked[second].state is WorkerState.BUSY


async def test_reaper_stops_unknown_and_lease_expired_instances_only(vast: tuple[VastAiProvider, VastState]) -> None:
    provider, state = vast
    clock = Clock()
    script = Script(clock)
    scaler = make_scaler(provider, clock, script, unknown_grace_s=60, lease_s=600)
    # An orphan: ours by label (an earlier controller lost track of it), and a stranger's instance.
    orphan = provider.launch(NAME_PREFIX + "orphan", {})
    state.instances[1] = {
        "id": 1,
        "label": "someone-else",
        "actual_status": "running",
        "machine_id": 99,
        "dph_total": 1.0,
        "start_date": time.time() - 9999,
        "offer_id": 0,
    }
    r = await scaler.tick()
    assert r.terminated == [], "inside the grace period a launch may still be in flight"
    clock.advance(61)
    r = await scaler.tick()
    assert r.terminated == [(orphan.id, "unknown")]
    assert 1 in state.instances
    # A worker of ours that polls once, then hangs: its lease is not renewed and it is reaped.
    script.backlog = 1
    r = await scaler.tick()
    mine = r.launched[0]
    script.poll(scaler.tracked[mine].name)
    script.backlog = 0
    clock.advance(10)
    await scaler.tick()
    assert scaler.tracked[mine].state is WorkerState.IDLE
    clock.advance(200)  # poll now 200 s old (> 180 s fresh window): no renewal from here on
    await scaler.tick()
    clock.advance(420)
    r = await scaler.tick()
    assert (mine, "lease_expired") in r.terminated
    assert int(mine) not in state.instances


async def test_costs_are_charged_per_production_and_summarised_per_day(
    vast: tuple[VastAiProvider, VastState], tmp_path: Path
) -> None:
    provider, state = vast
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'costs.db'}")
    await db.upgrade()
    ledger = CostLedger(db)
    clock = Clock()
    clock.t = 1795392000.0  # 2026-11-23T00:00:00Z: the whole scripted run falls on that UTC day
    script = Script(clock)
    scaler = make_scaler(provider, clock, script)
    scaler.ledger = ledger
    script.backlog = 1
    r = await scaler.tick()
    iid = r.launched[0]
    name = scaler.tracked[iid].name
    script.poll(name)
    script.backlog = 0
    script.busy = {name: ["production-abc"]}
    clock.advance(3600)  # one hour busy on production abc at $0.35/h
    await scaler.tick()
    script.busy = {name: ["production-abc", "videojob-xyz"]}
    clock.advance(1800)  # half an hour shared by two jobs
    await scaler.tick()
    script.busy = {}
    clock.advance(600)  # ten idle minutes
    await scaler.tick()
    assert await ledger.production_cost("abc") == pytest.approx(0.35 + 0.35 * 0.25, rel=1e-3)
    assert await ledger.job_cost("videojob-xyz") == pytest.approx(0.35 * 0.25, rel=1e-3)
    summary = await ledger.daily_summary("2026-11-23")
    assert summary.total_usd == pytest.approx(0.35 * 6000 / 3600, rel=1e-3)
    assert summary.instance_seconds == pytest.approx(6000, rel=1e-3)
    assert summary.by_provider == {"vastai": pytest.approx(summary.total_usd)}
    assert summary.by_production == {"abc": pytest.approx(0.35 * 1.25, rel=1e-3)}
    assert summary.idle_usd == pytest.approx(0.35 * 600 / 3600, rel=1e-2)
    assert production_of("production-abc-shorts") == "abc" and production_of("videojob-1") == ""
    body, ctype = scaler.metrics.exposition()
    assert b'tubeflow_gpu_cost_usd_total{provider="vastai"}' in body and ctype.startswith("text/plain")
    await db.close()


# ---------------------------------------------------------------------------------------- RunPod


@pytest.fixture
def rp() -> Iterator[tuple[RunPodProvider, RunPodState]]:
    with fake_runpod() as (url, state):
        yield RunPodProvider(api_key=state.api_key, image="tubeflow-gpu:test", base_url=url), state


def test_runpod_launch_list_terminate_through_the_sdk(rp: tuple[RunPodProvider, RunPodState]) -> None:
    provider, state = rp
    inst = provider.launch(NAME_PREFIX + "r1", {})
    assert inst.placement == "gpu:NVIDIA L4" and inst.price_per_hour == 0.43
    deploy = next(q for q in state.queries if "podFindAndDeployOnDemand" in q)
    assert 'key: "TUBEFLOW_WORKER_IDENTITY", value: "tubeflow-gpu-r1"' in deploy
    assert "compute,video,utility" in deploy
    state.pods["other"] = {
        "id": "other",
        "name": "jupyter",
        "desiredStatus": "RUNNING",
        "runtime": {},
        "costPerHr": 1,
        "_gpu": "x",
        "_looks": 0,
    }
    first = provider.list()
    assert [(i.id, i.state) for i in first] == [(inst.id, InstanceState.STARTING)]
    assert provider.list()[0].state is InstanceState.RUNNING  # runtime appears on the next look
    provider.terminate(inst.id)
    provider.terminate(inst.id)  # already gone
    assert provider.list() == [] and "other" in state.pods


def test_runpod_no_capacity_tries_the_next_gpu_type_quota_and_auth(rp: tuple[RunPodProvider, RunPodState]) -> None:
    provider, state = rp
    state.no_capacity = {"NVIDIA L4"}
    inst = provider.launch(NAME_PREFIX + "r2", {})
    assert inst.placement == "gpu:NVIDIA RTX A4000"
    state.no_capacity = set(default_gpu_types())
    with pytest.raises(LaunchFailedError, match="no RunPod GPU type could start a pod"):
        provider.launch(NAME_PREFIX + "r3", {})
    state.no_capacity = set()
    state.at_quota = True
    with pytest.raises(QuotaExceededError, match="quota"):
        provider.launch(NAME_PREFIX + "r4", {})
    with pytest.raises(LaunchFailedError, match="every configured RunPod GPU type failed"):
        provider.launch(NAME_PREFIX + "r5", {}, avoid={f"gpu:{g}" for g in default_gpu_types()})
    provider.api.api_key = "wrong"
    try:
        with pytest.raises(ProviderAuthError):
            provider.list()
    finally:
        provider.api.api_key = state.api_key


def test_two_runpod_providers_each_keep_their_own_key_and_url() -> None:
    """Nothing process-wide: the SDK's globals (runpod.api_key, RUNPOD_API_BASE_URL) are never set."""
    import runpod

    sdk_key, sdk_url = runpod.api_key, os.environ.get("RUNPOD_API_BASE_URL")
    other = RunPodState(api_key="rp-other-key", gpu_types=default_gpu_types())
    with fake_runpod() as (url_a, a), fake_runpod(other) as (url_b, b):
        one = RunPodProvider(api_key=a.api_key, base_url=url_a)
        two = RunPodProvider(api_key=b.api_key, base_url=url_b)
        one.launch(NAME_PREFIX + "one", {})
        two.launch(NAME_PREFIX + "two", {})
        assert [i.identity for i in one.list()] == [NAME_PREFIX + "one"]
        assert [i.identity for i in two.list()] == [NAME_PREFIX + "two"]
    assert (runpod.api_key, os.environ.get("RUNPOD_API_BASE_URL")) == (sdk_key, sdk_url)


def test_runpod_honours_min_vram_max_price_and_spot(rp: tuple[RunPodProvider, RunPodState]) -> None:
    provider, state = rp
    url = provider.api.base_url  # each provider has its own (no process-wide variable)
    base: dict[str, Any] = {"api_key": state.api_key, "image": "tubeflow-gpu:test", "cloud_type": "SECURE"}
    base["base_url"] = url
    # L4 (24 GB, $0.43 secure) is over a $0.40 cap, the A4000 (16 GB) under a 20 GB floor: the A5000.
    picky = RunPodProvider(**base, max_price_per_hour=0.40, min_vram_gb=20)
    inst = picky.launch(NAME_PREFIX + "p1", {})
    assert inst.placement == "gpu:NVIDIA RTX A5000" and inst.price_per_hour == 0.36
    deploy = state.deploys[-1]
    assert deploy["mutation"] == "podFindAndDeployOnDemand" and deploy["gpuTypeId"] == "NVIDIA RTX A5000"
    assert deploy["env"]["TUBEFLOW_WORKER_PRICE_PER_HOUR"] == "0.36"
    with pytest.raises(LaunchFailedError, match=r"> max \$0.1/h"):
        RunPodProvider(**base, max_price_per_hour=0.10).launch(NAME_PREFIX + "p2", {})
    with pytest.raises(LaunchFailedError, match="VRAM"):
        RunPodProvider(**base, min_vram_gb=80).launch(NAME_PREFIX + "p3", {})
    # Spot: an interruptible pod, bidding the spot price (at least RunPod's minimum bid), under the cap.
    spot = RunPodProvider(**base, interruptible=True, max_price_per_hour=0.30, min_vram_gb=20)
    inst = spot.launch(NAME_PREFIX + "p4", {})
    deploy = state.deploys[-1]
    assert deploy["mutation"] == "podRentInterruptable" and deploy["gpuTypeId"] == "NVIDIA L4"
    assert deploy["bidPerGpu"] == pytest.approx(0.215) and inst.price_per_hour == pytest.approx(0.215)
    assert state.pods[inst.id]["costPerHr"] == pytest.approx(0.215)
    assert deploy["env"]["TUBEFLOW_WORKER_IDENTITY"] == NAME_PREFIX + "p4"


def test_runpod_error_that_echoes_the_request_does_not_leak_the_worker_secrets(
    rp: tuple[RunPodProvider, RunPodState],
) -> None:
    from tests.tls_proxy import make_pki
    from tubeflow.settings import Settings

    rp_provider, state = rp
    pki = make_pki()
    secrets = Settings(
        temporal_api_key="tk-echo-4f1e9a",
        temporal_tls_cert=pki.client.cert.decode(),
        temporal_tls_key=pki.client.key.decode(),
        s3_access_key_id="AKIDECHO",
        s3_secret_access_key="s3-echo-secret/xyz",
    )
    provider = RunPodProvider(
        api_key=state.api_key,
        image="img",
        worker_settings=secrets,
        gpu_types=["NVIDIA L4"],
        base_url=rp_provider.api.base_url,
    )
    state.echo_input = True
    with pytest.raises((LaunchFailedError, QuotaExceededError)) as caught:  # the echo may read like a quota
        provider.launch(NAME_PREFIX + "e1", {})
    text = str(caught.value)
    assert "Something went wrong" in text and "TUBEFLOW_TEMPORAL_API_KEY" in text, "the echo reached the message"
    key_lines = [line for line in pki.client.key.decode().splitlines() if len(line) >= 16]
    for secret in ("tk-echo-4f1e9a", "s3-echo-secret/xyz", *key_lines):
        assert secret not in text


async def test_runpod_never_ready_gpu_type_is_replaced_by_another(rp: tuple[RunPodProvider, RunPodState]) -> None:
    provider, state = rp
    clock = Clock()
    script = Script(clock)
    scaler = make_scaler(provider, clock, script, ready_timeout_s=60)
    state.never_ready = {"NVIDIA L4"}
    script.backlog = 1
    first = (await scaler.tick()).launched[0]
    clock.advance(61)
    r = await scaler.tick()
    assert r.terminated == [(first, "never_ready")] and first not in state.pods
    second = r.launched[0]
    assert scaler.tracked[second].placement == "gpu:NVIDIA RTX A4000"
    script.poll(scaler.tracked[second].name)
    clock.advance(10)
    await scaler.tick()
    # Polling alone is not enough while RunPod still reports no runtime; on the next look it has one.
    assert scaler.tracked[second].state is WorkerState.STARTING
    clock.advance(10)
    await scaler.tick()
    assert scaler.tracked[second].state is WorkerState.IDLE


# ---------------------------------------------------------------------------------------- Kubernetes


@pytest.fixture
def k8s() -> Iterator[tuple[KubernetesProvider, K8sState]]:
    from kubernetes import client

    with fake_k8s() as (url, state):
        cfg = client.Configuration(host=url)
        yield KubernetesProvider(api_client=client.ApiClient(cfg)), state


def test_kubernetes_scales_the_deployment_and_removes_the_chosen_pod(
    k8s: tuple[KubernetesProvider, K8sState],
) -> None:
    provider, state = k8s
    provider.launch(NAME_PREFIX + "k1", {})
    provider.launch(NAME_PREFIX + "k2", {})
    provider.launch(NAME_PREFIX + "k3", {})
    assert state.replicas == 3 and provider.replicas() == 3
    pods = provider.list()
    assert len(pods) == 3 and all(p.state is InstanceState.RUNNING for p in pods)
    victim = sorted(p.id for p in pods)[1]  # the middle one: not what a naive scale-down would pick
    provider.terminate(victim)
    assert state.replicas == 2
    assert victim not in {p.id for p in provider.list()}
    annotate = [b for path, _, b in state.patches if path.endswith(f"/pods/{victim}")]
    assert annotate == [{"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "-1000"}}}]
    scale = [b for path, _, b in state.patches if path.endswith("/scale")]
    assert scale[-1] == {"spec": {"replicas": 2}}


def test_kubernetes_unschedulable_pods_stay_starting(k8s: tuple[KubernetesProvider, K8sState]) -> None:
    provider, state = k8s
    state.schedulable = False  # no NVENC GPU node available
    provider.launch(NAME_PREFIX + "k4", {})
    (pod,) = provider.list()
    assert pod.state is InstanceState.STARTING


def test_shipped_manifests_agree_with_the_code() -> None:
    """The manifests drift silently otherwise: grace period vs the worker's deadline, queue, labels, NVENC."""
    import yaml

    from autoscaler.providers.base import MANAGED_LABEL, MANAGED_VALUE
    from service.worker import GRACEFUL_SHUTDOWN
    from tubeflow.settings import REPO_ROOT, Settings

    k8s_dir = REPO_ROOT / "deploy" / "k8s"
    (deployment,) = yaml.safe_load_all((k8s_dir / "gpu-worker-deployment.yaml").read_text())
    (scaled,) = yaml.safe_load_all((k8s_dir / "keda-scaledobject.yaml").read_text())
    pod = deployment["spec"]["template"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert GRACEFUL_SHUTDOWN.total_seconds() < grace <= 30, "kubelet must not SIGKILL before the worker's deadline"
    assert pod["metadata"]["labels"][MANAGED_LABEL] == MANAGED_VALUE
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert "video" in env["NVIDIA_DRIVER_CAPABILITIES"]["value"].split(",")
    assert env["TUBEFLOW_WORKER_IDENTITY"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    from autoscaler.providers.kubernetes import WORKER_SECRET

    assert WORKER_SECRET in {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    gpus = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    products = gpus["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
    assert {"Tesla-T4", "NVIDIA-L4", "NVIDIA-A10G", "NVIDIA-L40S"} <= set(products)
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 0
    assert scaled["spec"]["maxReplicaCount"] == PolicyConfig().max_workers
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["queueTypes"] == "activity", "workflow tasks must not start GPU nodes"
    assert trigger["metadata"]["taskQueue"] == Settings().gpu_queue
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile.gpu").read_text()
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,video,utility" in dockerfile
    assert dockerfile.startswith("#") and "FROM nvidia/cuda:" in dockerfile


# ---------------------------------------------------------------------------------------- local


# A worker stand-in: with an argument it ignores SIGTERM; it starts a child (an "encoder"), then
# says it is ready (a file named after its pid in the folder READY_DIR names), then waits.
CHILD_AND_WAIT = (
    "import os, pathlib, signal, subprocess, sys, time\n"
    "if len(sys.argv) > 1: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "pathlib.Path(os.environ['READY_DIR'], str(os.getpid())).touch()\n"
    "time.sleep(60)\n"
)


def wait_ready(ready_dir: Path, *pids: int, timeout_s: float = 60.0) -> None:
    """Until each process has installed its signal handler and started its child (not a fixed sleep)."""
    deadline = time.time() + timeout_s
    while not all((ready_dir / str(pid)).exists() for pid in pids):
        assert time.time() < deadline, f"workers {pids} never got ready"
        time.sleep(0.05)


def test_local_provider_lists_workers_not_their_children_and_escalates_to_sigkill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import psutil

    from autoscaler.providers.local import LocalProvider

    scope = f"scope-{uuid.uuid4().hex[:6]}"
    ready = tmp_path / "ready"
    ready.mkdir()
    monkeypatch.setenv("READY_DIR", str(ready))  # inherited by the workers the providers start
    polite = LocalProvider([sys.executable, "-c", CHILD_AND_WAIT], log_dir=tmp_path, scope=scope, stop_deadline_s=1.0)
    stubborn = LocalProvider([sys.executable, "-c", CHILD_AND_WAIT, "ignore-term"], scope=scope, stop_deadline_s=1.0)
    try:
        a = polite.launch(NAME_PREFIX + "a", {"queue": "q"})
        b = stubborn.launch(NAME_PREFIX + "b", {})
        # Handles taken while both surely exist: the providers reap their children in list(), after
        # which a fresh lookup by pid would fail.
        worker_a, worker_b = psutil.Process(int(a.labels["pid"])), psutil.Process(int(b.labels["pid"]))
        wait_ready(ready, worker_a.pid, worker_b.pid)
        listed = {i.id: i for i in polite.list()}
        # The child inherits the marker but is not a worker; another provider object (a restarted
        # autoscaler) sees both workers, a different scope sees none.
        assert set(listed) == {a.id, b.id}
        assert listed[a.id].labels["pid"] == a.labels["pid"] and listed[a.id].labels["queue"] == "q"
        assert {i.id for i in LocalProvider(scope=scope).list()} == {a.id, b.id}
        assert LocalProvider(scope="other").list() == []
        (child,) = worker_a.children()
        stubborn.terminate(b.id)
        assert {i.id: i.state for i in stubborn.list()}[b.id] is InstanceState.STOPPING
        polite.terminate(a.id)
        worker_a.wait(5)  # SIGTERM was enough
        assert child.is_running(), "the worker's child outlived it: an orphan"
        polite.list()
        child.wait(5)  # found by its marker, its group leader gone: killed
        assert worker_b.status() != psutil.STATUS_ZOMBIE, "SIGTERM ignored: still there"
        time.sleep(max(0.0, stubborn._stopping[worker_b.pid] - time.time()) + 0.1)
        stubborn.list()  # past the deadline: SIGKILL
        worker_b.wait(5)
        assert stubborn.list() == []
    finally:
        polite.close(2)
        stubborn.close(2)
        for inst in LocalProvider(scope=scope).list():
            os.kill(int(inst.labels["pid"]), 9)


# ---------------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
async def test_cost_ledger_on_postgres() -> None:
    from tests.dbfixtures import temporary_postgres_url  # skipped, or failed under CI, without a server

    async with temporary_postgres_url() as url:
        db = Database(url)
        try:
            await db.upgrade()
            ledger = CostLedger(db)
            t = 1795392000.0 + 3600  # 2026-11-23T01:00Z
            await ledger.record(slices_for_tick("runpod", "pod1", ["production-p9"], 1800, 0.5, t))
            await ledger.record(slices_for_tick("runpod", "pod1", ["production-p9", "videojob-v"], 1800, 0.5, t + 1800))
            await ledger.record(slices_for_tick("runpod", "pod1", [], 360, 0.5, t + 3600))
            assert await ledger.production_cost("p9") == pytest.approx(0.25 + 0.125)
            summary = await ledger.daily_summary("2026-11-23")
            assert summary.total_usd == pytest.approx(0.5 * 3960 / 3600)
            assert summary.idle_usd == pytest.approx(0.05) and summary.by_job == {"videojob-v": pytest.approx(0.125)}
        finally:
            await db.close()


async def test_restarted_controller_adopts_its_workers_instead_of_reaping_them(
    vast: tuple[VastAiProvider, VastState], tmp_path: Path
) -> None:
    provider, state = vast
    clock = Clock()
    script = Script(clock)
    state_path = tmp_path / "autoscaler" / "state.json"

    def scaler() -> Autoscaler:
        s = make_scaler(provider, clock, script, unknown_grace_s=60)
        s.config = ControllerConfig(**{**s.config.__dict__, "state_path": state_path})
        s.tracked.clear()
        s._load_state()
        return s

    first = scaler()
    script.backlog = 1
    (iid,) = (await first.tick()).launched
    name = first.tracked[iid].name
    script.poll(name)
    script.backlog, script.busy = 0, {name: ["production-long"]}
    clock.advance(10)
    await first.tick()
    assert first.tracked[iid].state is WorkerState.BUSY
    # The autoscaler process restarts (deploy, crash) while the render runs.
    second = scaler()
    clock.advance(300)
    r = await second.tick()
    assert r.terminated == [] and int(iid) in state.instances, "a busy worker survived the restart"
    assert second.tracked[iid].state is WorkerState.BUSY
    # Without the state file the same worker is unknown and reaped: the file is what prevents that.
    state_path.unlink()
    third = scaler()
    r = await third.tick()
    assert r.terminated == [(iid, "unknown")]
