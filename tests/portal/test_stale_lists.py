"""Products and orders when Connex is busy or down: the last known page of the same query (same
filters, sort, page and size, same merchant and Connex credentials), marked stale with the time it
was fetched; nothing known for that query, a refused login or a refused request: no stale data."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
import time_machine
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, rows_of, sandbox_connections

pytestmark = pytest.mark.django_db

# Each list page with a query that is not its default one, and the action its error names.
LIST_PAGES = [
    pytest.param(
        "/products/",
        {"q": "a", "sort": "sku", "dir": "desc", "page": "2", "size": "10"},
        "load your products",
        id="products",
    ),
    pytest.param(
        "/orders/",
        {"start": "2000-01-01", "end": "2099-12-31", "sort": "totalProductSales", "dir": "asc", "page": "2"},
        "load your orders",
        id="orders",
    ),
]
STALE_NOTE = "last told us. It may be out of date. Last updated:"
CACHE_READS = frozenset({"get", "get_many", "has_key"})
CACHE_CALLS = (*CACHE_READS, "set", "set_many", "add", "get_or_set", "delete", "delete_many", "touch", "incr", "decr")


def fresh_rows(client, path: str, query: dict) -> str:
    response = client.get(path, query)
    assert response.status_code == 200
    rows = rows_of(response.content.decode())
    assert rows.count("<tr>") >= 2, "the query must show rows for the test to mean anything"
    return rows


def assert_nothing_stale(html: str) -> None:
    assert "last told us" not in html
    assert rows_of(html) == ""


@pytest.fixture
def cache_calls(monkeypatch) -> list[tuple[str, tuple[str, ...], object]]:
    """Every cache call from here on, as (method, keys, value written); calls a backend makes of
    itself (LocMemCache.get_many calling get) are not counted twice."""
    backend = caches["default"]
    calls: list[tuple[str, tuple[str, ...], object]] = []
    inside = []
    for method in CACHE_CALLS:
        original = getattr(backend, method)

        def record(keys, *args, _method=method, _original=original, **kwargs):
            if not inside:
                named = tuple(keys) if isinstance(keys, dict | list | tuple | set) else (keys,)
                value = args[0] if args and _method in {"set", "add", "get_or_set"} else None
                calls.append((_method, named, value))
            inside.append(_method)
            try:
                return _original(keys, *args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(backend, method, record)
    return calls


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
@pytest.mark.parametrize("fault", ["503=1", "429=1,retry_after=0", "html=1"])
def test_connex_busy_or_down_shows_the_last_known_page_of_the_same_query(
    merchant_client, sandbox, path, query, action, fault
):
    fetched = timezone.now().replace(microsecond=0)
    with time_machine.travel(fetched, tick=False):
        rows = fresh_rows(merchant_client, path, query)

    with (
        time_machine.travel(fetched + dt.timedelta(minutes=15), tick=False),
        faults.injected(fault, account=DEMO_ACCOUNT),
    ):
        response = merchant_client.get(path, query)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"so we could not {action}" in html
    assert f"Showing what Connex {STALE_NOTE}" in html
    stamp = f"{fetched.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z"
    assert re.search(rf'Last updated: <time datetime="{stamp}" title="[^"]+" data-relative>15 minutes ago</time>', html)
    assert ">Try again</a>" in html
    assert 'class="table-wrap stale"' in html
    assert rows_of(html) == rows


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
@pytest.mark.parametrize("change", [{"page": "1"}, {"q": "zz"}, {"sort": "orderDate", "size": "10"}])
def test_another_query_with_nothing_known_gets_the_error(merchant_client, sandbox, path, query, action, change):
    fresh_rows(merchant_client, path, query)

    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.get(path, {**query, **change})

    html = response.content.decode()
    assert response.status_code == 503
    assert f"Connex is not answering right now, so we could not {action}." in html
    assert ">Try again</a>" in html
    assert_nothing_stale(html)


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_the_htmx_results_show_the_last_known_page_too(merchant_client, sandbox, path, query, action):
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
    rows = rows_of(merchant_client.get(path, query, **htmx).content.decode())
    assert rows

    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.get(path, query, **htmx)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="results"')
    assert f"so we could not {action}" in html and STALE_NOTE in html
    assert rows_of(html) == rows


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_another_merchant_never_sees_the_page_cached_for_the_first(
    merchant_client, other_client, sandbox, path, query, action
):
    fresh_rows(merchant_client, path, query)

    with faults.injected("503=1"):
        response = other_client.get(path, query)

    assert response.status_code == 503
    assert f"so we could not {action}" in response.content.decode()
    assert_nothing_stale(response.content.decode())


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_new_connex_credentials_never_see_the_page_cached_under_the_old_ones(
    merchant_client, sandbox, path, query, action
):
    from connexportal.accounts.models import ConnexAccount

    fresh_rows(merchant_client, path, query)
    account = ConnexAccount.objects.get(username=DEMO_ACCOUNT)
    account.username = OTHER_ACCOUNT
    account.set_password("connex-other")
    account.save()

    with faults.injected("503=1"):
        response = merchant_client.get(path, query)

    assert response.status_code == 503
    assert f"so we could not {action}" in response.content.decode()
    assert_nothing_stale(response.content.decode())


def _answer_list_calls_with(response: httpx.Response, sandbox) -> httpx.MockTransport:
    """Connex answering ``response`` to every list call (and, for a 401, to its logins too)."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.lower()
        if path.endswith("/list") or (response.status_code == 401 and "login" in path):
            return response
        return sandbox.handle_request(request)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_a_refused_login_shows_the_connect_form_not_stale_data(merchant_client, sandbox, path, query, action):
    from connexportal.portal import upstream

    fresh_rows(merchant_client, path, query)
    refused = httpx.Response(401, json={"title": "Unauthorized", "status": 401})

    with upstream.transport_override(_answer_list_calls_with(refused, sandbox)):
        response = merchant_client.get(path, query)

    html = response.content.decode()
    assert "Needs attention: reconnect." in html and 'action="/connect/"' in html
    assert_nothing_stale(html)


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_refused_request_other_than_429_shows_no_stale_data(merchant_client, sandbox, path, query, action, status):
    from connexportal.portal import upstream

    fresh_rows(merchant_client, path, query)
    refused = httpx.Response(
        status,
        json={"title": "Refused", "status": status, "detail": "This query is not allowed."},
        headers={"content-type": "application/problem+json"},
    )

    with upstream.transport_override(_answer_list_calls_with(refused, sandbox)):
        response = merchant_client.get(path, query)

    html = response.content.decode()
    assert f"Connex refused to {action}" in html
    assert_nothing_stale(html)


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_a_fresh_page_writes_its_last_known_copy_once_and_reads_none(
    merchant_client, sandbox, cache_calls, path, query, action
):
    name = path.strip("/")
    merchant_client.get(path, {**query, "page": "1"})
    cache_calls.clear()

    response = merchant_client.get(path, query)

    assert response.status_code == 200
    writes = [(method, keys) for method, keys, _value in cache_calls if method not in CACHE_READS]
    assert len(writes) == 1, f"a fresh page may write its last known copy and nothing else: {writes}"
    method, keys = writes[0]
    assert method == "set"
    assert re.fullmatch(rf"portal:m\d+:[0-9a-f]{{40}}:{name}:[0-9a-f]{{64}}", keys[0])
    read = [keys for method, keys, _value in cache_calls if method in CACHE_READS]
    assert not [key for keys in read for key in keys if f":{name}:" in key]

    stored = cache_calls[[method for method, _keys, _value in cache_calls].index("set")][2]
    assert set(stored) == {"page", "fetched_at", "unknown_count"}
    # One closing </details></td> per row: the name (products) or number (orders) opening onto its details.
    assert len(stored["page"].rows) == rows_of(response.content.decode()).count("</details></td>")


