"""A page whose account's Connex rate is taken further ahead than CONNEX_MAX_THROTTLE_WAIT answers
at once, with the last known data marked stale, and sends nothing (on CI's Redis run the
throttle lives in Redis, else in this process)."""

from __future__ import annotations

import time

import pytest

from tests.portal.conftest import DEMO_ACCOUNT, rows_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttled(sandbox, settings, monkeypatch):
    from connexportal.connex.ratelimit import LocalThrottles
    from connexportal.portal import upstream

    # A bucket of this test alone when the throttle is per process (Redis is flushed by `sandbox`).
    monkeypatch.setattr(upstream, "ACCOUNT_LIMITERS", LocalThrottles())
    settings.CONNEX_RATE_LIMIT = 2.0
    settings.CONNEX_MAX_THROTTLE_WAIT = 0.5

    def take_the_next_seconds(seconds: float) -> None:
        from connexportal.accounts.models import ConnexAccount

        account = ConnexAccount.objects.get(username=DEMO_ACCOUNT)
        throttles, _ = upstream.shared_limits()
        throttle = throttles.for_account(upstream.credentials_key(account), 2.0, 2)
        for _ in range(round(seconds * 2) + 2):
            throttle.reserve()

    return take_the_next_seconds


def test_a_throttled_connections_page_shows_the_last_known_list_at_once(merchant_client, sandbox, throttled):
    fresh = merchant_client.get("/connections/")
    assert fresh.status_code == 200
    sandbox.reset()
    throttled(10)

    started = time.monotonic()
    stale = merchant_client.get("/connections/")

    assert time.monotonic() - started < 2
    assert sandbox.calls == []
    assert stale.status_code == 200
    html = stale.content.decode()
    assert "is busy" in html
    assert "last told us" in html
    for connection in sandbox_connection_names():
        assert connection in html


def test_a_throttled_products_page_says_busy_at_once(merchant_client, sandbox, throttled):
    assert merchant_client.get("/connections/").status_code == 200
    sandbox.reset()
    throttled(10)

    started = time.monotonic()
    response = merchant_client.get("/products/")

    assert time.monotonic() - started < 2
    assert sandbox.calls == []
    assert "is busy" in response.content.decode()


@pytest.mark.parametrize(
    ("path", "query", "action"),
    [
        ("/products/?sort=sku&page=2&size=10", "/products/?sort=sku&page=3&size=10", "load your products"),
        ("/orders/?start=2000-01-01&q=a", "/orders/?start=2000-01-01&q=b", "load your orders"),
    ],
)
def test_a_throttled_list_page_shows_the_last_known_page_of_the_same_query_at_once(
    merchant_client, sandbox, throttled, path, query, action
):
    fresh = merchant_client.get(path)
    assert fresh.status_code == 200
    sandbox.reset()
    throttled(10)

    started = time.monotonic()
    stale = merchant_client.get(path)
    other = merchant_client.get(query)

    assert time.monotonic() - started < 3
    assert sandbox.calls == []
    assert stale.status_code == 200
    html = stale.content.decode()
    assert f"is busy and asked us to slow down, so we could not {action}" in html
    assert "Showing what Connex last told us. It may be out of date. Last updated: <time" in html
    assert rows_of(html) and rows_of(html) == rows_of(fresh.content.decode())
    assert other.status_code == 503
    assert "is busy" in other.content.decode() and not rows_of(other.content.decode())


def sandbox_connection_names() -> list[str]:
    from tests.portal.conftest import sandbox_connections

    return [connection.channel_name for connection in sandbox_connections(DEMO_ACCOUNT)]
