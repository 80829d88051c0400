"""GPU workers as RunPod pods, through the ``runpod`` SDK (GraphQL underneath).

GPU types are tried in order of preference; a type with no capacity, or one whose pod never became
ready, is skipped for the next launch.  The SDK's query builders write the GraphQL; this provider
sends it with its own key to its own URL (``TUBEFLOW_RUNPOD_BASE_URL``: the tests' local fake), as
the SDK's transport would only take both from process globals (``runpod.api_key``, the
``RUNPOD_API_BASE_URL`` variable).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from typing import Any

import httpx
from runpod import error as rp_error
from runpod.api.mutations import pods as pod_mutations
from runpod.api.queries import gpus as gpu_queries
from runpod.api.queries import pods as pod_queries

from autoscaler.providers.base import (
    DEFAULTS,
    MANAGED_LABEL,
    MANAGED_VALUE,
    NAME_PREFIX,
    Instance,
    InstanceState,
    LaunchFailedError,
    ProviderAuthError,
    ProviderError,
    QuotaExceededError,
    launch_env,
    secret_env,
)
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

# NVENC-capable RunPod GPU type ids, cheapest usable first.
DEFAULT_GPU_TYPES = ("NVIDIA L4", "NVIDIA RTX A4000", "NVIDIA RTX A5000", "NVIDIA L40S")
_QUOTA_WORDS = ("quota", "balance", "insufficient", "limit", "too many")
_NO_CAPACITY_WORDS = ("no longer any instances available", "not available", "no instances")
RUNPOD_URL = "https://api.runpod.io"  # TUBEFLOW_RUNPOD_BASE_URL empty means this


class RunPodApi:
    """RunPod's GraphQL endpoint with one key: errors as the SDK raises them, so they classify the same."""

    def __init__(self, api_key: str, base_url: str = "", timeout_s: float = 30.0) -> None:
        self.api_key = api_key
        self.base_url = (base_url or RUNPOD_URL).rstrip("/")
        self.url = self.base_url + "/graphql"
        self.timeout_s = timeout_s

    def query(self, query: str) -> dict[str, Any]:
        resp = httpx.post(
            self.url,
            content=json.dumps({"query": query}),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            timeout=self.timeout_s,
        )
        if resp.status_code == 401:
            raise rp_error.AuthenticationError("Unauthorized request, please check your API key.")
        body: dict[str, Any] = resp.json()
        if "errors" in body:
            raise rp_error.QueryError(body["errors"][0]["message"], query)
        return body

    def get_gpu(self, gpu: str) -> dict[str, Any]:
        found = self.query(gpu_queries.generate_gpu_query(gpu, 1))["data"]["gpuTypes"]
        if not found:
            raise ValueError(f"RunPod has no GPU type {gpu!r}")
        return dict(found[0])

    def get_pods(self) -> list[dict[str, Any]]:
        return list(self.query(pod_queries.QUERY_POD)["data"]["myself"]["pods"] or [])

    def create_pod(self, **fields: Any) -> dict[str, Any]:
        """``runpod.create_pod``'s mutation, with the defaults that call fills in."""
        if fields.get("cloud_type", "ALL") not in ("ALL", "COMMUNITY", "SECURE"):
            raise ValueError("cloud_type must be one of ALL, COMMUNITY or SECURE")
        defaults = {"gpu_count": 1, "volume_in_gb": 0, "min_vcpu_count": 1, "min_memory_in_gb": 1}
        mutation = pod_mutations.generate_pod_deployment_mutation(
            **{**defaults, "volume_mount_path": "/runpod-volume", **fields}
        )
        return dict(self.query(mutation)["data"]["podFindAndDeployOnDemand"])

    def terminate_pod(self, pod_id: str) -> None:
        self.query(pod_mutations.generate_pod_terminate_mutation(pod_id))


def _gql(value: str) -> str:
    """A GraphQL string body: the SDK pastes values between quotes without escaping them."""
    return json.dumps(str(value))[1:-1]


def _classify(e: Exception, what: str, secret: Any = None) -> ProviderError | ProviderAuthError:
    from tubeflow.worker_config import redact

    # An error may echo the request (pod env included): never let a secret reach a log line.
    text = redact(str(e), secret) if secret is not None else str(e)
    if isinstance(e, rp_error.AuthenticationError):
        return ProviderAuthError(f"RunPod refused the API key: {text}")
    low = text.lower()
    if any(w in low for w in _QUOTA_WORDS):
        return QuotaExceededError(f"RunPod will not start more pods now: {text}")
    if isinstance(e, (rp_error.QueryError, ValueError)):
        return LaunchFailedError(f"RunPod {what} failed: {text}")
    return ProviderError(f"RunPod API unreachable ({what}): {text}")


