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


WRONG_PASSWORD = "wrong-connex-password"


class ConnexLogins:
    """A Connex that accepts every login but WRONG_PASSWORD, or is down.

    Credentials sent through the API are tried against Connex before they are saved; the
    partner API tests are about the API, so their usernames need no sandbox account.
    """

    def __init__(self) -> None:
        self.down = False
        self.logins: list[str] = []

    def __call__(self, request):
        import json

        import httpx

        if self.down:
            raise httpx.ConnectError("Connex is down", request=request)
        body = json.loads(request.content or b"{}")
        username, password = body.get("username", ""), body.get("password", "")
        self.logins.append(username)
        if password == WRONG_PASSWORD:
            return httpx.Response(400, json={"title": "Invalid username or password."})
        return httpx.Response(200, json={"token": f"token-for-{username}", "expiration": "2099-01-01T00:00:00Z"})


@pytest.fixture(autouse=True)
def connex_logins(settings):
    """Every partner API test gets this Connex; a test that wants the sandbox overrides it."""
    import httpx

    from connexportal.portal import upstream

    settings.CONNEX_RATE_LIMIT = 0
    logins = ConnexLogins()
    with upstream.transport_override(httpx.MockTransport(logins)):
        yield logins
