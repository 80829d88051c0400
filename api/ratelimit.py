"""Per-key token buckets, in memory.

One API process serves a handful of reviewers and client apps, so an in-process limiter is
enough and costs nothing per request; a multi-process deployment would need a shared store
(Redis) instead.  The bucket refills continuously, so a client that waits ``retry_after`` seconds
is guaranteed a token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_RATE_PER_S = 20.0
DEFAULT_BURST = 60


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: int
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens; 0.0 when allowed, else the seconds until it would be."""
        if self.tokens < 0:
            self.tokens, self.stamp = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate_per_s


@dataclass
class RateLimiter:
    rate_per_s: float = DEFAULT_RATE_PER_S
    burst: int = DEFAULT_BURST
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def check(self, key: str, cost: float = 1.0) -> float:
        """0.0 if ``key`` may proceed now, else the Retry-After in seconds."""
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(self.rate_per_s, self.burst)
        return bucket.take(self.clock(), cost)

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        # Retry-After takes whole seconds; rounding up keeps the promise that a retry then succeeds.
        return str(max(1, math.ceil(wait_s)))
