"""The process's one pooled httpx.Client, shared by every Connex account.

Requests carry absolute URLs and per-request timeouts, so a single pool (with
keep-alive) serves production, staging and the sandbox for every merchant.
"""

from __future__ import annotations

import os
import threading
from http.cookiejar import CookieJar, DefaultCookiePolicy
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import httpx

DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
POOL_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


def _user_agent() -> str:
    try:
        portal = version("connexportal")
    except PackageNotFoundError:
        portal = "dev"
    return f"connexportal/{portal} httpx/{httpx.__version__}"


_HEADERS: Final = {"User-Agent": _user_agent(), "Accept": "application/json, text/plain;q=0.9, */*;q=0.1"}

_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: the one client serves every account, so a cookie Connex (or a
    load balancer in front of it) set for one account's call would go out with the next
    account's. Connex authenticates with the bearer token alone."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def new_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    # Redirects are not followed: a redirect from an API means a misrouted base URL or an
    # auth wall, and following it would resend the bearer token somewhere else.
    return httpx.Client(
        transport=transport,
        cookies=_no_cookies(),
        limits=POOL_LIMITS,
        timeout=DEFAULT_TIMEOUT,
        headers=_HEADERS,
        follow_redirects=False,
    )


def shared_client() -> httpx.Client:
    global _shared
    client = _shared
    if client is None or client.is_closed:
        with _shared_lock:
            if _shared is None or _shared.is_closed:
                _shared = new_client()
            client = _shared
    return client


def close_shared_client() -> None:
    global _shared
    with _shared_lock:
        client, _shared = _shared, None
    if client is not None:
        client.close()


def _forget_after_fork() -> None:
    # A forked worker must not reuse sockets (or a lock) that belong to its parent.
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
