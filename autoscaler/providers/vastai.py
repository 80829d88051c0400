"""GPU workers on Vast.ai: search offers by price and VRAM, rent the cheapest, destroy when done.

Plain REST (``/api/v0``) over httpx: the vastai package is a CLI, and the REST API is small.  The
base URL is configurable so the tests point it at a local fake that speaks the same API.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any

import httpx

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
from tubeflow.worker_config import redact

# GPUs with an NVENC encoder (what the render needs); Vast names them like this in offers.
NVENC_GPUS = ("Tesla T4", "L4", "A10", "A10G", "L40S", "L40", "RTX A4000", "RTX A5000", "RTX 4090", "RTX 3090")
VASTAI_URL = "https://console.vast.ai"  # TUBEFLOW_VASTAI_BASE_URL empty means this
_QUOTA_WORDS = ("insufficient_credit", "insufficient credit", "quota", "rate limit", "too many")


class VastAiProvider:
    name = "vastai"

    def __init__(
        self,
        api_key: str,
        image: str = DEFAULTS.gpu_image,
        base_url: str = VASTAI_URL,
        env: dict[str, str] | None = None,
        min_vram_gb: float = DEFAULTS.autoscaler_min_vram_gb,
        max_price_per_hour: float = DEFAULTS.autoscaler_max_price_per_hour,
        gpu_names: Sequence[str] = NVENC_GPUS,
        interruptible: bool = False,
        disk_gb: int = 30,
        onstart: str = "tubeflow worker --queue gpu",
        timeout_s: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        worker_settings: Settings | None = None,
    ) -> None:
        if not api_key:
            raise ConfigError("the vastai provider needs an API key (TUBEFLOW_VASTAI_API_KEY)")
        self.image = image
        self.env = dict(env or {})
        self.min_vram_gb = min_vram_gb
        self.max_price_per_hour = max_price_per_hour
        self.gpu_names = list(gpu_names)
        self.interruptible = interruptible
        self.disk_gb = disk_gb
        self.onstart = onstart
        # The autoscaler's settings: each instance gets the worker configuration built from them.
        self.worker_settings = worker_settings
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v0",
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )
        self._prices: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> VastAiProvider:
        options.setdefault("api_key", settings.vastai_api_key)
        options.setdefault("base_url", settings.vastai_base_url or VASTAI_URL)
        options.setdefault("image", settings.gpu_image)
        options.setdefault("max_price_per_hour", settings.autoscaler_max_price_per_hour)
        options.setdefault("min_vram_gb", settings.autoscaler_min_vram_gb)
        options.setdefault("interruptible", settings.autoscaler_spot)
        options.setdefault("worker_settings", settings)
        return cls(**options)

    def instance_env(self, name: str, price: float) -> dict[str, str]:
        """The worker configuration for one instance (Vast.ai shows instance env to the account only)."""
        return launch_env(self.worker_settings, name, price, self.env)

    # ------------------------------------------------------------------ offers

    def search_offers(self) -> list[dict[str, Any]]:
        """Rentable NVENC offers with enough VRAM under the price cap, cheapest first."""
        query = {
            "verified": {"eq": True},
            "rentable": {"eq": True},
            "rented": {"eq": False},
            "num_gpus": {"eq": 1},
            "gpu_ram": {"gte": int(self.min_vram_gb * 1024)},
            "dph_total": {"lte": self.max_price_per_hour},
            "gpu_name": {"in": self.gpu_names},
            "type": "bid" if self.interruptible else "on-demand",
            "order": [["dph_total", "asc"]],
            "limit": 20,
        }
        offers = self._call("POST", "/bundles/", json=query).get("offers", [])
        # The server filters too; filter again so a lax server cannot push us over the cap.
        ok = [
            o
            for o in offers
            if float(o.get("dph_total", 1e9)) <= self.max_price_per_hour
            and float(o.get("gpu_ram", 0)) >= self.min_vram_gb * 1024
        ]
        return sorted(ok, key=lambda o: float(o["dph_total"]))

    # ------------------------------------------------------------------ interface

    def launch(self, name: str, labels: dict[str, str], avoid: Collection[str] = ()) -> Instance:
        offers = [o for o in self.search_offers() if f"machine:{o.get('machine_id')}" not in avoid]
        if not offers:
            raise LaunchFailedError(
                f"no Vast.ai offer with >= {self.min_vram_gb:g} GB VRAM under ${self.max_price_per_hour:g}/h "
                f"(excluding {len(avoid)} machine(s) that failed before)"
            )
        errors: list[str] = []
        for offer in offers[:5]:
            body = {
                "client_id": "me",
                "image": self.image,
                "label": name,
                "disk": self.disk_gb,
                "env": self.instance_env(name, float(offer["dph_total"])),
                "onstart": self.onstart,
                "runtype": "args",
            }
            if self.interruptible:
                body["price"] = float(offer["dph_total"])
            try:
                result = self._call("PUT", f"/asks/{offer['id']}/", json=body)
            except LaunchFailedError as e:
                errors.append(redact(f"offer {offer['id']}: {e}", secret_env(self.worker_settings)))
                continue  # rented by someone else a moment ago, or that host failed: next offer
            contract = str(result["new_contract"])
            price = float(offer["dph_total"])
            self._prices[contract] = price
            return Instance(
                id=contract,
                provider=self.name,
                state=InstanceState.STARTING,
                started_at=time.time(),
                labels={**labels, MANAGED_LABEL: MANAGED_VALUE, "offer": str(offer["id"])},
                identity=name,
                price_per_hour=price,
                placement=f"machine:{offer.get('machine_id')}",
            )
        raise LaunchFailedError("every Vast.ai offer tried failed: " + "; ".join(errors))

    def list(self) -> list[Instance]:
        out = []
        for raw in self._call("GET", "/instances/").get("instances", []):
            label = str(raw.get("label") or "")
            if not label.startswith(NAME_PREFIX):
                continue  # not ours: never listed, never reaped
            status = str(raw.get("actual_status") or "")
            intended = str(raw.get("intended_status") or "")
            if intended in ("stopped", "destroyed") or status in ("exited", "offline"):
                state = InstanceState.STOPPED if status in ("exited", "offline", "stopped") else InstanceState.STOPPING
            elif status == "running":
                state = InstanceState.RUNNING
            else:
                state = InstanceState.STARTING  # created, loading (pulling the image), scheduling
            iid = str(raw["id"])
            price = float(raw.get("dph_total") or self._prices.get(iid, 0.0))
            out.append(
                Instance(
                    id=iid,
                    provider=self.name,
                    state=state,
                    started_at=float(raw.get("start_date") or time.time()),
                    labels={MANAGED_LABEL: MANAGED_VALUE, "status": status},
                    identity=label,
                    price_per_hour=price,
                    placement=f"machine:{raw.get('machine_id')}",
                )
            )
        return out

    def terminate(self, instance_id: str) -> None:
        # A 404 means it is already gone: the goal is reached.
        self._call("DELETE", f"/instances/{instance_id}/", allow={404})

    def price_per_hour(self, instance: Instance | None = None) -> float:
        if instance is not None:
            return instance.price_per_hour or self._prices.get(instance.id, 0.0)
        offers = self.search_offers()
        return float(offers[0]["dph_total"]) if offers else self.max_price_per_hour

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ HTTP

    def _call(self, method: str, path: str, allow: Collection[int] = (), **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise ProviderError(f"Vast.ai API unreachable ({method} {path}): {e}") from e
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {"msg": resp.text[:200]}
        message = str(body.get("msg") or body.get("error") or "")
        if resp.status_code in allow:
            return body
        if resp.status_code in (401, 403):
            raise ProviderAuthError(f"Vast.ai refused the API key ({resp.status_code}): {message}")
        error_text = f"{body.get('error', '')} {message}".lower()
        if resp.status_code == 429 or any(w in error_text for w in _QUOTA_WORDS):
            retry = resp.headers.get("retry-after")
            raise QuotaExceededError(
                f"Vast.ai will not start more instances now: {message or resp.status_code}",
                retry_after_s=float(retry) if retry and retry.isdigit() else None,
            )
        if resp.status_code >= 400 or body.get("success") is False:
            raise LaunchFailedError(f"Vast.ai {method} {path} failed ({resp.status_code}): {message}")
        return body
