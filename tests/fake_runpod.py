"""A local HTTP server speaking the slice of RunPod's GraphQL API that the ``runpod`` SDK sends.

The SDK builds query strings itself; this fake recognises its operations (gpuTypes, myPods,
podFindAndDeployOnDemand, podTerminate) by their text, the way the real server would route
them, and answers with the same shapes.  Switches cover a GPU type with no capacity, an account
at its quota and a GPU type whose pods never get a runtime (never ready).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakehttp import JsonHandler, serve

NO_CAPACITY = (
    "There are no longer any instances available with the requested specifications. Please refresh and try again."
)
QUOTA = "You have reached the maximum number of pods allowed (quota exceeded)."


@dataclass
class RunPodState:
    api_key: str = "rp-test-key"
    gpu_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    no_capacity: set[str] = field(default_factory=set)
    never_ready: set[str] = field(default_factory=set)
    at_quota: bool = False
    echo_input: bool = False  # errors quote the whole mutation back, as some APIs do
    queries: list[str] = field(default_factory=list)
    # Every pod creation as the API understood it: mutation, input fields, env (decoded).
    deploys: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STRING = r'"((?:[^"\\]|\\.)*)"'
# Input fields of RunPod's GraphQL schema (graphql-spec.runpod.io) for the two pod-creating
# mutations: a misspelt or invented field is refused as the real server would refuse it.
_DEPLOY_FIELDS = {
    "cloudType", "gpuCount", "volumeInGb", "containerDiskInGb", "minVcpuCount", "minMemoryInGb", "gpuTypeId",
    "name", "imageName", "dockerArgs", "ports", "volumeMountPath", "env", "startJupyter", "startSsh",
    "supportPublicIp", "dataCenterId", "countryCode", "templateId", "networkVolumeId", "allowedCudaVersions",
    "minDownload", "minUpload", "instanceId",
}  # fmt: skip
_RENT_FIELDS = _DEPLOY_FIELDS | {"bidPerGpu"}


def _unquote(raw: str) -> str:
    """A GraphQL string literal's value (its escapes are JSON's)."""
    return str(json.loads(f'"{raw}"'))


def _arg(query: str, name: str) -> str | None:
    m = re.search(rf"{name}:\s*{_STRING}", query)
    return _unquote(m.group(1)) if m else None


def _num(query: str, name: str) -> float | None:
    m = re.search(rf"{name}:\s*([0-9.]+)", query)
    return float(m.group(1)) if m else None


def _input_fields(query: str) -> set[str]:
    body = query[query.index("input:") :]
    body = re.sub(_STRING, '""', body)
    body = body[: body.index(")")]
    return set(re.findall(r"(\w+)\s*:", body)) - {"input", "key", "value"}


class _Handler(JsonHandler):
    state: RunPodState

    def do_POST(self) -> None:  # noqa: N802
        st = self.state
        if self.path.split("?")[0] != "/graphql":
            return self._send(404, {"errors": [{"message": "not found"}]})
        if self.headers.get("Authorization") != f"Bearer {st.api_key}":
            return self._send(401, {"errors": [{"message": "Unauthorized"}]})
        n = int(self.headers.get("Content-Length") or 0)
        query = json.loads(self.rfile.read(n))["query"]
        with st.lock:
            st.queries.append(query)
            self._send(200, self._answer(query))

    def _answer(self, q: str) -> dict[str, Any]:
        st = self.state
        rent = "podRentInterruptable" in q
        if "podFindAndDeployOnDemand" in q or rent:
            unknown = _input_fields(q) - (_RENT_FIELDS if rent else _DEPLOY_FIELDS)
            if unknown:
                return {"errors": [{"message": f"Unknown input field(s) {sorted(unknown)}"}]}
            gpu = _arg(q, "gpuTypeId") or ""
            if st.echo_input:
                return {"errors": [{"message": f"Something went wrong with this request: {q}"}]}
            if st.at_quota:
                return {"errors": [{"message": QUOTA}]}
            if gpu not in st.gpu_types:
                return {"errors": [{"message": f"unknown gpu type {gpu}"}]}
            if gpu in st.no_capacity:
                return {"errors": [{"message": NO_CAPACITY}]}
            info = st.gpu_types[gpu]
            bid = _num(q, "bidPerGpu")
            if rent:
                if bid is None:
                    return {"errors": [{"message": "bidPerGpu is required"}]}
                if bid < info["lowestPrice"]["minimumBidPrice"]:
                    return {"errors": [{"message": f"bid {bid} is below the minimum bid for {gpu}"}]}
            pod_id = uuid.uuid4().hex[:14]
            env = {k: _unquote(v) for k, v in re.findall(rf"\{{\s*key:\s*{_STRING},\s*value:\s*{_STRING}\s*\}}", q)}
            cloud = re.search(r"cloudType:\s*(\w+)", q)
            st.deploys.append(
                {
                    "mutation": "podRentInterruptable" if rent else "podFindAndDeployOnDemand",
                    "gpuTypeId": gpu,
                    "bidPerGpu": bid,
                    "cloudType": cloud.group(1) if cloud else "",
                    "env": env,
                    "name": _arg(q, "name"),
                }
            )
            cost = bid if rent else info["communityPrice" if cloud and cloud.group(1) == "COMMUNITY" else "securePrice"]
            st.pods[pod_id] = {
                "id": pod_id,
                "name": _arg(q, "name"),
                "imageName": _arg(q, "imageName"),
                "desiredStatus": "RUNNING",
                "costPerHr": cost,
                "uptimeSeconds": 0,
                "runtime": None,
                "machine": {"gpuDisplayName": info["displayName"]},
                "env": [f"{k}={v}" for k, v in env.items()],
                "_gpu": gpu,
                "_looks": 0,
            }
            answer: dict[str, Any] = {"id": pod_id, "imageName": _arg(q, "imageName"), "env": [], "machineId": "m1"}
            if not rent:
                answer["machine"] = {"podHostId": "h"}
            return {"data": {"podRentInterruptable" if rent else "podFindAndDeployOnDemand": answer}}
        if "podTerminate" in q:
            pod_id = _arg(q, "podId") or ""
            if st.pods.pop(pod_id, None) is None:
                return {"errors": [{"message": f"pod {pod_id} not found"}]}
            return {"data": {"podTerminate": None}}
        if "gpuTypes" in q:
            gid = _arg(q, "id")
            types = [t for t in st.gpu_types.values() if gid is None or t["id"] == gid]
            return {"data": {"gpuTypes": types}}
        if "myPods" in q:
            pods = []
            for p in st.pods.values():
                p["_looks"] += 1
                if p["runtime"] is None and p["_gpu"] not in st.never_ready and p["_looks"] >= 2:
                    p["runtime"] = {"ports": []}  # container up on the second look
                pods.append({k: v for k, v in p.items() if not k.startswith("_")})
            return {"data": {"myself": {"pods": pods}}}
        return {"errors": [{"message": "unsupported operation in the fake"}]}


def default_gpu_types() -> dict[str, dict[str, Any]]:
    def t(gid: str, mem: int, secure: float, community: float) -> dict[str, Any]:
        return {
            "id": gid,
            "displayName": gid.replace("NVIDIA ", ""),
            "memoryInGb": mem,
            "maxGpuCount": 8,
            "securePrice": secure,
            "communityPrice": community,
            "secureSpotPrice": round(secure * 0.5, 3),
            "communitySpotPrice": round(community * 0.5, 3),
            "lowestPrice": {"minimumBidPrice": round(community * 0.45, 3), "uninterruptablePrice": community},
            "manufacturer": "Nvidia",
        }

    return {
        g["id"]: g
        for g in (
            t("NVIDIA L4", 24, 0.43, 0.39),
            t("NVIDIA RTX A4000", 16, 0.32, 0.17),
            t("NVIDIA RTX A5000", 24, 0.36, 0.22),
            t("NVIDIA L40S", 48, 0.99, 0.79),
        )
    }


@contextmanager
def fake_runpod(state: RunPodState | None = None) -> Iterator[tuple[str, RunPodState]]:
    """Serve the fake on 127.0.0.1; yields (base_url, state): the provider's ``base_url``."""
    st = state or RunPodState(gpu_types=default_gpu_types())
    with serve(_Handler, st) as url:
        yield url, st
