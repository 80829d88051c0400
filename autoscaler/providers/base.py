"""The one interface every GPU worker provider implements, and the errors it may raise.

Providers are synchronous (their SDKs are: kubernetes, runpod, plain HTTP); the controller calls
them in a thread.  They only translate: the decisions (how many, which, when to give up on one)
live in the policy and the controller.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tubeflow.errors import PermanentError, TransientError
from tubeflow.settings import Settings
from tubeflow.worker_config import ENV_IDENTITY, ENV_PRICE, WorkerEnvironment, worker_environment

# Every instance we create carries this label/name prefix: the reaper only ever touches these.
MANAGED_LABEL = "tubeflow-role"
MANAGED_VALUE = "gpu-worker"
NAME_PREFIX = "tubeflow-gpu-"
NVIDIA_CAPS = "compute,video,utility"  # "video" exposes NVENC inside the container

# What a provider built directly (not from settings) starts with: settings.py's defaults, never a copy.
DEFAULTS = Settings()


def launch_env(
    settings: Settings | None, name: str, price_per_hour: float, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of one GPU worker a cloud provider launches (a RunPod pod, a Vast.ai instance).

    The worker configuration from the autoscaler's settings (:mod:`tubeflow.worker_config`, secrets
    included: both platforms keep instance env private to the account), then the provider's own
    extras, then what no extra may change: the identity the autoscaler tracks it by, its price and
    the NVIDIA capabilities that expose NVENC.
    """
    env: dict[str, str] = {}
    if settings is not None:
        env = worker_environment(settings, identity=name, price_per_hour=price_per_hour).merged()
    return {
        **env,
        **(extra or {}),
        ENV_IDENTITY: name,
        ENV_PRICE: f"{price_per_hour:.6g}",
        "NVIDIA_DRIVER_CAPABILITIES": NVIDIA_CAPS,
    }


def secret_env(settings: Settings | None) -> WorkerEnvironment:
    """The secrets :func:`launch_env` sends, to redact from errors that may echo a launch request."""
    return worker_environment(settings) if settings is not None else WorkerEnvironment({}, {})


class InstanceState(StrEnum):
    STARTING = "starting"  # requested / booting / pulling the image
    RUNNING = "running"  # the machine or process is up (the worker may not poll yet)
    STOPPING = "stopping"
    STOPPED = "stopped"  # gone or exited; no longer billing
    FAILED = "failed"  # the provider gave up on it


@dataclass
class Instance:
    id: str
    provider: str
    state: InstanceState
    started_at: float  # epoch seconds; billing starts here
    lease_until: float | None = None  # epoch seconds; the reaper stops it after this unless renewed
    labels: dict[str, str] = field(default_factory=dict)
    # The Temporal worker identity this instance's worker polls with: ties pollers and running
    # activities back to an instance.
    identity: str = ""
    price_per_hour: float = 0.0
    # Where it runs (an offer, machine or GPU type): a placement that never became ready is avoided next time.
    placement: str = ""

    @property
    def alive(self) -> bool:
        return self.state in (InstanceState.STARTING, InstanceState.RUNNING)


class ProviderError(TransientError):
    """The provider failed in a way another try (later, or elsewhere) may fix."""


class LaunchFailedError(ProviderError):
    """This launch failed (no capacity on the offer, the API answered 5xx)."""


class QuotaExceededError(ProviderError):
    """The account may not start more instances now (quota, credit, rate limit): back off."""


class ProviderAuthError(PermanentError):
    """Wrong or missing credentials: nothing will work until a person fixes the setting."""


@runtime_checkable
class Provider(Protocol):
    name: str

    def launch(self, name: str, labels: dict[str, str], avoid: Collection[str] = ()) -> Instance:
        """Start one GPU worker called ``name`` (also its worker identity), not on a placement in ``avoid``."""
        ...

    def list(self) -> list[Instance]:
        """Every live instance this project manages (tubeflow label / name prefix), whoever launched it."""
        ...

    def terminate(self, instance_id: str) -> None:
        """Stop it and stop the billing; SIGTERM first where the platform allows, so it checkpoints."""
        ...

    def price_per_hour(self, instance: Instance | None = None) -> float:
        """USD per hour for this instance (or the typical one when None)."""
        ...
