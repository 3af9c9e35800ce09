"""Per-tenant rate limiting: a token bucket per tenant, per ingress replica.

Each replica enforces the configured rate on its own, so with N ingress replicas a tenant can reach
up to N times the rate; the monthly quota, kept in DynamoDB, is exact across replicas.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, tenant: str, rate_per_s: float, burst: int, cost: float = 1.0) -> int:
        """0 when allowed (and the tokens are taken); else the seconds to wait (``Retry-After``)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(tenant, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate_per_s)
            if tokens >= cost:
                self._buckets[tenant] = (tokens - cost, now)
                return 0
            self._buckets[tenant] = (tokens, now)
            return max(1, math.ceil((min(cost, burst) - tokens) / rate_per_s))
