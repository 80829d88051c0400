"""API keys, dashboard sessions, roles, sign-in throttling and the per-key rate limit.

Programs present a key (``Authorization: Bearer`` or ``X-API-Key``); the dashboard presents a
session cookie holding an opaque token (:mod:`tubeflow.db.sessions`), never the key.  Requests
carrying the cookie that change something must also carry the ``X-Tubeflow-Request`` header,
which a cross-site form cannot set (a stateless CSRF guard on top of SameSite=Strict).

Guessing keys is throttled *before* the lookup: each wrong key spends one token of the client
address's failure bucket and of the key prefix's, and while either is empty every key from there
is answered 429 without being looked up, a correct one included, so the answer says nothing
about which guess was right.  Verified credentials are cached per process; the cache re-reads the
auth epoch (moved by every revocation) at most every ``EPOCH_CHECK_S``, so a revoked key or
session is refused by every process within a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.context import ApiContext, Ctx, shared_database
from api.credentials import Verified, lookup_key  # noqa: F401  (lookup_key: re-exported for callers)
from api.ratelimit import RateLimiter
from tubeflow.contracts import Role
from tubeflow.db import limits, repo
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError

ROLES: tuple[str, ...] = tuple(r.value for r in Role)
COOKIE = "tubeflow_session"
CSRF_HEADER = "x-tubeflow-request"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    key_id: str  # a stable, non-secret handle for the key (rate-limit and stream buckets)
    via_cookie: bool = False
    api_key_id: int = 0

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


# ---------------------------------------------------------------- who is asking


def presented(request: Request) -> tuple[str, str] | None:
    """("key", plaintext) from a header, ("session", token) from the cookie, or None."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        key = auth[7:].strip()
        return ("key", key) if key else None
    header = request.headers.get("x-api-key", "").strip()
    if header:
        return "key", header
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return "session", cookie
    return None


# ---------------------------------------------------------------- the dependencies


def _cost(request: Request) -> float:
    # A review page loads many thumbnails and a player issues Range requests as it seeks: media
    # requests are cheap so one page view cannot use up a reviewer's burst.
    return 0.2 if request.url.path.startswith("/api/media/") else 1.0


async def _limit(ctx: ApiContext, bucket: str, cost: float = 1.0) -> None:
    # On PostgreSQL a key's bucket is one row every replica takes from (one upsert per request).
    shared, limiter = shared_database(ctx), ctx.limiter
    if shared is not None:
        wait = await limits.take(shared, f"rate:{bucket}", limiter.rate_per_s, float(limiter.burst), cost)
    else:
        wait = limiter.check(bucket, cost)
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit: too many requests for this key; retry in {wait:.1f} s",
            headers={"Retry-After": RateLimiter.retry_after_header(wait)},
        )


def limit_anonymous(ctx: ApiContext, request: Request) -> None:
    """Requests without a usable credential share one bucket per client address.

    Kept in this process even on PostgreSQL: it is a flood guard in front of the lookup, and the
    wrong-key throttle that matters for guessing (:meth:`SignInGuard.failed`) is shared."""
    wait = ctx.limiter.check(f"anon:{ctx.guard.client(request)}")
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit: too many requests for this key; retry in {wait:.1f} s",
            headers={"Retry-After": RateLimiter.retry_after_header(wait)},
        )


async def verify_key_guarded(ctx: ApiContext, request: Request, key: str) -> Verified | None:
    """Check a presented key under the sign-in guard: 429 while locked (before any lookup),
    None for a wrong key (which spends the client's and the prefix's allowance)."""
    client, prefix = ctx.guard.client(request), repo.key_prefix(key)
    shared = shared_database(ctx)
    await ctx.guard.check(client, prefix, shared)
    found = await ctx.auth.verify(ctx.db, "key", key)
    if found is None:
        await ctx.guard.failed(client, prefix, shared)
    return found


async def authenticate(request: Request, ctx: Ctx) -> Principal:
    credential = presented(request)
    if credential is None:
        limit_anonymous(ctx, request)
        raise HTTPException(
            401,
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(create one with `tubeflow key create --role editor`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    kind, secret = credential
    if kind == "key":
        found = await verify_key_guarded(ctx, request, secret)
        problem = "invalid or revoked API key"
    else:
        # Session tokens are 256 random bits: not guessable, so a stale cookie is not a guess.
        found = await ctx.auth.verify(ctx.db, "session", secret)
        problem = "your sign-in expired, was signed out or its key was revoked; sign in again"
    if found is None:
        limit_anonymous(ctx, request)
        raise HTTPException(401, problem, headers={"WWW-Authenticate": "Bearer"})
    via_cookie = kind == "session"
    principal = Principal(found.name, found.role, f"key{found.api_key_id}", via_cookie, found.api_key_id)
    await _limit(ctx, principal.key_id, _cost(request))
    if via_cookie and request.method not in SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise HTTPException(403, f"cookie-authenticated changes need the {CSRF_HEADER} header (CSRF guard)")
    request.state.principal = principal
    return principal


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys with at least ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.can(role):
            raise HTTPException(
                403, f"key {principal.name!r} has role {principal.role!r}; this needs {role!r} or higher"
            )
        return principal

    return dependency


# Who may call a route, as its parameter's type (``who: EditorKey``): any valid key or sign-in
# (a viewer reads), an editor (decides at checkpoints, starts work), an admin (keys, channels).
ViewerKey = Annotated[Principal, Depends(authenticate)]
EditorKey = Annotated[Principal, Depends(require("editor"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]


async def create_key(db: Database, name: str, role: str) -> str:
    """Create a key and return its plaintext, which is never stored and cannot be shown again."""
    if role not in ROLES:
        raise PermanentError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    plaintext, _row = await repo.create_api_key(db, name, role)
    return str(plaintext)
