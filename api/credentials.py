"""Who is asking and whether their credential holds: client addresses, the sign-in guard, and
the per-process cache of verified keys and sessions (see :mod:`api.auth` for how they are used).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request

from api.ratelimit import RateLimiter
from tubeflow.db import limits, repo
from tubeflow.db.engine import Database
from tubeflow.db.sessions import session_key
from tubeflow.db.types import utcnow
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings

EPOCH_CHECK_S = 0.5
MAX_CACHED = 10_000


@dataclass(frozen=True)
class Verified:
    name: str
    role: str
    api_key_id: int
    until: datetime | None = None  # a session's expiry


def parse_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in spec.split(","):
        if part.strip():
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(nets)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: Request, trusted: tuple[Any, ...]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest address
    in X-Forwarded-For that is not one (entries further left are the client's own claims)."""
    peer = request.client.host if request.client else "unknown"
    peer_ip = _ip(peer)
    if not trusted or peer_ip is None or not any(peer_ip in n for n in trusted):
        return peer
    hops = [h for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    nearest = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break
        nearest = str(ip)
        if not any(ip in n for n in trusted):
            return nearest
    return nearest


class SignInGuard:
    """Failure buckets per client address and per key prefix, consulted before any lookup."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.trusted = parse_networks(settings.trusted_proxies)
        self.failures = RateLimiter(
            rate_per_s=settings.auth_failure_per_min / 60.0,
            burst=settings.auth_failure_burst,
            clock=clock,
            max_buckets=settings.rate_limit_max_buckets,
        )

    def client(self, request: Request) -> str:
        return client_address(request, self.trusted)

    def _buckets(self, client: str, prefix: str) -> list[str]:
        return [f"client:{client}"] + ([f"prefix:{prefix}"] if prefix else [])

    async def check(self, client: str, prefix: str, shared: Database | None = None) -> None:
        """429 while either bucket is empty; with ``shared`` (PostgreSQL) the buckets are every replica's."""
        buckets = self._buckets(client, prefix)
        if shared is not None:
            wait = await limits.peek(shared, [f"signin:{b}" for b in buckets])
        else:
            wait = max(self.failures.peek(b) for b in buckets)
        if wait > 0:
            raise HTTPException(
                429,
                f"too many wrong keys; sign-in is locked for {wait:.0f} s",
                headers={"Retry-After": RateLimiter.retry_after_header(wait)},
            )

    async def failed(self, client: str, prefix: str, shared: Database | None = None) -> None:
        buckets = self._buckets(client, prefix)
        if shared is not None:
            f = self.failures
            await limits.take_all(shared, [f"signin:{b}" for b in buckets], f.rate_per_s, float(f.burst))
            return
        for b in buckets:
            self.failures.check(b)


class AuthCache:
    """Verified keys and sessions for ``ttl_s``, dropped whenever the auth epoch moves."""

    def __init__(self, ttl_s: float, epoch_check_s: float = EPOCH_CHECK_S) -> None:
        self.ttl_s = ttl_s
        self.epoch_check_s = epoch_check_s
        self.entries: OrderedDict[str, tuple[float, Verified]] = OrderedDict()
        self.epoch = -1
        self.checked_at = -1e9
        self.generation = 0  # bumped on every clear: a lookup that straddles one is not stored

    def clear(self) -> None:
        """Forget everything (this process just revoked something; others notice via the epoch)."""
        self.entries.clear()
        self.generation += 1

    async def _sync(self, db: Database) -> None:
        now = time.monotonic()
        if now - self.checked_at < self.epoch_check_s:
            return
        self.checked_at = now
        epoch = await repo.auth_epoch(db)
        if epoch != self.epoch:
            self.epoch = epoch
            self.clear()

    async def verify(self, db: Database, kind: str, secret: str) -> Verified | None:
        await self._sync(db)
        handle = f"{kind}:{repo.hash_api_key(secret)}"
        now = time.monotonic()
        hit = self.entries.get(handle)
        if hit is not None and hit[0] > now and (hit[1].until is None or hit[1].until > utcnow()):
            return hit[1]
        generation = self.generation
        found = await (_verify_key(db, secret) if kind == "key" else _verify_session(db, secret))
        if found is None:
            self.entries.pop(handle, None)
        elif self.ttl_s > 0 and generation == self.generation:
            self.entries[handle] = (now + self.ttl_s, found)
            self.entries.move_to_end(handle)
            while len(self.entries) > MAX_CACHED:
                self.entries.popitem(last=False)
        return found


async def _verify_key(db: Database, key: str) -> Verified | None:
    try:
        row = await repo.verify_api_key(db, key)
    except PermanentError:
        return None
    return None if row is None else Verified(row.name, row.role, row.id)


async def _verify_session(db: Database, token: str) -> Verified | None:
    found = await session_key(db, token)
    if found is None:
        return None
    session, key = found
    return Verified(key.name, key.role, key.id, until=session.expires_at)


async def lookup_key(db: Database, key: str) -> tuple[str, str] | None:
    """(name, role) of a valid key, else None (uncached; the CLI and tests use it)."""
    found = await _verify_key(db, key)
    return None if found is None else (found.name, found.role)
