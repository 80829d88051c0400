"""What every request handler needs, built once per app (see :func:`api.app.create_app`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from temporalio.client import Client

from api.fetch import FetchPolicy
from api.ratelimit import RateLimiter
from tubeflow.settings import Settings
from tubeflow.storage import Storage


@dataclass
class ApiContext:
    settings: Settings
    db: Any
    storage: Storage
    limiter: RateLimiter
    fetch_policy: FetchPolicy
    temporal: Client | None = None
    # Verified keys for a few seconds (see api.auth.KeyCache): a revoked key stops working within this.
    key_cache_s: float = 10.0
    key_cache: dict[str, tuple[float, str, str]] = field(default_factory=dict)

    def client(self) -> Client:
        if self.temporal is None:
            raise HTTPException(503, "Temporal is not connected; is the dev server running (`tubeflow dev`)?")
        return self.temporal


def get_ctx(request: Request) -> ApiContext:
    return request.app.state.tubeflow
