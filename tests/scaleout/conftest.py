"""Scale-out tests: what several processes share through Redis and PostgreSQL.

Tests that need Redis or PostgreSQL skip without them; CI's second run sets both
(DATABASE_URL=postgres://..., REDIS_URL=redis://...).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL (CI's PostgreSQL + Redis run does)")
needs_postgres_and_redis = pytest.mark.skipif(
    not (ON_POSTGRES and REDIS_URL),
    reason="needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL (CI's second run does)",
)


@pytest.fixture
def redis_keys() -> Iterator[tuple[object, str]]:
    """A Redis client and a key prefix of this test alone; its keys are deleted afterwards."""
    from connexportal.connex.shared import redis_client

    client = redis_client(REDIS_URL)
    prefix = f"test-scaleout-{uuid.uuid4().hex[:12]}:"
    try:
        yield client, prefix
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
