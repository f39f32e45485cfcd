"""Falco's output rate limiting: a token bucket refilled at `rate` tokens a second up to
`burst`; an alert that finds the bucket empty is dropped and counted."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate` 0 disables limiting (Falco's default)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("the rate must be >= 0 and the burst >= 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.last = clock()
        self.dropped = 0

    def take(self) -> bool:
        if self.rate == 0:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False
