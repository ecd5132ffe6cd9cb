"""Bearer tokens: the value object, where they are kept, and one login at a time per account.

The portal plugs its Django-cache store in through ``TokenStore``; the client
never imports Django. Keys come from ``account_key(...)``: an HMAC of the base
URL, the username *and* the password under a server secret. A token grants
access to an account, so only the exact credentials that obtained it may find
it again: the same username with another password is another key, and a
changed password leaves the old token unreachable. The key fits any cache
backend and says nothing about the account; without the secret it cannot be
computed from a guessed username.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, runtime_checkable

# A token this close to its expiry is renewed before use rather than sent to fail.
EXPIRY_MARGIN: Final = timedelta(seconds=60)
# A lifetime longer than this is not believed (.NET's DateTime.MaxValue, expires_in=1e300): it is unknown.
MAX_TOKEN_LIFETIME: Final = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Token:
    value: str = field(repr=False)
    expires_at: datetime | None = None

    def __str__(self) -> str:
        return repr(self)

    def is_usable(self, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return True
        # Arithmetic on ``now``, never on expires_at: that may be datetime.min or .max.
        return (now or datetime.now(UTC)) + EXPIRY_MARGIN < self.expires_at

    def ttl_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds a cache should keep the token, or None when its lifetime is unknown."""
        if self.expires_at is None:
            return None
        left = (self.expires_at - (now or datetime.now(UTC))).total_seconds()
        return max(0.0, left - EXPIRY_MARGIN.total_seconds())


def believable_expiry(now: datetime, *, expires_at: datetime | None, expires_in: float | None) -> datetime | None:
    """When a token Connex just issued expires, or None when the answer does not say so believably.

    Connex is ASP.NET: an unset expiry arrives as ``0001-01-01T00:00:00`` (DateTime.MinValue),
    an unbounded one as DateTime.MaxValue. An expiry already past, or further away than
    MAX_TOKEN_LIFETIME, is unknown: the token is used until Connex answers 401.
    """
    if expires_at is None and expires_in is not None:
        if not 0 < expires_in <= MAX_TOKEN_LIFETIME.total_seconds():
            return None
        expires_at = now + timedelta(seconds=expires_in)
    if expires_at is None or not now < expires_at <= now + MAX_TOKEN_LIFETIME:
        return None
    return expires_at


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between calls; shared by every client of the same account."""

    def get(self, key: str) -> Token | None: ...

    def set(self, key: str, token: Token) -> None: ...

    def delete(self, key: str) -> None: ...


class InMemoryTokenStore:
    """A thread-safe, process-local TokenStore."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Token | None:
        with self._lock:
            return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


# Clients built per request still share one login per account in this process.
DEFAULT_TOKEN_STORE: Final = InMemoryTokenStore()


# A client built without a secret still binds keys to its credentials, within this process only.
PROCESS_KEY_SECRET: Final = secrets.token_bytes(32)


def account_key(base_url: str, username: str, password: str, *, secret: bytes = PROCESS_KEY_SECRET) -> str:
    """The key of everything that grants access to one Connex login: its token, login lock and rate bucket.

    The identity part (base URL and username) lets logs correlate calls of one account; the credential
    part is an HMAC under ``secret``, so a key is only ever reached with the exact password behind it.
    """
    identity = hashlib.sha256(f"{base_url}\n{username}".encode()).hexdigest()[:16]
    credential = hmac.new(secret, "\n".join((base_url, username, password)).encode(), hashlib.sha256).hexdigest()
    return f"connex:account:v2:{identity}:{credential[:40]}"


@runtime_checkable
class LoginLocks(Protocol):
    """One login at a time per account key; the waiters then read the token store again."""

    def hold(self, key: str) -> AbstractContextManager[None]: ...


class SingleFlight:
    """One lock per key, so only one thread per account logs in while the others wait.

    The waiters then read the store again and reuse the token the winner stored.
    Locks are process-local: with a shared cache, each process logs in at most once
    (``shared.RedisLoginLocks`` makes it once across processes).
    """

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


LOGIN_FLIGHTS: Final = SingleFlight()