class RunPodProvider:
    name = "runpod"

    def __init__(
        self,
        api_key: str,
        image: str = DEFAULTS.gpu_image,
        gpu_types: Sequence[str] = DEFAULT_GPU_TYPES,
        env: dict[str, str] | None = None,
        cloud_type: str = "ALL",
        base_url: str = "",
        container_disk_gb: int = 30,
        docker_args: str = "tubeflow worker --queue gpu",
        max_price_per_hour: float = 0.0,
        min_vram_gb: float = 0.0,
        interruptible: bool = False,
        worker_settings: Settings | None = None,
    ) -> None:
        if not api_key:
            raise ConfigError("the runpod provider needs an API key (TUBEFLOW_RUNPOD_API_KEY)")
        self.api = RunPodApi(api_key, base_url)
        self.image = image
        self.gpu_types = list(gpu_types)
        self.env = dict(env or {})
        self.cloud_type = cloud_type
        self.container_disk_gb = container_disk_gb
        self.docker_args = docker_args
        self.max_price_per_hour = max_price_per_hour  # 0 = no cap
        self.min_vram_gb = min_vram_gb
        # Spot: podRentInterruptable with a bid; the pod may be reclaimed (renders resume elsewhere).
        self.interruptible = interruptible
        # The autoscaler's settings: each pod gets the worker configuration built from them.
        self.worker_settings = worker_settings
        self._launched: dict[str, float] = {}
        self._gpu_of: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> RunPodProvider:
        options.setdefault("api_key", settings.runpod_api_key)
        options.setdefault("base_url", settings.runpod_base_url)
        options.setdefault("image", settings.gpu_image)
        options.setdefault("max_price_per_hour", settings.autoscaler_max_price_per_hour)
        options.setdefault("min_vram_gb", settings.autoscaler_min_vram_gb)
        options.setdefault("interruptible", settings.autoscaler_spot)
        options.setdefault("worker_settings", settings)
        return cls(**options)

    def _offer(self, gpu: str) -> tuple[float, str]:
        """(USD/h we would pay, "" or why this GPU type is unfit) from RunPod's price list."""
        try:
            info = self.api.get_gpu(gpu)
        except Exception as e:  # noqa: BLE001
            err = _classify(e, f"price of {gpu}")
            if isinstance(err, (QuotaExceededError, ProviderAuthError)):
                raise err from e
            return 0.0, str(err)
        vram = float(info.get("memoryInGb") or 0)
        if vram < self.min_vram_gb:
            return 0.0, f"{gpu} has {vram:g} GB VRAM < {self.min_vram_gb:g} GB"
        community = self.cloud_type == "COMMUNITY"
        if self.interruptible:
            lowest = info.get("lowestPrice") or {}
            spot = info.get("communitySpotPrice" if community else "secureSpotPrice") or 0.0
            price = float(max(float(lowest.get("minimumBidPrice") or 0.0), float(spot or 0.0)))
        else:
            price = float(info.get("communityPrice" if community else "securePrice") or 0.0)
        if price <= 0:
            return 0.0, f"RunPod has no {'spot ' if self.interruptible else ''}price for {gpu}"
        if self.max_price_per_hour and price > self.max_price_per_hour:
            return price, f"{gpu} costs ${price:g}/h > max ${self.max_price_per_hour:g}/h"
        return price, ""

    def pod_env(self, name: str, price: float) -> dict[str, str]:
        """The worker configuration for one pod (RunPod keeps pod env private to the account)."""
        return launch_env(self.worker_settings, name, price, self.env)

    def launch(self, name: str, labels: dict[str, str], avoid: Collection[str] = ()) -> Instance:
        errors: list[str] = []
        candidates = [g for g in self.gpu_types if f"gpu:{g}" not in avoid]
        if not candidates:
            raise LaunchFailedError(f"every configured RunPod GPU type failed recently: {', '.join(self.gpu_types)}")
        for gpu in candidates:
            price, unfit = self._offer(gpu)
            if unfit:
                errors.append(unfit)
                continue
            env = {k: _gql(v) for k, v in self.pod_env(name, price).items()}
            secret = secret_env(self.worker_settings)
            try:
                if self.interruptible:
                    pod = self._rent_interruptible(name, gpu, price, env)
                else:
                    pod = self.api.create_pod(
                        name=name,
                        image_name=self.image,
                        gpu_type_id=gpu,
                        cloud_type=self.cloud_type,
                        container_disk_in_gb=self.container_disk_gb,
                        docker_args=self.docker_args,
                        env=env,
                        start_ssh=False,
                        support_public_ip=False,
                    )
            except Exception as e:  # noqa: BLE001 - the SDK raises bare ValueError/QueryError/requests errors
                err = _classify(e, f"create pod on {gpu}", secret)
                if isinstance(err, (QuotaExceededError, ProviderAuthError)):
                    raise err from None  # the cause may carry the mutation, secrets and all
                errors.append(str(err))
                continue  # no capacity for this GPU type: try the next one
            pod_id = str(pod["id"])
            self._launched[pod_id] = time.time()
            self._gpu_of[pod_id] = gpu
            return Instance(
                id=pod_id,
                provider=self.name,
                state=InstanceState.STARTING,
                started_at=self._launched[pod_id],
                labels={**labels, MANAGED_LABEL: MANAGED_VALUE, "gpu": gpu},
                identity=name,
                price_per_hour=price,
                placement=f"gpu:{gpu}",
            )
        raise LaunchFailedError("no RunPod GPU type could start a pod: " + "; ".join(errors))

    def _rent_interruptible(self, name: str, gpu: str, bid: float, env: dict[str, str]) -> dict[str, Any]:
        """A spot pod: the SDK has no call for it, so the documented GraphQL mutation, sent through it."""
        env_items = ", ".join(f'{{ key: "{k}", value: "{v}" }}' for k, v in env.items())
        mutation = f"""
        mutation {{
          podRentInterruptable(
            input: {{
              bidPerGpu: {bid:.4f}, name: "{_gql(name)}", imageName: "{_gql(self.image)}",
              gpuTypeId: "{_gql(gpu)}", cloudType: {self.cloud_type}, gpuCount: 1, volumeInGb: 0,
              containerDiskInGb: {self.container_disk_gb}, minVcpuCount: 1, minMemoryInGb: 1,
              dockerArgs: "{_gql(self.docker_args)}", supportPublicIp: false, startSsh: false,
              env: [{env_items}]
            }}
          ) {{ id imageName machineId }}
        }}
        """
        answer = self.api.query(mutation)
        pod = (answer.get("data") or {}).get("podRentInterruptable")
        if not pod:
            raise ValueError(f"RunPod did not rent a spot {gpu}: {answer.get('errors')}")
        return dict(pod)

    def list(self) -> list[Instance]:
        try:
            pods = self.api.get_pods()
        except Exception as e:  # noqa: BLE001
            raise _classify(e, "list pods") from e
        out = []
        for pod in pods or []:
            name = str(pod.get("name") or "")
            if not name.startswith(NAME_PREFIX):
                continue
            pod_id = str(pod["id"])
            desired = str(pod.get("desiredStatus") or "")
            if desired == "RUNNING":
                state = InstanceState.RUNNING if pod.get("runtime") else InstanceState.STARTING
            elif desired in ("EXITED", "TERMINATED"):
                state = InstanceState.STOPPED
            else:
                state = InstanceState.STARTING  # CREATED and friends
            started = self._launched.get(pod_id) or time.time() - float(pod.get("uptimeSeconds") or 0)
            gpu = self._gpu_of.get(pod_id) or str((pod.get("machine") or {}).get("gpuDisplayName") or "")
            out.append(
                Instance(
                    id=pod_id,
                    provider=self.name,
                    state=state,
                    started_at=started,
                    labels={MANAGED_LABEL: MANAGED_VALUE, "gpu": gpu},
                    identity=name,
                    price_per_hour=float(pod.get("costPerHr") or 0.0),
                    placement=f"gpu:{gpu}",
                )
            )
        return out

    def terminate(self, instance_id: str) -> None:
        try:
            self.api.terminate_pod(instance_id)
        except Exception as e:  # noqa: BLE001
            if "not found" in str(e).lower():
                return  # already gone
            raise _classify(e, f"terminate pod {instance_id}") from e

    def price_per_hour(self, instance: Instance | None = None) -> float:
        if instance is not None and instance.price_per_hour:
            return instance.price_per_hour
        gpu = instance.labels.get("gpu", self.gpu_types[0]) if instance else self.gpu_types[0]
        return self._price_of(gpu)

    def _price_of(self, gpu: str) -> float:
        try:
            info = self.api.get_gpu(gpu)
        except Exception:  # noqa: BLE001 - a price is informative; launching must not fail on it
            return 0.0
        price = info.get("communityPrice") if self.cloud_type == "COMMUNITY" else info.get("securePrice")
        return float(price or info.get("communityPrice") or 0.0)
