"""Fault injection: make the sandbox misbehave the ways a real Connex host can, on purpose.

Syntax, shared by the ``CONNEX_SANDBOX_FAULTS`` variable and ``configure()``: comma-
separated ``key=value`` items; in the variable, ``;`` separates several profiles.

    CONNEX_SANDBOX_FAULTS="503=0.2,429=0.1,html=0.05,malformed=0.05,expire=0.1,hang=0.01"
    CONNEX_SANDBOX_FAULTS="503=1,next=3,path=products/list;429=0.5,account=other@connex.test"
    CONNEX_SANDBOX_FAULTS="commit_late=1,next=1,late_seconds=3,answer=html"
    CONNEX_SANDBOX_LATENCY_MS=200          (or 100-300: every request, uniformly in that range)

Fault kinds; the value is the share of matching requests (0..1) that get it, and the
shares of one profile add up to at most 1 (one request gets at most one fault):

    500, 502, 503  ProblemDetails with that status
    429            ProblemDetails 429 with ``Retry-After: <retry_after>``
    html           503 with an IIS/Azure-style HTML error page (text/html)
    malformed      200 ``application/json`` whose body is truncated, invalid JSON
    expire         the caller's valid bearer token expires now: 401, and 401 for every
                   later use of that token (the client must log in again)
    hang           sleeps ``hang_seconds`` (longer than a client should wait), then 504
    commit_fail    createorders only: the batch is processed and stored, then the answer is
                   a failure (``answer``), as when Connex commits and its answer is lost
    commit_late    createorders only: the answer is a failure at once, and the stored batch
                   shows in lists and duplicate checks only ``late_seconds`` later, as when
                   Connex commits seconds after the client gave up waiting

Options:

    latency_ms=N | N-M   delay every matching request by N ms (or uniformly N..M ms)
    retry_after=S        Retry-After seconds of a 429 (default 1)
    hang_seconds=S       how long a hang lasts (default 30)
    committed=F          commit kinds: the share of the batch stored, its first orders (default 1;
                         e.g. ``committed=0.5,answer=400``: half stored, then refused)
    answer=A             commit kinds: the failure answered: 500, 502, 503, 504, html (IIS 503
                         page), empty (200, no body), unknown (200 ``{"isSuccess":false,...}``),
                         400 (ProblemDetails), hang (``hang_seconds``, then 504); default 500
    late_seconds=S       commit_late: how long the stored batch stays invisible (default 10)
    path=a|b             only requests whose route path contains ``a`` or ``b`` (any case)
    next=N               only the next N matching requests; then the profile is spent
    seed=N               another, equally deterministic, sequence (default 0)
    account=USERNAME     (the variable only) only this account's requests

Which requests: every route of routes.py, login included (a client must survive a 503
at login too); narrow with ``path=``. ``expire`` never touches login or a request without
a valid token, since there is no token to expire. Unknown paths (404) are never faulted.
A faulted request is not processed: nothing it asked for is written; except under a commit
kind, whose profile only ever matches createorders (so ``next=N`` counts batches), and whose
batch is processed as usual (a batch the sandbox refuses gets its refusal, not the fault).

Determinism: request n of a profile draws the number hash(seed, n) in [0, 1) and gets
the first kind whose cumulative share exceeds it, so a profile always faults the same
requests in the same order; rate 1 means every request, ``next=N`` exactly N of them.

Who is affected: one profile per request, the most specific that matches and is not
spent: the account's profile set by ``configure(account=...)``, the global one set by
``configure()``, the variable's ``account=`` profile, then the variable's global one.
So ``configure("", account=...)`` exempts one account from a global profile.
``CONNEX_SANDBOX_LATENCY_MS`` is a baseline added to every sandbox request regardless.

Profiles set with ``configure()`` live in the database, so a test can fault a sandbox
that another process serves. The variable's counters are per process.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpResponse

from connexportal.connex import routes
from connexportal.sandbox import conf
from connexportal.sandbox.auth import expire_now, normalize_username
from connexportal.sandbox.models import AccessToken, FaultProfile
from connexportal.sandbox.problems import Problem, unauthorized

KINDS = ("500", "502", "503", "429", "html", "malformed", "expire", "hang", "commit_fail", "commit_late")
# Kinds that let createorders store its batch and then answer a failure; only createorders gets them.
COMMIT_KINDS = frozenset({"commit_fail", "commit_late"})
COMMIT_ANSWERS = ("500", "502", "503", "504", "html", "empty", "unknown", "400", "hang")
OPTIONS = (
    "latency_ms",
    "retry_after",
    "hang_seconds",
    "committed",
    "answer",
    "late_seconds",
    "path",
    "next",
    "seed",
    "account",
)
FAULT_HEADER = "X-Sandbox-Fault"


class FaultSpecError(ValueError):
    """A fault specification that cannot be parsed; the message says which item and why."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    rates: tuple[tuple[str, float], ...] = ()
    latency_ms: tuple[int, int] = (0, 0)
    retry_after: int = 1
    hang_seconds: float = 30.0
    committed: float = 1.0
    answer: str = "500"
    late_seconds: float = 10.0
    paths: tuple[str, ...] = ()
    next: int | None = None
    seed: int = 0
    account: str = ""
    text: str = field(default="", compare=False)

    def matches(self, route_path: str) -> bool:
        path = route_path.lower()
        if any(kind in COMMIT_KINDS for kind, _ in self.rates) and path != routes.CREATE_ORDERS.path.lower():
            return False
        return not self.paths or any(fragment in path for fragment in self.paths)

    def decide(self, index: int) -> tuple[float, str | None]:
        """(seconds of latency, fault kind or None) for the profile's request number ``index``."""
        low, high = self.latency_ms
        latency = (low + (high - low) * _uniform(self.seed, index, "latency")) / 1000
        draw = _uniform(self.seed, index, "kind")
        cumulative = 0.0
        for kind, rate in self.rates:
            cumulative += rate
            if draw < cumulative:
                return latency, kind
        return latency, None


