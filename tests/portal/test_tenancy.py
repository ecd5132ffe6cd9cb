"""Another merchant's connection is a 404 on every URL that takes a connection id."""

import pytest
from django.urls import get_resolver

from connexportal.portal import urls as portal_urls
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db

CONNECTION_ROUTES = [pattern for pattern in portal_urls.urlpatterns if "<int:connection_id>" in str(pattern.pattern)]


def test_every_connection_route_is_covered():
    names = {pattern.name for pattern in CONNECTION_ROUTES}
    assert names == {"connection-settings", "window-preview", "run-now", "run-status", "connection-pair"}
    assert get_resolver()  # the project urlconf loads


@pytest.mark.parametrize("pattern", CONNECTION_ROUTES, ids=lambda pattern: pattern.name)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_other_merchants_connection_is_not_found(other_client, sandbox, pattern, method, htmx):
    from connexportal.sandbox.models import TaskRun

    foreign = sandbox_connections(DEMO_ACCOUNT)
    runs_before = TaskRun.objects.count()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    path = "/" + str(pattern.pattern)
    for connection in foreign:
        url = path.replace("<int:connection_id>", str(connection.id))
        data = {"LastDownloadUtc": "2026-10-01T00:00", "LastDownloadUtcEnd": "2026-10-02T00:00"}
        response = getattr(other_client, method)(url, data, **headers)
        if response.status_code == 405:
            continue
        assert response.status_code == 404, (url, method, response.status_code)
        assert connection.name not in response.content.decode()
    assert TaskRun.objects.count() == runs_before


def test_nonexistent_connection_is_not_found(merchant_client, sandbox):
    assert merchant_client.get("/connections/999999/settings/").status_code == 404
    assert merchant_client.post("/connections/999999/run-now/").status_code == 404


@pytest.mark.parametrize("url", ["/products/", "/orders/"])
def test_filtering_by_another_merchants_connection_is_not_found(other_client, sandbox, url):
    foreign = sandbox_connections(DEMO_ACCOUNT)[0]
    assert other_client.get(url, {"connection": foreign.id}).status_code == 404
