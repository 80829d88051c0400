"""GPU workers as replicas of a Kubernetes Deployment, scaled through the ``kubernetes`` client.

The recommended cluster path is KEDA's Temporal scaler (deploy/k8s/keda-scaledobject.yaml) with
no autoscaler process at all; this provider is for clusters without KEDA.  Which pod goes on a
scale-down is steered with the ``controller.kubernetes.io/pod-deletion-cost`` annotation, so the
idle pod the policy picked is the one removed; the pod still gets SIGTERM and its grace period.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from autoscaler.providers.base import (
    DEFAULTS,
    MANAGED_LABEL,
    MANAGED_VALUE,
    Instance,
    InstanceState,
    ProviderAuthError,
    ProviderError,
    QuotaExceededError,
)
from tubeflow.settings import Settings

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
# The Secret holding the worker configuration; the GPU Deployment's pods read it with envFrom.
WORKER_SECRET = "tubeflow-gpu-worker-env"


class KubernetesProvider:
    name = "kubernetes"

    def __init__(
        self,
        deployment: str = DEFAULTS.k8s_gpu_deployment,
        namespace: str = DEFAULTS.k8s_namespace,
        price_per_hour: float = DEFAULTS.k8s_gpu_price_per_hour,
        api_client: Any = None,
        worker_settings: Settings | None = None,
        worker_secret: str = WORKER_SECRET,
    ) -> None:
        from kubernetes import client, config

        if api_client is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]  # kubernetes' loaders are unannotated
            except config.ConfigException:
                config.load_kube_config()  # type: ignore[no-untyped-call]  # kubernetes' loaders are unannotated
            api_client = client.ApiClient()
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.deployment = deployment
        self.namespace = namespace
        self._price = price_per_hour
        self.worker_settings = worker_settings
        self.worker_secret = worker_secret
        self._secret_written: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> KubernetesProvider:
        options.setdefault("deployment", settings.k8s_gpu_deployment)
        options.setdefault("namespace", settings.k8s_namespace)
        options.setdefault("price_per_hour", settings.k8s_gpu_price_per_hour)
        options.setdefault("worker_settings", settings)
        return cls(**options)

    def worker_env(self) -> dict[str, str]:
        """The worker configuration the pods get (identity: the pod name, from the manifest)."""
        if self.worker_settings is None:
            return {}
        from tubeflow.worker_config import worker_environment

        return worker_environment(self.worker_settings, price_per_hour=self._price).merged()

    def ensure_worker_secret(self) -> None:
        """Write the worker configuration into the Secret the pods read, when it changed."""
        env = self.worker_env()
        if not env or env == self._secret_written:
            return
        from kubernetes import client

        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=self.worker_secret, labels={MANAGED_LABEL: MANAGED_VALUE}),
            type="Opaque",
            string_data=env,
        )
        try:
            self._api(self.core.replace_namespaced_secret, self.worker_secret, self.namespace, body)
        except ProviderError as e:
            if "404" not in str(e):
                raise
            self._api(self.core.create_namespaced_secret, self.namespace, body)
        self._secret_written = env

    def replicas(self) -> int:
        scale = self._api(self.apps.read_namespaced_deployment_scale, self.deployment, self.namespace)
        return int(scale.spec.replicas or 0)

    def set_replicas(self, n: int) -> None:
        body = {"spec": {"replicas": max(0, n)}}
        self._api(self.apps.patch_namespaced_deployment_scale, self.deployment, self.namespace, body)

    def launch(self, name: str, labels: dict[str, str], avoid: Collection[str] = ()) -> Instance:
        # The scheduler places the pod (nodeSelector/tolerations in the manifest); ``avoid`` cannot apply.
        self.ensure_worker_secret()
        n = self.replicas() + 1
        self.set_replicas(n)
        return Instance(
            id=f"{self.deployment}-replica-{n}",
            provider=self.name,
            state=InstanceState.STARTING,
            started_at=time.time(),
            labels={**labels, MANAGED_LABEL: MANAGED_VALUE, "pending": "true"},
            identity=name,
            price_per_hour=self._price,
        )

    def list(self) -> list[Instance]:
        pods = self._api(
            self.core.list_namespaced_pod, self.namespace, label_selector=f"{MANAGED_LABEL}={MANAGED_VALUE}"
        )
        out = []
        for pod in pods.items:
            phase = pod.status.phase or "Pending"
            ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
            if pod.metadata.deletion_timestamp is not None:
                state = InstanceState.STOPPING
            elif phase in ("Succeeded", "Failed"):
                state = InstanceState.STOPPED
            elif phase == "Running" and ready:
                state = InstanceState.RUNNING
            else:
                state = InstanceState.STARTING
            started = pod.status.start_time or pod.metadata.creation_timestamp
            out.append(
                Instance(
                    id=pod.metadata.name,
                    provider=self.name,
                    state=state,
                    started_at=started.timestamp() if started else time.time(),
                    labels=dict(pod.metadata.labels or {}),
                    # The pod's worker polls as its pod name (TUBEFLOW_WORKER_IDENTITY from the downward API).
                    identity=pod.metadata.name,
                    price_per_hour=self._price,
                    placement=f"node:{pod.spec.node_name or ''}",
                )
            )
        return out

    def terminate(self, instance_id: str) -> None:
        """Mark this pod cheapest to delete, then scale down by one: the Deployment removes it."""
        body = {"metadata": {"annotations": {DELETION_COST: "-1000"}}}
        try:
            self._api(self.core.patch_namespaced_pod, instance_id, self.namespace, body)
        except ProviderError as e:
            if "404" in str(e):
                return
            raise
        self.set_replicas(self.replicas() - 1)

    def price_per_hour(self, instance: Instance | None = None) -> float:
        return self._price

    def _api(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return fn(*args, **kwargs)
        except ApiException as e:
            if e.status == 429 or (e.status == 403 and "quota" in str(e.body).lower()):
                raise QuotaExceededError(f"Kubernetes quota/rate limit: {e.reason}") from e
            if e.status in (401, 403):
                raise ProviderAuthError(f"Kubernetes refused the request ({e.status}): {e.reason}") from e
            raise ProviderError(f"Kubernetes API error {e.status}: {e.reason}") from e
        except OSError as e:
            raise ProviderError(f"Kubernetes API unreachable: {e}") from e