def _uniform(seed: int, index: int, salt: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{index}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _number(key: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise FaultSpecError(f"{key}={text}: not a number") from None
    if value < 0 or value != value or value == float("inf"):
        raise FaultSpecError(f"{key}={text}: must be 0 or more")
    return value


@functools.lru_cache(maxsize=256)
def parse_spec(text: str, *, allow_account: bool = False) -> FaultSpec:
    """One profile from ``key=value,...``. Raises FaultSpecError naming the bad item."""
    spec = FaultSpec(text=text.strip())
    rates: dict[str, float] = {}
    seen: set[str] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        key = key.lower()
        if not sep or not value:
            raise FaultSpecError(f"{item!r}: expected key=value")
        if key in seen:
            raise FaultSpecError(f"{key}: given twice")
        seen.add(key)
        if key in KINDS:
            rate = _number(key, value, float)
            if rate > 1:
                raise FaultSpecError(f"{key}={value}: a rate is a share of requests, between 0 and 1")
            rates[key] = rate
        elif key == "latency_ms":
            low_text, _, high_text = value.partition("-")
            low = int(_number(key, low_text.strip(), int))
            high = int(_number(key, high_text.strip(), int)) if high_text else low
            if high < low:
                raise FaultSpecError(f"latency_ms={value}: the range must go from low to high")
            spec = replace(spec, latency_ms=(low, high))
        elif key == "retry_after":
            spec = replace(spec, retry_after=int(_number(key, value, int)))
        elif key == "hang_seconds":
            spec = replace(spec, hang_seconds=_number(key, value, float))
        elif key == "committed":
            share = _number(key, value, float)
            if share > 1:
                raise FaultSpecError(f"committed={value}: the share of the batch stored, between 0 and 1")
            spec = replace(spec, committed=share)
        elif key == "answer":
            if value.lower() not in COMMIT_ANSWERS:
                raise FaultSpecError(f"answer={value}: use one of {', '.join(COMMIT_ANSWERS)}")
            spec = replace(spec, answer=value.lower())
        elif key == "late_seconds":
            spec = replace(spec, late_seconds=_number(key, value, float))
        elif key == "path":
            spec = replace(spec, paths=tuple(p.strip().strip("/").lower() for p in value.split("|") if p.strip()))
        elif key == "next":
            count = int(_number(key, value, int))
            if count < 1:
                raise FaultSpecError(f"next={value}: must be 1 or more")
            spec = replace(spec, next=count)
        elif key == "seed":
            spec = replace(spec, seed=int(_number(key, value, int)))
        elif key == "account" and allow_account:
            spec = replace(spec, account=normalize_username(value))
        else:
            allowed = ", ".join(KINDS + (OPTIONS if allow_account else OPTIONS[:-1]))
            raise FaultSpecError(f"{key}: unknown; use one of {allowed}")
    if sum(rates.values()) > 1 + 1e-9:
        raise FaultSpecError("the rates add up to more than 1; one request can get only one fault")
    return replace(spec, rates=tuple(rates.items()))


@functools.lru_cache(maxsize=32)
def parse_environment(faults_text: str, latency_text: str) -> tuple[tuple[FaultSpec, ...], tuple[int, int]]:
    """(profiles of CONNEX_SANDBOX_FAULTS, baseline latency range of CONNEX_SANDBOX_LATENCY_MS)."""
    profiles = []
    for part in faults_text.split(";"):
        if part.strip():
            try:
                profiles.append(parse_spec(part, allow_account=True))
            except FaultSpecError as exc:
                raise ImproperlyConfigured(f"{conf.FAULTS}: {exc}") from None
    if len([p for p in profiles if not p.account]) > 1:
        raise ImproperlyConfigured(f"{conf.FAULTS}: more than one profile without account=")
    accounts = [p.account for p in profiles if p.account]
    if len(accounts) != len(set(accounts)):
        raise ImproperlyConfigured(f"{conf.FAULTS}: more than one profile for the same account")
    latency = (0, 0)
    if latency_text:
        try:
            latency = parse_spec(f"latency_ms={latency_text}").latency_ms
        except FaultSpecError as exc:
            raise ImproperlyConfigured(f"{conf.LATENCY_MS}: {str(exc).removeprefix('latency_ms=')}") from None
    return tuple(profiles), latency


# --- the Python API ---------------------------------------------------------------------


def configure(spec: str, *, account: str = "") -> FaultSpec:
    """Fault ``account``'s requests (every account's when empty) as ``spec`` says, replacing what was set.

    ``faults.configure("503=1,next=2", account="qbotest@intuit.com")`` fails exactly the next two requests.
    """
    parsed = parse_spec(spec)
    FaultProfile.objects.update_or_create(
        username=normalize_username(account),
        defaults={"spec": parsed.text, "draws": 0, "remaining": parsed.next},
    )
    return parsed


def clear(*, account: str | None = None) -> None:
    """Remove the profile of ``account`` (of every scope when None) and restart the variable's counters."""
    profiles = FaultProfile.objects.all()
    if account is not None:
        profiles = profiles.filter(username=normalize_username(account))
    profiles.delete()
    if account is None:
        with _env_lock:
            _env_state.clear()


@contextmanager
def injected(spec: str, *, account: str = "") -> Iterator[FaultSpec]:
    """``configure`` for the duration of a ``with`` block; the previous profile comes back afterwards."""
    username = normalize_username(account)
    previous = FaultProfile.objects.filter(username=username).first()
    try:
        yield configure(spec, account=username)
    finally:
        FaultProfile.objects.filter(username=username).delete()
        if previous is not None:
            previous.save(force_insert=True)


# --- deciding and answering -------------------------------------------------------------

_env_lock = threading.Lock()
_env_state: dict[tuple[str, str], list[int | None]] = {}


def _take_database_profile(profile: FaultProfile, route_path: str) -> tuple[FaultSpec, int] | None:
    spec = parse_spec(profile.spec)
    if not spec.matches(route_path) or profile.remaining == 0:
        return None
    with transaction.atomic():
        locked = FaultProfile.objects.select_for_update().filter(pk=profile.pk).first()
        if locked is None or locked.remaining == 0:
            return None
        index = locked.draws
        locked.draws += 1
        if locked.remaining is not None:
            locked.remaining -= 1
        locked.save(update_fields=["draws", "remaining"])
    return spec, index


def _take_environment_profile(spec: FaultSpec, route_path: str) -> tuple[FaultSpec, int] | None:
    if not spec.matches(route_path):
        return None
    with _env_lock:
        state = _env_state.setdefault((spec.account, spec.text), [0, spec.next])
        draws, remaining = state
        if remaining == 0:
            return None
        state[0] = draws + 1
        if remaining is not None:
            state[1] = remaining - 1
    return spec, draws


def choose(*, route_path: str, username: str | None) -> tuple[FaultSpec, int] | None:
    """The profile that applies to this request and the request's number in it; consumes one draw."""
    scopes = ["", normalize_username(username)] if username else [""]
    stored = {profile.username: profile for profile in FaultProfile.objects.filter(username__in=scopes)}
    for scope in reversed(scopes):
        if scope in stored and (taken := _take_database_profile(stored[scope], route_path)):
            return taken
    profiles, _ = parse_environment(*conf.fault_texts())
    for scope in reversed(scopes):
        for spec in profiles:
            if spec.account == scope and (taken := _take_environment_profile(spec, route_path)):
                return taken
    return None


@dataclass(frozen=True, slots=True)
class CommitFault:
    """A createorders request to process, then answer with a failure (kinds ``commit_fail``, ``commit_late``)."""

    kind: str
    spec: FaultSpec

    def stored_count(self, orders: int) -> int:
        """How many of the batch's first orders are stored (``committed``, rounded up)."""
        return math.ceil(orders * self.spec.committed)

    def visible_after(self, now: datetime) -> datetime | None:
        """When lists and duplicate checks first see the stored orders (``commit_late``), or None: at once."""
        return now + timedelta(seconds=self.spec.late_seconds) if self.kind == "commit_late" else None

    def response(self) -> HttpResponse:
        answer = self.spec.answer
        what = f"fault injection {self.kind}: the batch was stored"
        if answer == "html":
            response = HttpResponse(IIS_503_PAGE, status=503, content_type="text/html")
        elif answer == "empty":
            response = HttpResponse(b"", status=200, content_type="text/plain; charset=utf-8")
        elif answer == "unknown":
            body = '{"isSuccess":false,"message":"An error occurred while saving the entity changes."}'
            response = HttpResponse(body, status=200, content_type="application/json; charset=utf-8")
        elif answer == "hang":
            time.sleep(self.spec.hang_seconds)
            response = Problem(504, f"The request timed out ({what}, then the sandbox hung).").response()
        else:
            response = Problem(int(answer), f"The request failed ({what}, then it answered {answer}).").response()
        response[FAULT_HEADER] = self.kind
        return response


def intercept(
    *, route_path: str, username: str | None, token: AccessToken | None, now: datetime
) -> HttpResponse | CommitFault | None:
    """Sleep and/or answer for the request as the faults in force say; None lets it through.

    A CommitFault lets it through too; the dispatcher then replaces the handler's success by its answer.
    """
    _, (low_ms, high_ms) = parse_environment(*conf.fault_texts())
    delay = random.uniform(low_ms, high_ms) / 1000 if high_ms else 0.0
    taken = choose(route_path=route_path, username=username)
    spec, kind = None, None
    if taken is not None:
        spec, index = taken
        extra, kind = spec.decide(index)
        delay += extra
    if delay:
        time.sleep(delay)
    if spec is None or kind is None:
        return None
    if kind in COMMIT_KINDS:
        return CommitFault(kind, spec)
    response = _answer(kind, spec, token=token, now=now)
    if response is not None:
        response[FAULT_HEADER] = kind
    return response


def _answer(kind: str, spec: FaultSpec, *, token: AccessToken | None, now: datetime) -> HttpResponse | None:
    if kind in ("500", "502", "503"):
        status = int(kind)
        return Problem(status, f"The Connex sandbox injected a {status} answer (fault injection).").response()
    if kind == "429":
        detail = f"Too many requests; Connex allows {routes.REQUESTS_PER_SECOND:g} per second. Retry later."
        return Problem(429, detail, headers={"Retry-After": str(spec.retry_after)}).response()
    if kind == "html":
        return HttpResponse(IIS_503_PAGE, status=503, content_type="text/html")
    if kind == "malformed":
        return HttpResponse(MALFORMED_BODY, status=200, content_type="application/json; charset=utf-8")
    if kind == "hang":
        time.sleep(spec.hang_seconds)
        return Problem(504, "The request timed out (fault injection: the sandbox hung).").response()
    if kind == "expire":
        if token is None or token.expires_at <= now:
            return None
        expire_now(token, now=now)
        return unauthorized("The access token has expired.", error_description="The token expired").response()
    raise AssertionError(f"unknown fault kind {kind}")


# What a front end in trouble shows instead of the API's JSON.
IIS_503_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>Service Unavailable</title>
<style type="text/css">body{margin:0;font-size:.7em;font-family:Verdana,Arial,Helvetica,sans-serif;}</style>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <h2>HTTP Error 503. The service is unavailable.</h2>
 <p>The web app you have attempted to reach is currently stopped or restarting. Please try again later.</p>
</div>
</body>
</html>
"""

# A 2xx whose body was cut off mid-value: it starts like a products list and is not JSON.
MALFORMED_BODY = '{"lstProducts":[{"name":"TEST_INV_PRODUCT","description":"","timeUntilRestock":0,"sku":"INVENTO'
