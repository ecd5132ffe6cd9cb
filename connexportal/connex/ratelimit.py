"""Spacing requests to Connex per account: the ``Throttle`` protocol and its in-process token bucket.

Callers *reserve* a slot and sleep the returned delay themselves, outside any lock, with their
own sleep function; a throttle only does arithmetic on its clock (the "virtual scheduling" form
of a token bucket, GCRA: it tracks when the next request is theoretically due). A reservation
that would wait longer than the caller's ``max_wait`` takes nothing: the caller gives up and the
slot stays free for others. ``shared.RedisThrottles`` is the same algorithm shared by every
process through Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable


@runtime_checkable
class Throttle(Protocol):
    """One account's request spacing."""

    def reserve(self, max_wait: float | None = None) -> float | None:
        """Take the next slot and return the seconds to wait before using it.

        None, and nothing taken, when the wait would exceed ``max_wait``.
        """
        ...


@runtime_checkable
class Throttles(Protocol):
    """Where each account's throttle lives (this process, or a store every process shares)."""

    def for_account(self, key: str, rate: float, burst: int) -> Throttle: ...


def check_rate(rate: float, burst: int) -> None:
    if rate <= 0:
        raise ValueError("rate must be positive")
    if burst < 1:
        raise ValueError("burst must be at least 1")


class RateLimiter:
    """A thread-safe token bucket of this process."""

    def __init__(self, rate: float, *, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        check_rate(rate, burst)
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._due = clock()
        self._lock = threading.Lock()

    def reserve(self, max_wait: float | None = None) -> float | None:
        with self._lock:
            now = self._clock()
            due = max(self._due, now)
            wait = max(0.0, due - self._tolerance - now)
            if max_wait is not None and wait > max_wait:
                return None
            self._due = due + self._interval
            return wait


class LocalThrottles:
    """Each account's RateLimiter in this process."""

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
ACCOUNT_LIMITERS: Final = LocalThrottles()
