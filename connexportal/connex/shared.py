"""The per-account throttle and login lock shared by every process and machine through Redis.

``RedisThrottles`` is the in-process bucket's algorithm (GCRA: one "next request due at"
timestamp per account) run as one Lua script, on Redis's clock, so any number of gunicorn
workers, task workers and machines together stay within one account's rate. ``RedisLoginLocks``
lets one process log an account in while the others wait and then read the shared token store.

Keys are ``prefix + account_key``: an HMAC of the exact credentials (tokens.account_key), like
the token they guard. When Redis cannot be reached, both fall back to their in-process
counterparts (logged): the portal then throttles and logs in per process, as without Redis,
rather than failing every page.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis, RedisError

from .ratelimit import ACCOUNT_LIMITERS, Throttles, check_rate
from .tokens import LOGIN_FLIGHTS, LoginLocks

log = logging.getLogger("connexportal.connex")

DEFAULT_PREFIX = "connexportal:connex:"
_MICROS = 1_000_000

# KEYS[1]: the account's "next request due" (microseconds on Redis's clock).
# ARGV: interval, tolerance ((burst - 1) * interval), max wait (-1: any), all in microseconds.
# Returns the wait in microseconds, or -1 (nothing taken) when it would exceed the max wait.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local due = now
local stored = redis.call('GET', KEYS[1])
if stored then
  due = math.max(tonumber(stored), now)
end
local wait = math.max(due - tolerance - now, 0)
if max_wait >= 0 and wait > max_wait then
  return -1
end
local next_due = due + interval
redis.call('SET', KEYS[1], string.format('%d', next_due), 'PX', math.ceil((next_due - now) / 1000) + 1000)
return wait
"""

# Deletes the lock only while it still holds this holder's token (it may have expired and moved on).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisThrottle:
    def __init__(self, owner: RedisThrottles, key: str, rate: float, burst: int) -> None:
        check_rate(rate, burst)
        self._owner = owner
        self._key = key
        self.rate = rate
        self.burst = burst
        self._interval = round(_MICROS / rate)
        self._tolerance = (burst - 1) * self._interval

    def reserve(self, max_wait: float | None = None) -> float | None:
        bound = -1 if max_wait is None else max(0, round(max_wait * _MICROS))
        try:
            waited = self._owner.gcra(
                keys=[self._owner.prefix + self._key], args=[self._interval, self._tolerance, bound]
            )
        except RedisError as exc:
            log.warning("connex throttle: Redis failed (%s); throttling in this process only", type(exc).__name__)
            return self._owner.fallback.for_account(self._key, self.rate, self.burst).reserve(max_wait)
        return None if waited < 0 else waited / _MICROS


class RedisThrottles:
    """Each account's throttle, kept in Redis (shared by every process using ``prefix``)."""

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX, fallback: Throttles = ACCOUNT_LIMITERS) -> None:
        self.prefix = prefix + "throttle:"
        self.fallback = fallback
        self.gcra = redis.register_script(_GCRA)

    def for_account(self, key: str, rate: float, burst: int) -> RedisThrottle:
        return RedisThrottle(self, key, rate, burst)


class RedisLoginLocks:
    """One login at a time per account across processes: SET NX PX with a random token, released
    by compare-and-delete. Threads of one process first queue on the local lock, so each process
    has at most one waiter polling Redis per account.

    The lock expires after ``ttl`` seconds (a holder that died frees it); a waiter gives up after
    ``wait`` seconds and logs in anyway, as it does when Redis fails: at worst a second login.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = 30.0,
        wait: float = 30.0,
        poll: float = 0.05,
        local: LoginLocks = LOGIN_FLIGHTS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = prefix + "login:"
        self._ttl_ms = max(1, round(ttl * 1000))
        self._wait = wait
        self._poll = poll
        self._local = local
        self._sleep = sleep
        self._clock = clock
        self._release = redis.register_script(_RELEASE)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._local.hold(key):
            name = self._prefix + key
            holder = secrets.token_hex(16)
            held = self._acquire(name, holder)
            try:
                yield
            finally:
                if held:
                    self._forget(name, holder)

    def _acquire(self, name: str, holder: str) -> bool:
        deadline = self._clock() + self._wait
        try:
            while not self._redis.set(name, holder, nx=True, px=self._ttl_ms):
                if self._clock() >= deadline:
                    log.warning("connex login lock: still held after %.0fs; logging in anyway", self._wait)
                    return False
                self._sleep(self._poll)
        except RedisError as exc:
            log.warning("connex login lock: Redis failed (%s); locking in this process only", type(exc).__name__)
            return False
        return True

    def _forget(self, name: str, holder: str) -> None:
        try:
            self._release(keys=[name], args=[holder])
        except RedisError as exc:
            log.warning("connex login lock: Redis failed on release (%s); it expires by itself", type(exc).__name__)


def redis_client(url: str, **options: Any) -> Redis:
    """A client for the shared throttle and lock: short timeouts, so a Redis outage costs seconds, not a page."""
    return Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30, **options)
