"""A per-account, thread-safe token bucket that spaces requests to Connex.

Callers *reserve* a slot and sleep the returned delay themselves, outside the
lock, with their own sleep function; the bucket only does arithmetic on its
clock (the "virtual scheduling" form of a token bucket: it tracks when the next
request is theoretically due).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final


class RateLimiter:
    def __init__(self, rate: float, *, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._due = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot and return how many seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            due = max(self._due, now)
            self._due = due + self._interval
            return max(0.0, due - self._tolerance - now)


class _Registry:
    def __init__(self) -> None:
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def for_account(self, key: str, rate: float, burst: int) -> RateLimiter:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None or limiter.rate != rate or limiter.burst != burst:
                limiter = self._limiters[key] = RateLimiter(rate, burst=burst)
            return limiter


# Every client of one account in this process draws from the same bucket.
ACCOUNT_LIMITERS: Final = _Registry()
