"""Token buckets in memory: per-key request rates, and the sign-in failure allowance.

One API process serves a handful of reviewers and client apps, so an in-process limiter is
enough and costs nothing per request; a multi-process deployment divides each allowance by the
number of processes at worst.  The bucket refills continuously, so a client that waits
``retry_after`` seconds is guaranteed a token.  The table is bounded: anyone can make up a new
bucket name (a client address, a key prefix), so the least recently used buckets are dropped
once ``max_buckets`` is reached; a dropped bucket was idle the longest, so it was (nearly) full.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_RATE_PER_S = 20.0
DEFAULT_BURST = 60
DEFAULT_MAX_BUCKETS = 10_000


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: int
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens; 0.0 when allowed, else the seconds until it would be."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate_per_s

    def wait(self, now: float, cost: float = 1.0) -> float:
        """Like :meth:`take` without spending: 0.0 when ``cost`` tokens are there."""
        self._refill(now)
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / self.rate_per_s


@dataclass
class RateLimiter:
    rate_per_s: float = DEFAULT_RATE_PER_S
    burst: int = DEFAULT_BURST
    clock: Callable[[], float] = time.monotonic
    max_buckets: int = DEFAULT_MAX_BUCKETS
    buckets: OrderedDict[str, TokenBucket] = field(default_factory=OrderedDict)

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(self.rate_per_s, self.burst)
            while len(self.buckets) > self.max_buckets:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
        return bucket

    def check(self, key: str, cost: float = 1.0) -> float:
        """0.0 if ``key`` may proceed now (a token is spent), else the Retry-After in seconds."""
        return self._bucket(key).take(self.clock(), cost)

    def peek(self, key: str, cost: float = 1.0) -> float:
        """The wait :meth:`check` would answer, without spending anything (0.0 for an unknown key)."""
        bucket = self.buckets.get(key)
        return 0.0 if bucket is None else bucket.wait(self.clock(), cost)

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        # Retry-After takes whole seconds; rounding up keeps the promise that a retry then succeeds.
        return str(max(1, math.ceil(wait_s)))
