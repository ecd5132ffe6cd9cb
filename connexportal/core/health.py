"""Readiness checks behind /healthz: each returns None when healthy, else a reason."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import DatabaseError, connections


def check_database() -> str | None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def check_cache() -> str | None:
    probe_key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(probe_key, "1", timeout=5)
        found = cache.get(probe_key)
        cache.delete(probe_key)
    except Exception as exc:  # noqa: BLE001 - any backend failure means "cache down"
        return f"{type(exc).__name__}: {exc}".strip()
    if found != "1":
        return "cache did not return the value just written"
    return None


CHECKS = {"database": check_database, "cache": check_cache}