@pytest.mark.parametrize(("path", "query", "action"), LIST_PAGES)
def test_a_page_viewed_again_is_stored_again_only_after_a_minute(
    merchant_client, sandbox, cache_calls, path, query, action, monkeypatch
):
    from connexportal.portal import services

    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])

    def list_writes() -> int:
        return sum(1 for method, keys, _value in cache_calls if method == "set" and f":{path.strip('/')}:" in keys[0])

    merchant_client.get(path, query)
    clock[0] += 59
    merchant_client.get(path, query)
    assert list_writes() == 1
    clock[0] += 1
    merchant_client.get(path, query)
    assert list_writes() == 2
    merchant_client.get(path, {**query, "page": "1"})  # another query: stored on its first view
    assert list_writes() == 3


def test_the_connections_list_is_stored_once_a_minute_and_again_right_after_a_write(
    merchant_client, sandbox, cache_calls, monkeypatch
):
    from connexportal.portal import services

    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])

    def written(entry: str) -> int:
        return sum(
            1
            for method, keys, _value in cache_calls
            for key in keys
            if method in {"set", "set_many"} and key.endswith(f":{entry}")
        )

    merchant_client.get("/connections/")
    clock[0] += 59
    merchant_client.get("/connections/")
    # Unchanged, the names and the whole list are stored once a minute.
    assert (written("connection-names"), written("connections")) == (1, 1)
    clock[0] += 1
    merchant_client.get("/connections/")
    assert (written("connection-names"), written("connections")) == (2, 2)
    # A list that changed (a run moved on, a connection renamed in Connex) is stored at once.
    renamed = sandbox_connections(DEMO_ACCOUNT)[0]
    renamed.name = "Renamed in Connex"
    renamed.save()
    merchant_client.get("/connections/")
    assert (written("connection-names"), written("connections")) == (3, 3)

    # Run now on a connection with an orders task (type 0): Connex accepts it, and the list is out of date.
    syncing = next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.scheduled_tasks.filter(task_type=0).exists())
    started = merchant_client.post(reverse("portal:run-now", args=[syncing.id]))
    assert started.status_code == 302
    cache_calls.clear()
    merchant_client.get("/connections/")
    assert written("connections") == 1, "a write deletes the stored list: the next view stores it again"


def test_names_found_missing_are_stored_again_by_the_list_fetched_for_them(merchant_client, sandbox, cache_calls):
    from django.core.cache import cache

    merchant_client.get("/connections/")
    names_key = next(key for _method, keys, _value in cache_calls for key in keys if key.endswith(":connection-names"))
    cache.delete(names_key)  # expired, or Redis flushed, within the minute

    assert merchant_client.get("/products/").status_code == 200
    assert cache.get(names_key), "the products page's own list call stored the names again"
