"""A local HTTP server speaking the few Kubernetes API calls the kubernetes provider makes.

Deployment scale (GET/PATCH .../deployments/<name>/scale), pod list by label selector and pod
patch (annotations), with a ReplicaSet-like reconcile: scaling up adds pods, scaling down removes
the pods with the lowest ``controller.kubernetes.io/pod-deletion-cost`` first, as the real
controller does.  ``schedulable=False`` leaves new pods Pending (no GPU node): never ready.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakehttp import JsonHandler, serve

COST = "controller.kubernetes.io/pod-deletion-cost"


@dataclass
class K8sState:
    namespace: str = "tubeflow"
    deployment: str = "tubeflow-gpu-worker"
    labels: dict[str, str] = field(
        default_factory=lambda: {"app": "tubeflow-gpu-worker", "tubeflow-role": "gpu-worker"}
    )
    replicas: int = 0
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedulable: bool = True
    serial: int = 0
    patches: list[tuple[str, str, Any]] = field(default_factory=list)  # (path, content type, body)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> Secret as stored (data base64)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reconcile(self) -> None:
        while len(self.pods) < self.replicas:
            self.serial += 1
            name = f"{self.deployment}-7c9f-{self.serial:05d}"
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            running = self.schedulable
            self.pods[name] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": self.namespace,
                    "labels": dict(self.labels),
                    "annotations": {},
                    "creationTimestamp": now,
                },
                "spec": {
                    "containers": [{"name": "worker", "image": "tubeflow-gpu"}],
                    "nodeName": "gpu-node-1" if running else None,
                },
                "status": {
                    "phase": "Running" if running else "Pending",
                    "startTime": now,
                    "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
                },
            }
        while len(self.pods) > self.replicas:
            victim = min(self.pods.values(), key=lambda p: int(p["metadata"]["annotations"].get(COST, "0")))
            del self.pods[victim["metadata"]["name"]]

    def scale(self) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": self.deployment, "namespace": self.namespace},
            "spec": {"replicas": self.replicas},
            "status": {"replicas": len(self.pods)},
        }


def _stored_secret(body: dict[str, Any]) -> dict[str, Any]:
    """What the API server keeps: stringData folded into base64 data, as the real one does."""
    data = dict(body.get("data") or {})
    for k, v in (body.get("stringData") or {}).items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": body.get("metadata", {}),
        "type": body.get("type"),
        "data": data,
    }


class _Handler(JsonHandler):
    state: K8sState

    def _secrets(self, method: str) -> bool:
        st = self.state
        base = f"/api/v1/namespaces/{st.namespace}/secrets"
        path = self.path.partition("?")[0]
        if not path.startswith(base):
            return False
        name = path[len(base) :].strip("/")
        with st.lock:
            if method == "GET" and name in st.secrets:
                self._send(200, st.secrets[name])
            elif method == "PUT" and name in st.secrets:
                st.secrets[name] = _stored_secret(self._body())
                self._send(200, st.secrets[name])
            elif method == "POST" and not name:
                body = self._body()
                st.secrets[body["metadata"]["name"]] = _stored_secret(body)
                self._send(201, st.secrets[body["metadata"]["name"]])
            else:
                self._not_found()
        return True

    def do_POST(self) -> None:  # noqa: N802
        if not self._secrets("POST"):
            self._not_found()

    def do_PUT(self) -> None:  # noqa: N802
        if not self._secrets("PUT"):
            self._not_found()

    def _not_found(self) -> None:
        self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})

    def do_GET(self) -> None:  # noqa: N802
        if self._secrets("GET"):
            return
        st = self.state
        path, _, query = self.path.partition("?")
        with st.lock:
            if path == f"/apis/apps/v1/namespaces/{st.namespace}/deployments/{st.deployment}/scale":
                return self._send(200, st.scale())
            if path == f"/api/v1/namespaces/{st.namespace}/pods":
                selector = dict(re.findall(r"labelSelector=([^=&]+)%3D([^&]+)", query))
                items = [
                    p for p in st.pods.values() if all(p["metadata"]["labels"].get(k) == v for k, v in selector.items())
                ]
                return self._send(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
        self._not_found()

    def do_PATCH(self) -> None:  # noqa: N802
        st = self.state
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        with st.lock:
            st.patches.append((self.path, self.headers.get("Content-Type", ""), body))
            if self.path == f"/apis/apps/v1/namespaces/{st.namespace}/deployments/{st.deployment}/scale":
                st.replicas = int(body["spec"]["replicas"])
                st.reconcile()
                return self._send(200, st.scale())
            m = re.fullmatch(rf"/api/v1/namespaces/{st.namespace}/pods/([^/?]+)", self.path)
            if m and m.group(1) in st.pods:
                pod = st.pods[m.group(1)]
                pod["metadata"]["annotations"].update(body.get("metadata", {}).get("annotations", {}))
                return self._send(200, pod)
        self._not_found()


def secret_env(state: K8sState, name: str) -> dict[str, str]:
    """The environment a pod reading Secret ``name`` with envFrom gets."""
    data = state.secrets[name]["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


@contextmanager
def fake_k8s(state: K8sState | None = None) -> Iterator[tuple[str, K8sState]]:
    st = state or K8sState()
    with serve(_Handler, st) as url:
        yield url, st
