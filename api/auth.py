"""API keys, roles and the per-key rate limit, as FastAPI dependencies.

Keys are stored hashed by the database layer; here we only read the presented key (header for
programs, cookie for the dashboard), ask the database who it belongs to, and enforce the role.
A cookie is sent by the browser on its own, so requests that change something and arrive with
the cookie must also carry the ``X-Tubeflow-Request`` header, which a cross-site form cannot set
(a cheap, stateless CSRF guard on top of SameSite=Strict).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request

from api.context import ApiContext, get_ctx
from api.ratelimit import RateLimiter
from tubeflow.errors import PermanentError

ROLES: tuple[str, ...] = ("viewer", "editor", "admin")
COOKIE = "tubeflow_key"
CSRF_HEADER = "x-tubeflow-request"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    key_id: str  # a stable, non-secret handle for the key (rate-limit bucket)
    via_cookie: bool = False

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def presented_key(request: Request) -> tuple[str | None, bool]:
    """(key, came from the cookie)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None, False
    header = request.headers.get("x-api-key")
    if header:
        return header.strip(), False
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie, True
    return None, False


def key_handle(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def cached_lookup(ctx: ApiContext, key: str) -> tuple[str, str] | None:
    """:func:`lookup_key` remembered for ``ctx.key_cache_s`` seconds.

    Every API call presents its key; asking the database each time adds a transaction per request
    (on SQLite one that takes the write lock).  Only valid keys are cached, so a new key works at
    once and a wrong one is always checked; a revoked key keeps working for at most the TTL.
    """
    handle = hashlib.sha256(key.encode()).hexdigest()
    now = time.monotonic()
    hit = ctx.key_cache.get(handle)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    found = await lookup_key(ctx.db, key)
    if found is None:
        ctx.key_cache.pop(handle, None)
    elif ctx.key_cache_s > 0:
        if len(ctx.key_cache) > 10_000:  # bounded: expired entries go first
            for k in [k for k, v in ctx.key_cache.items() if v[0] <= now]:
                del ctx.key_cache[k]
        ctx.key_cache[handle] = (now + ctx.key_cache_s, found[0], found[1])
    return found


async def lookup_key(db: Any, key: str) -> tuple[str, str] | None:
    """(name, role) of a valid key, else None."""
    from tubeflow.db import repo

    try:
        row = await repo.verify_api_key(db, key)
    except PermanentError:
        return None
    if row is None:
        return None
    return str(row.name), str(row.role)


def _cost(request: Request) -> float:
    # A review page loads many thumbnails and a player issues Range requests as it seeks: media
    # requests are cheap so one page view cannot use up a reviewer's burst.
    return 0.2 if request.url.path.startswith("/api/media/") else 1.0


def _limit(limiter: RateLimiter, bucket: str, cost: float = 1.0) -> None:
    wait = limiter.check(bucket, cost)
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit: too many requests for this key; retry in {wait:.1f} s",
            headers={"Retry-After": RateLimiter.retry_after_header(wait)},
        )


def limit_anonymous(ctx: ApiContext, request: Request) -> None:
    """Requests without a valid key share one bucket per client address, so guessing keys is slow."""
    _limit(ctx.limiter, f"anon:{request.client.host if request.client else '?'}")


async def authenticate(request: Request, ctx: ApiContext = Depends(get_ctx)) -> Principal:
    key, via_cookie = presented_key(request)
    if not key:
        limit_anonymous(ctx, request)
        raise HTTPException(
            401,
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(create one with `tubeflow key create --role editor`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = await cached_lookup(ctx, key)
    if found is None:
        limit_anonymous(ctx, request)
        raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    principal = Principal(name=found[0], role=found[1], key_id=key_handle(key), via_cookie=via_cookie)
    _limit(ctx.limiter, principal.key_id, _cost(request))
    if via_cookie and request.method not in SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise HTTPException(403, f"cookie-authenticated changes need the {CSRF_HEADER} header (CSRF guard)")
    request.state.principal = principal
    return principal


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys with at least ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.can(role):
            raise HTTPException(
                403, f"key {principal.name!r} has role {principal.role!r}; this needs {role!r} or higher"
            )
        return principal

    return dependency


async def create_key(db: Any, name: str, role: str) -> str:
    """Create a key and return its plaintext, which is never stored and cannot be shown again."""
    from tubeflow.db import repo

    if role not in ROLES:
        raise PermanentError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    plaintext, _row = await repo.create_api_key(db, name, role)
    return str(plaintext)
