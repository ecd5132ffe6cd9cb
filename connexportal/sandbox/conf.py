"""The sandbox's own knobs, read at use so tests and demos can change them on the fly.

A Django setting of the same name wins over the environment variable (tests use
``settings.CONNEX_SANDBOX_TOKEN_TTL = 2``); the project's typed config does not
carry these because they only matter to the emulator.

| name | default | meaning |
|---|---|---|
| CONNEX_SANDBOX_TOKEN_TTL | 3600 | bearer token lifetime, seconds |
| CONNEX_SANDBOX_RUN_QUEUED_SECONDS | 1 | how long a RunNow stays Queued |
| CONNEX_SANDBOX_RUN_RUNNING_SECONDS | 2 | how long a run stays Running |
| CONNEX_SANDBOX_FAULTS | empty | fault profile(s), syntax in faults.py |
| CONNEX_SANDBOX_LATENCY_MS | empty | added latency for every request: ``200`` or ``100-300`` |
| CONNEX_SANDBOX_ACCEPT_DUPLICATES | false | createorders stores order numbers it has (no duplicate check) |
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TOKEN_TTL = "CONNEX_SANDBOX_TOKEN_TTL"
RUN_QUEUED_SECONDS = "CONNEX_SANDBOX_RUN_QUEUED_SECONDS"
RUN_RUNNING_SECONDS = "CONNEX_SANDBOX_RUN_RUNNING_SECONDS"
FAULTS = "CONNEX_SANDBOX_FAULTS"
LATENCY_MS = "CONNEX_SANDBOX_LATENCY_MS"
ACCEPT_DUPLICATES = "CONNEX_SANDBOX_ACCEPT_DUPLICATES"


def raw(name: str) -> str:
    """The setting if Django defines it, else the environment variable, else ""."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "")
    return str(value).strip()


def _seconds(name: str, default: float, *, positive: bool) -> float:
    text = raw(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: must be a number of seconds, got {text!r}") from None
    if value < 0 or (positive and value == 0) or value != value or value == float("inf"):
        bound = "greater than 0" if positive else "0 or more"
        raise ImproperlyConfigured(f"{name}: must be {bound} seconds, got {text!r}")
    return value


def token_ttl() -> timedelta:
    return timedelta(seconds=_seconds(TOKEN_TTL, 3600, positive=True))


def run_durations() -> tuple[timedelta, timedelta]:
    """How long a run stays Queued, then Running."""
    queued = _seconds(RUN_QUEUED_SECONDS, 1, positive=False)
    running = _seconds(RUN_RUNNING_SECONDS, 2, positive=False)
    return timedelta(seconds=queued), timedelta(seconds=running)


def fault_texts() -> tuple[str, str]:
    """The raw CONNEX_SANDBOX_FAULTS and CONNEX_SANDBOX_LATENCY_MS values."""
    return raw(FAULTS), raw(LATENCY_MS)


def accept_duplicates() -> bool:
    """Whether createorders stores order numbers it already has (the spec only says to check first)."""
    text = raw(ACCEPT_DUPLICATES).lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ImproperlyConfigured(f"{ACCEPT_DUPLICATES}: must be true or false, got {text!r}")
