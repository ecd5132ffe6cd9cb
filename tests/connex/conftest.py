"""A scriptable fake Connex behind httpx.MockTransport, and clients wired to it.

Every test gets its own base URL, so the process-wide pieces the client shares
per account (default token store, login single-flight, fallback memory, rate
limit buckets) never leak between tests.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from connexportal.connex import ConnexClient, InMemoryTokenStore, routes

PASSWORD = "Pa55-word-Zq8!secret"
USERNAME = "merchant@example.com"

Responder = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


@dataclass
class FakeConnex:
    """Login issues tokens tok-<n>-<salt>; other paths answer from their script, or 200 ``{}``.

    A path's script is a queue of responses (or callables, or exceptions to raise);
    the last one repeats. Requests without the currently valid bearer get 401.
    """

    base_url: str = field(default_factory=lambda: f"https://connex-{uuid.uuid4().hex[:10]}.test")
    requests: list[httpx.Request] = field(default_factory=list)
    scripts: dict[str, deque[Responder]] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    issued_tokens: list[str] = field(default_factory=list)
    login_response: Callable[[str], httpx.Response] | None = None
    check_auth: bool = True
    _counter: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str, *responses: Responder) -> FakeConnex:
        self.scripts[path.lower()] = deque(responses)
        return self

    def calls(self, path: str) -> list[httpx.Request]:
        return [request for request in self.requests if _path(request) == path.lower()]

    def logins(self) -> int:
        return len(self.calls(routes.LOGIN.path)) + len(self.calls(routes.LOGIN_FALLBACK.path))

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def issue_token(self) -> str:
        with self._lock:
            token = f"tok-{next(self._counter)}-{uuid.uuid4().hex}"
            self.issued_tokens.append(token)
            self.valid_tokens = {token}
        return token

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        path = _path(request)
        if path in (routes.LOGIN.path.lower(), routes.LOGIN_FALLBACK.path.lower()) and path not in self.scripts:
            token = self.issue_token()
            if self.login_response is not None:
                return self.login_response(token)
            return httpx.Response(200, json={"token": token, "expiration": "2099-01-01T00:00:00.0000000Z"})
        if path not in (routes.LOGIN.path.lower(), routes.LOGIN_FALLBACK.path.lower()) and self.check_auth:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if presented not in self.valid_tokens:
                return httpx.Response(401)
        with self._lock:
            script = self.scripts.get(path)
            responder: Responder = httpx.Response(200, json={})
            if script:
                responder = script.popleft() if len(script) > 1 else script[0]
        if isinstance(responder, Exception):
            raise responder
        if callable(responder):
            return responder(request)
        # A fresh copy each time: a script's last response may be served many times.
        return httpx.Response(responder.status_code, headers=responder.headers, content=responder.content)

    def client(self, *, password: str = PASSWORD, **options) -> ConnexClient:
        options.setdefault("token_store", InMemoryTokenStore())
        options.setdefault("rate_limit", None)
        if "sleep" not in options and "clock" not in options:
            fake_time = FakeTime()
            options.update(sleep=fake_time.sleep, clock=fake_time.clock)
        return ConnexClient(self.base_url, USERNAME, password, transport=httpx.MockTransport(self), **options)


@dataclass
class FakeTime:
    """A monotonic clock that only sleeping moves, so waits of seconds take none."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def _path(request: httpx.Request) -> str:
    return request.url.path.lstrip("/").lower()


def body_of(request: httpx.Request):
    return json.loads(request.content)


@pytest.fixture
def fake() -> FakeConnex:
    return FakeConnex()


@pytest.fixture
def sleeps() -> list[float]:
    return []
