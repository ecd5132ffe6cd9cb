"""Fixtures the partner API tests share. Imported before Django is set up when pytest is
pointed at this folder, so project modules are imported inside the fixtures."""

import pytest
from django.core.cache import cache


@pytest.fixture
def fresh_cache():
    # Rate-limit counters and idempotency records live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partner_a():
    from tests.embed.api_helpers import partner_with_key

    return partner_with_key("Partner A")


@pytest.fixture
def partner(partner_a):
    return partner_a[0]


@pytest.fixture
def api(partner_a):
    from tests.embed.api_helpers import Api

    return Api(partner_a[1])
