"""The one interface every GPU worker provider implements, and the errors it may raise.

Providers are synchronous (their SDKs are: kubernetes, runpod, plain HTTP); the controller calls
them in a thread.  They only translate: the decisions (how many, which, when to give up on one)
live in the policy and the controller.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tubeflow.errors import PermanentError, TransientError

# Every instance we create carries this label/name prefix: the reaper only ever touches these.
MANAGED_LABEL = "tubeflow-role"
MANAGED_VALUE = "gpu-worker"
NAME_PREFIX = "tubeflow-gpu-"


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
