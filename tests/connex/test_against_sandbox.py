"""The real ConnexClient against the real sandbox, in-process (mounted at /sandbox/) and over a real socket.

The core scenario and tenancy run over both transports. The rest runs in-process, where a
test sets faults and reads what the sandbox stored in its own database; except the hang,
which only a real socket can time out on.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from connexportal.connex import (
    Address,
    ConnexAuthError,
    ConnexClient,
    ConnexProtocolError,
    ConnexRejected,
    ConnexUnavailable,
    CreateOrdersResult,
    InMemoryTokenStore,
    NewOrder,
    NewProduct,
    OrderCustomField,
    OrderDetail,
    OrderItemOption,
    OrderQuery,
    OrderType,
    ProductCategories,
    ProductQuery,
    RunLog,
    RunNowResponse,
    SubCategoryRef,
    UserConnection,
    routes,
)
from connexportal.connex.keys import order_key
from connexportal.sandbox.models import Order, Product

from ..conftest import PROJECT_DIR, run_manage
from .conftest import FakeTime

DEMO = ("qbotest@intuit.com", "connex-demo")
OTHER = ("other@connex.test", "connex-other")
DEMO_REPORTING_USER = uuid.UUID("f444a9f4-1fc4-42cd-9361-25c36f4ff418")
DEMO_CONNECTIONS = ["QuickBooks Online", "Amazon US", "Shopify Store", "eBay"]
OTHER_CONNECTIONS = ["WooCommerce Shop", "QuickBooks Online", "Custom Integration"]
# seed_sandbox gives the other account a tenth of each.
SEED_PRODUCTS = 60
SEED_ORDERS = 40
OTHER_PRODUCTS = SEED_PRODUCTS // 10
# Short enough to keep polling cheap, long enough that a poll can see a run queued or running.
RUN_QUEUED_SECONDS = 0.2
RUN_RUNNING_SECONDS = 0.3
FINISHED = ("Completed", "Failed")
RUN_ORDER = ("Queued", "Running", *FINISHED)


# --- the two ways to reach the sandbox ----------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    request: httpx.Request
    response: httpx.Response

    @property
    def fault(self) -> str | None:
        return self.response.headers.get("X-Sandbox-Fault")

    def body(self):
        return json.loads(self.request.content)

    def is_call(self, route: routes.Route) -> bool:
        return self.request.url.path.lower().endswith(f"/{route.path}".lower())


class InProcessTransport(httpx.BaseTransport):
    """Serves each request with Django's test Client, so it reaches the sandbox mounted at /sandbox/.

    Not httpx.WSGITransport into Django's WSGIHandler: a raw handler sends request_finished,
    whose close_old_connections closes the connection that holds pytest-django's per-test
    transaction (in a transaction, autocommit differs from the settings, so Django treats the
    connection as obsolete). The test Client disconnects close_old_connections around each
    request: Django's own supported way to serve a request inside a test transaction, with no
    signal state of ours to restore. It also re-raises a sandbox view's exception, instead of
    a 500 page the client would retry and then report as unavailable.
    """

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # The test Client supplies its own Host (testserver), so any base URL host works here.
        skipped = {"host", "content-length", "content-type"}
        answer = Client().generic(
            request.method,
            request.url.raw_path.decode("ascii"),
            data=request.read(),
            content_type=request.headers.get("Content-Type", ""),
            secure=request.url.scheme == "https",
            headers={name: value for name, value in request.headers.items() if name.lower() not in skipped},
        )
        response = httpx.Response(
            answer.status_code, headers=list(answer.items()), content=answer.content, request=request
        )
        self.exchanges.append(Exchange(request, response))
        return response

    def calls(self, route: routes.Route) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.is_call(route)]


class SharedTime(FakeTime):
    """The client's fake clock, and the in-process sandbox's too: a client's sleep moves both."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        start, real_now = self.now, timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=self.now - start))


@dataclass
class Sandbox:
    base_url: str
    inject: Callable[..., None]
    clear_faults: Callable[[], None]
    transport: InProcessTransport | None = None
    time: SharedTime | None = None

    def client(self, account: tuple[str, str] = DEMO, **options) -> ConnexClient:
        # A token store and a rate limit of its own, and backoffs of milliseconds: tests stay independent and fast.
        options.setdefault("token_store", InMemoryTokenStore())
        options.setdefault("rate_limit", None)
        options.setdefault("backoff_base", 0.001)
        options.setdefault("backoff_cap", 0.01)
        options.setdefault("transport", self.transport)
        if self.time is not None and "sleep" not in options and "clock" not in options:
            options.update(sleep=self.time.sleep, clock=self.time.clock)
        return ConnexClient(self.base_url, *account, **options)


@pytest.fixture
def in_process(db, settings, monkeypatch) -> Sandbox:
    from connexportal.sandbox import faults
    from connexportal.sandbox.seed import seed

    # Every login checks a password; the default hasher would cost half a second each time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = RUN_QUEUED_SECONDS
    settings.CONNEX_SANDBOX_RUN_RUNNING_SECONDS = RUN_RUNNING_SECONDS
    monkeypatch.delenv("CONNEX_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("CONNEX_SANDBOX_LATENCY_MS", raising=False)
    seed(products=SEED_PRODUCTS, orders=SEED_ORDERS, today=timezone.now().date())

    def inject(spec: str, *, account: str = DEMO[0]) -> None:
        faults.configure(spec, account=account)

    # A host of its own per test: what the client remembers per base URL (fallback login) stays in the test.
    return Sandbox(
        base_url=f"http://sandbox-{uuid.uuid4().hex[:12]}.test/sandbox",
        inject=inject,
        clear_faults=faults.clear,
        transport=InProcessTransport(),
        time=SharedTime(monkeypatch),
    )


def _drain(stream, lines: queue.Queue, tail: deque) -> None:
    # The server logs every request; an unread pipe would fill up and stall it.
    for line in stream:
        tail.append(line)
        lines.put(line)


@pytest.fixture(scope="module")
def over_socket(tmp_path_factory) -> Iterator[Sandbox]:
    """``runsandbox`` in a subprocess, on its own temporary SQLite database (never the test database)."""
    folder = tmp_path_factory.mktemp("socket-sandbox")
    env = {
        "DEBUG": "true",
        # Explicit, so a DATABASE_URL or REDIS_URL of the test run (CI's PostgreSQL) never reaches it.
        "DATABASE_URL": f"sqlite:///{folder / 'sandbox.sqlite3'}",
        "CONNEX_SANDBOX_RUN_QUEUED_SECONDS": str(RUN_QUEUED_SECONDS),
        "CONNEX_SANDBOX_RUN_RUNNING_SECONDS": str(RUN_RUNNING_SECONDS),
        "DJANGO_RUNSERVER_HIDE_WARNING": "true",
    }
    for command in (
        ("migrate", "--no-input", "-v", "0"),
        ("seed_sandbox", "--products", str(SEED_PRODUCTS), "--orders", str(SEED_ORDERS)),
    ):
        done = run_manage(*command, env=env)
        assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stdout}\n{done.stderr}"

    # Port 0: the OS picks a free port as it binds, so no other process can take it in between.
    server = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "runsandbox", "--noreload", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **env},
        cwd=PROJECT_DIR,
    )
    lines: queue.Queue = queue.Queue()
    tail: deque = deque(maxlen=40)
    threading.Thread(target=_drain, args=(server.stdout, lines, tail), daemon=True).start()
    try:
        base_url = _wait_until_serving(server, lines, tail)

        def manage_shell(code: str) -> None:
            done = run_manage("shell", "-c", f"from connexportal.sandbox import faults; {code}", env=env)
            assert done.returncode == 0, done.stderr

        def inject(spec: str, *, account: str = DEMO[0]) -> None:
            manage_shell(f"faults.configure({spec!r}, account={account!r})")

        yield Sandbox(base_url=base_url, inject=inject, clear_faults=lambda: manage_shell("faults.clear()"))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_serving(server: subprocess.Popen, lines: queue.Queue, tail: deque) -> str:
    deadline = time.monotonic() + 30
    base_url = None
    while base_url is None:
        assert server.poll() is None, "runsandbox exited:\n" + "".join(tail)
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail("runsandbox did not say where it listens:\n" + "".join(tail))
        if match := re.search(r"Connex sandbox at (http://127\.0\.0\.1:\d+)/", line):
            base_url = match.group(1)
    while True:
        try:
            # Any Connex-shaped answer will do: a path Connex does not have is a ProblemDetails 404.
            if httpx.get(f"{base_url}/ready", timeout=1).status_code == 404:
                return base_url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "runsandbox does not answer:\n" + "".join(tail)
        time.sleep(0.05)


@pytest.fixture(params=["in-process", "socket"])
def sandbox(request) -> Sandbox:
    return request.getfixturevalue("in_process" if request.param == "in-process" else "over_socket")


# --- helpers --------------------------------------------------------------------------------------


def today() -> date:
    return timezone.now().date()


def by_name(connections: list[UserConnection]) -> dict[str, UserConnection]:
    return {connection.user_connection_name: connection for connection in connections}


def orders_task(connection: UserConnection):
    return next(task for task in connection.scheduled_tasks if task.task_type == 0)


def wait_for_run(client: ConnexClient, queued: RunNowResponse) -> tuple[UserConnection, RunLog, list[str]]:
    """Poll the connections list (which is what moves a sandbox run) until the queued run has finished.

    Also returns each status the run was seen in, from RunNow's answer on.
    """
    seen = [queued.status]
    deadline = time.monotonic() + 10
    while True:
        connection = next(c for c in client.list_connections() if c.id == queued.user_connection_id)
        run = next(log for task in connection.scheduled_tasks for log in task.run_logs if log.id == queued.run_id)
        if seen[-1] != run.status:
            seen.append(run.status)
        if run.status in FINISHED:
            return connection, run, seen
        assert time.monotonic() < deadline, f"run {queued.run_id} is still {run.status}"
        time.sleep(0.05)


def new_orders(connection: UserConnection, prefix: str, count: int, *, day: date) -> list[NewOrder]:
    placed = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    return [
        NewOrder(
            reporting_user_id=connection.reporting_user_id,
            user_connection_id=connection.id,
            order_number=f"{prefix}-{index:04d}",
            order_date=placed + timedelta(minutes=index),
            customer_name=f"Customer {index}",
            order_total=Decimal("19.99") + Decimal(index) / 100,
            total_tax=Decimal("1.48"),
            shipping_excl_tax=Decimal("4.99"),
            order_details=[
                OrderDetail(
                    name="Blue Widget",
                    sku="SHP-WIDGET-1",
                    price_excl_tax=Decimal("6.76"),
                    price_incl_tax=Decimal("7.30"),
                    quantity=Decimal(2),
                )
            ],
        )
        for index in range(count)
    ]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def wide_range(**fields) -> OrderQuery:
    return OrderQuery(begin_date=today() - timedelta(days=120), end_date=today() + timedelta(days=1), **fields)


# --- the core scenario, over both transports ----------------------------------------------------


def test_core_scenario(sandbox: Sandbox):
    client = sandbox.client()

    token = client.login()
    assert token.value and token.expires_at is not None
    assert timedelta(minutes=55) < token.expires_at - datetime.now(UTC) <= timedelta(hours=1)

    connections = client.list_connections()
    assert [c.user_connection_name for c in connections] == DEMO_CONNECTIONS
    assert {c.reporting_user_id for c in connections} == {DEMO_REPORTING_USER}
    shopify = by_name(connections)["Shopify Store"]
    assert shopify.connection_type == 2 and shopify.connection_type_name == "Shopify"
    assert [task.task_type_label for task in shopify.scheduled_tasks] == ["Orders", "Inventory"]

    # A one-day window three days back: a past day, so the run downloads all of it.
    day = today() - timedelta(days=3)
    window = {"LastDownloadUtc": f"{day.isoformat()}T00:00:00", "LastDownloadUtcEnd": f"{day.isoformat()}T23:59:59"}
    before = shopify.settings_by_name()
    updated = client.update_settings(shopify.id, window)
    assert updated.user_connection_id == shopify.id
    assert updated.settings_by_name() == {**before, **window}
    assert by_name(client.list_connections())["Shopify Store"].settings_by_name() == {**before, **window}

    that_day = OrderQuery(begin_date=day, end_date=day, user_connection_id=shopify.id)
    orders_before = {order.order_number for order in client.iter_orders(that_day)}
    queued = client.run_now(shopify.id)
    assert queued.user_connection_id == shopify.id
    assert queued.scheduled_task_id == orders_task(shopify).id and queued.status == "Queued"
    assert queued.run_id is not None

    shopify, run, seen = wait_for_run(client, queued)
    assert seen[-1] == "Completed", run.message
    assert seen == sorted(seen, key=RUN_ORDER.index)
    assert run.trigger == "RunNow" and run.queued_utc == queued.queued_utc
    assert run.queued_utc < run.started_utc < run.finished_utc
    downloaded = {order.order_number for order in client.iter_orders(that_day)} - orders_before
    assert run.orders_downloaded == len(downloaded) > 0 and run.orders_skipped == 0
    assert run.message == f"Downloaded {len(downloaded)} orders, skipped 0 duplicates"
    task = orders_task(shopify)
    assert task.status == "Completed" and task.last_run_utc == run.started_utc
    assert task.run_logs[0].id == run.id
    assert task.next_run_utc > run.finished_utc
    # Connex moves the window on: from an hour before the run finished to a day after.
    moved = shopify.settings_by_name()
    assert moved["LastDownloadUtc"] == (run.finished_utc - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert moved["LastDownloadUtcEnd"] == (run.finished_utc + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")

    products = list(client.iter_products({"pageSize": 25}))
    assert len(products) == len({p.id for p in products}) == SEED_PRODUCTS
    first = client.list_products({"pageSize": 25})
    assert (first.meta.total_rows, first.meta.total_number_of_pages) == (SEED_PRODUCTS, 3)

    prefix = unique("E2E")
    result = client.create_orders(new_orders(shopify, prefix, 3, day=day))
    assert result.ok and result.created == tuple(f"{prefix}-{i:04d}" for i in range(3))
    created = list(client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=prefix)))
    assert sorted(o.order_number for o in created) == list(result.created)
    first_order = next(o for o in created if o.order_number == f"{prefix}-0000")
    assert first_order.total_product_sales == Decimal("19.99")
    assert first_order.order_date == datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    assert first_order.user_connection_id == shopify.id and first_order.channel == "Shopify"
    (line,) = first_order.items
    assert (line.product_name, line.sku, line.ordered_product_quantity) == ("Blue Widget", "SHP-WIDGET-1", 2)
    assert line.unit_price == Decimal("6.76")
    assert line.total_sold_price == Decimal("13.52")


# --- login ----------------------------------------------------------------------------------------


class WithoutPrimaryLogin(InProcessTransport):
    """A Connex host that has only the login path of Connex's help pages (routes.LOGIN_FALLBACK)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.lower().endswith(f"/{routes.LOGIN.path}".lower()):
            self.refused += 1
            return httpx.Response(404, json={"title": "Not Found", "status": 404}, request=request)
        return super().handle_request(request)


def test_a_wrong_password_is_an_auth_error_that_never_shows_the_password(in_process):
    client = in_process.client((DEMO[0], "not-the-demo-password"))
    with pytest.raises(ConnexAuthError) as caught:
        client.list_connections()
    error = caught.value
    assert error.status == 401 and error.path == routes.LOGIN.path
    assert "The username or password is incorrect." in error.message
    assert "not-the-demo-password" not in f"{error} {error!r}"
    assert [e.request.url.path for e in in_process.transport.exchanges] == [f"/sandbox/{routes.LOGIN.path}"]


def test_the_fallback_login_path_works_where_the_documented_one_is_missing(in_process):
    transport = WithoutPrimaryLogin()
    client = in_process.client(transport=transport)

    assert [c.user_connection_name for c in client.list_connections()] == DEMO_CONNECTIONS

    login, listing = transport.exchanges
    assert transport.refused == 1
    assert login.request.url.path == f"/sandbox/{routes.LOGIN_FALLBACK.path}" and login.response.status_code == 200
    assert login.body() == {"Username": DEMO[0], "Password": DEMO[1]}
    assert listing.request.headers["Authorization"] == f"Bearer {login.response.json()['token']}"
    # The client remembers that this host wants the fallback: no second 404 on the next login.
    in_process.client(transport=transport).login()
    assert transport.refused == 1 and len(transport.calls(routes.LOGIN_FALLBACK)) == 2


# --- connections and settings -----------------------------------------------------------------------


def test_list_connections_parses_settings_tasks_and_run_logs(in_process):
    connections = in_process.client().list_connections()
    named = by_name(connections)
    amazon, shopify, ebay = named["Amazon US"], named["Shopify Store"], named["eBay"]
    yesterday = (today() - timedelta(days=1)).isoformat()

    settings = amazon.settings_by_name()
    assert settings["LastDownloadUtc"] == f"{yesterday}T00:00:00"
    assert settings["LastDownloadUtcEnd"] == f"{yesterday}T23:59:59"
    assert settings["SummaryTransactionGroupBy"] == "1"
    # Settings Connex no longer uses still come through, so an update never loses them.
    assert settings["Stores"] == settings["OrderStatuses"] == ""
    assert {row.user_connection_id for row in amazon.connection_settings} == {amazon.id}
    assert all(row.id for row in amazon.connection_settings)

    # The channel's pairing secrets are in the raw model (the portal must hide them); a repr never shows them.
    secret = next(row for row in amazon.connection_settings if row.name == "SolutionPassword")
    assert secret.is_secret and secret.value.startswith("sandbox-refresh-")
    assert secret.value not in repr(amazon) and secret.value not in repr(secret)
    assert ebay.settings_by_name()["SolutionPassword"] == ""

    orders, inventory = shopify.scheduled_tasks
    assert (orders.task_type_label, orders.interval_seconds, orders.enabled) == ("Orders", 86400, True)
    assert (inventory.task_type_label, inventory.interval_seconds) == ("Inventory", 900)
    assert orders.status == "Completed"
    assert orders.last_run_utc == datetime.fromisoformat(f"{yesterday}T05:45:01+00:00")
    assert orders.next_run_utc == datetime.fromisoformat(f"{today().isoformat()}T05:45:00+00:00")
    logs = orders.run_logs
    assert len(logs) == 5 and [log.id for log in logs] == sorted((log.id for log in logs), reverse=True)
    for log in logs:
        assert (log.scheduled_task_id, log.status, log.trigger) == (orders.id, "Completed", "Schedule")
        assert log.queued_utc.tzinfo is UTC and log.queued_utc < log.started_utc < log.finished_utc
        assert log.message.startswith(f"Downloaded {log.orders_downloaded} orders, skipped {log.orders_skipped} ")
    (failed_task,) = ebay.scheduled_tasks
    assert failed_task.status == "Failed"
    assert all("the connection is not paired" in log.message for log in failed_task.run_logs)


def test_update_settings_changes_only_the_named_settings_and_returns_field_errors(in_process):
    client = in_process.client()
    amazon = by_name(client.list_connections())["Amazon US"]
    before = amazon.settings_by_name()

    answer = client.update_settings(amazon.id, {"SummaryTransactionGroupBy": "2"})
    expected = {**before, "SummaryTransactionGroupBy": "2"}
    assert answer.settings_by_name() == expected
    assert [(row.id, row.name) for row in answer.connection_settings] == [
        (row.id, row.name) for row in amazon.connection_settings
    ]

    with pytest.raises(ConnexRejected) as caught:
        client.update_settings(
            amazon.id, {"LastDownloadUtc": "2024-09-02T00:00:00", "LastDownloadUtcEnd": "2024-09-01T00:00:00"}
        )
    assert caught.value.status == 400
    assert caught.value.field_errors == {
        "Settings[0].Value": [
            "LastDownloadUtc (2024-09-02T00:00:00) must not be after LastDownloadUtcEnd (2024-09-01T00:00:00)."
        ]
    }
    # A start alone is checked against the end the connection already has.
    with pytest.raises(ConnexRejected) as caught:
        client.update_settings(amazon.id, {"LastDownloadUtc": "2999-01-01T00:00:00"})
    assert "must not be after LastDownloadUtcEnd" in caught.value.field_errors["Settings[0].Value"][0]
    with pytest.raises(ConnexRejected) as caught:
        client.update_settings(amazon.id, {"SummaryTransactionGroupBy": "9"})
    (message,) = caught.value.field_errors["Settings[0].Value"]
    assert message.startswith("SummaryTransactionGroupBy '9' is not valid; use one of 0 (Individual sales)")

    assert by_name(client.list_connections())["Amazon US"].settings_by_name() == expected
    assert len(in_process.transport.calls(routes.UPDATE_SETTINGS)) == 4


# --- products -------------------------------------------------------------------------------------


def test_products_page_search_sort_and_filter(in_process):
    client = in_process.client()

    everything = list(client.iter_products({"pageSize": 7}))
    assert len(everything) == len({p.id for p in everything}) == SEED_PRODUCTS
    assert len(in_process.transport.calls(routes.LIST_PRODUCTS)) == math.ceil(SEED_PRODUCTS / 7)
    assert [p.id for p in everything] == sorted((p.id for p in everything), reverse=True)
    sample = everything[0]
    assert isinstance(sample.sales_price, Decimal) and isinstance(sample.quantity_on_hand, Decimal)
    assert sample.user_connection.id == sample.connection_ref.user_connection_id
    assert sample.user_connection.reporting_user_id == DEMO_REPORTING_USER
    assert sample.created_at.tzinfo is UTC and sample.product_typ is None

    word = everything[0].name.split()[0]
    found = list(client.iter_products({"searchText": word.upper()}))
    assert found and sorted(p.id for p in found) == sorted(
        p.id for p in everything if word.lower() in f"{p.name} {p.sku}".lower()
    )
    (by_sku,) = client.list_products({"searchText": everything[-1].sku}).products
    assert by_sku.id == everything[-1].id

    cheapest_first = [p.sales_price for p in client.iter_products({"orderBy": "salesPrice", "direction": "asc"})]
    assert cheapest_first == sorted(cheapest_first) and cheapest_first[0] < cheapest_first[-1]
    most_stock_first = [
        p.quantity_on_hand for p in client.iter_products({"orderBy": "quantityOnHand", "direction": "desc"})
    ]
    assert most_stock_first == sorted(most_stock_first, reverse=True)

    manual = list(client.iter_products({"isManual": True}))
    assert manual and sorted(p.id for p in manual) == sorted(p.id for p in everything if p.is_manual)
    services = list(client.iter_products({"productType": 2}))
    assert services and sorted(p.id for p in services) == sorted(p.id for p in everything if p.product_type == 2)

    unknown = [p.id for p in everything if p.has_unknown_sku]
    page = client.list_products({"onlyFetchUnknownSkusProducts": True})
    assert unknown and page.unknown_skus_count == page.meta.total_rows == len(unknown)
    assert sorted(p.id for p in page.products) == sorted(unknown)
    assert client.list_products().unknown_skus_count == len(unknown)

    per_connection = 0
    for connection in client.list_connections():
        page = client.list_products(ProductQuery(user_connection_id=connection.id, page_size=100))
        mine = [p for p in everything if p.user_connection.id == connection.id]
        assert sorted(p.id for p in page.products) == sorted(p.id for p in mine)
        assert page.unknown_skus_count == sum(1 for p in mine if p.has_unknown_sku)
        per_connection += page.meta.total_rows
    assert per_connection == SEED_PRODUCTS

    with pytest.raises(ConnexRejected) as caught:
        client.list_products({"orderBy": "colour"})
    assert caught.value.status == 400 and list(caught.value.field_errors) == ["OrderBy"]


def test_add_product_is_refused_to_the_demo_account_and_works_for_another(in_process):
    demo = in_process.client()
    shopify = by_name(demo.list_connections())["Shopify Store"]
    lamp = {
        "reportingUserId": str(DEMO_REPORTING_USER),
        "userConnectionId": shopify.id,
        "name": "E2E Desk Lamp",
        "sku": "E2E-LAMP-1",
    }
    with pytest.raises(ConnexRejected) as caught:
        demo.add_product(lamp)
    assert caught.value.status == 403
    assert "cannot create products (Connex's demo account is read-only)" in caught.value.message
    assert len(in_process.transport.calls(routes.ADD_PRODUCT)) == 1
    assert demo.list_products().meta.total_rows == SEED_PRODUCTS

    other = in_process.client(OTHER)
    woo = by_name(other.list_connections())["WooCommerce Shop"]
    product = NewProduct(
        reporting_user_id=woo.reporting_user_id,
        user_connection_id=woo.id,
        name="E2E Desk Lamp",
        sku="E2E-LAMP-1",
        description="A lamp for the desk.",
        asin="B0E2E00001",
        image_urls=["https://images.example.com/lamp.jpg"],
        unit_cost=Decimal("11.05"),
        sales_price=Decimal("24.50"),
        asset_value=Decimal("77.35"),
        average_cost=Decimal("11.05"),
        product_type=1,
        reorder_point=Decimal(3),
        max_quantity=Decimal(40),
        time_until_restock=7,
        days_to_receive=5,
        quantity_on_order=Decimal(12),
        quantity_on_sales_order=Decimal(2),
        quantity_on_hand=Decimal(7),
        quantity=Decimal(7),
        unit=2,
        internal_note="From the usual supplier.",
        categories=ProductCategories(category_id=14, sub_category_ids=[SubCategoryRef(category_id=141)]),
    )
    assert other.add_product(product) is None
    (added,) = other.list_products({"searchText": "E2E-LAMP-1"}).products
    # Every field list-products shows comes back as sent: no key of the client's body is lost on the way.
    shown = set(type(added).model_fields) & set(type(product).model_fields) - {"id", "categories"}
    assert {name: getattr(added, name) for name in shown} == {name: getattr(product, name) for name in shown}
    assert len(shown) >= 20
    # Adding takes no category name (spec); listing shows one, empty here.
    assert added.categories == product.categories.model_copy(update={"category_name": ""})
    assert added.user_connection.id == woo.id and added.image_url == "https://images.example.com/lamp.jpg"

    with pytest.raises(ConnexRejected) as caught:
        other.add_product(product)
    assert caught.value.status == 409
    assert caught.value.field_errors == {"Sku": [f"The SKU 'E2E-LAMP-1' is already used on user connection {woo.id}."]}
    assert other.list_products().meta.total_rows == OTHER_PRODUCTS + 1


# --- orders ---------------------------------------------------------------------------------------


def test_orders_by_date_range_and_search_with_exact_decimal_totals(in_process):
    client = in_process.client()
    transport = in_process.transport

    everything = list(client.iter_orders(wide_range(page_size=15)))
    assert len(everything) == len({o.id for o in everything}) == SEED_ORDERS
    assert [o.order_date for o in everything] == sorted((o.order_date for o in everything), reverse=True)

    begin, end = today() - timedelta(days=30), today() - timedelta(days=1)
    ranged = list(client.iter_orders(OrderQuery(begin_date=begin.strftime("%m/%d/%Y"), end_date=end)))
    assert transport.calls(routes.LIST_ORDERS)[-1].body()["beginDate"] == begin.strftime("%m/%d/%Y")
    assert transport.calls(routes.LIST_ORDERS)[-1].body()["endDate"] == end.strftime("%m/%d/%Y")
    expected = sorted(o.order_number for o in everything if begin <= o.order_date.date() <= end)
    assert 0 < len(expected) < SEED_ORDERS and sorted(o.order_number for o in ranged) == expected

    target = everything[len(everything) // 2]
    (found,) = client.list_orders(wide_range(search_text=target.order_number)).orders
    assert found.id == target.id

    page = client.list_orders(wide_range(page_size=SEED_ORDERS))
    raw = json.loads(transport.calls(routes.LIST_ORDERS)[-1].response.content, parse_float=Decimal)["lstAllOrders"]
    assert len(raw) == len(page.orders) == SEED_ORDERS
    for order, wire_order in zip(page.orders, raw, strict=True):
        assert isinstance(order.total_product_sales, Decimal)
        assert order.total_product_sales == Decimal(str(wire_order["totalProductSales"]))
        for item, wire_item in zip(order.items, wire_order["lstOrderItemDetails"], strict=True):
            assert item.total_sold_price == Decimal(str(wire_item["totalSoldPrice"]))
            assert item.total_sold_price == item.unit_price * item.ordered_product_quantity


def test_250_orders_go_in_three_batches_and_all_land(in_process):
    client = in_process.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    day = today() - timedelta(days=2)
    orders = new_orders(shopify, unique("BULK"), 250, day=day)

    result = client.create_orders(orders)

    assert result.ok and result.created == tuple(order.order_number for order in orders)
    sent = in_process.transport.calls(routes.CREATE_ORDERS)
    assert [len(exchange.body()) for exchange in sent] == [100, 100, 50]
    assert [exchange.response.status_code for exchange in sent] == [200, 200, 200]
    landed = list(client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=orders[0].order_number[:-5])))
    assert {o.order_number: o.total_product_sales for o in landed} == {o.order_number: o.order_total for o in orders}
    assert len(landed) == 250


def test_a_duplicate_order_number_is_reported_as_already_existing(in_process):
    client = in_process.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    day = today() - timedelta(days=2)
    prefix = unique("DUP")
    assert client.create_orders(new_orders(shopify, prefix, 2, day=day)).ok
    again = new_orders(shopify, prefix, 3, day=day)

    # Sent as they are: Connex refuses the whole batch, naming the orders that exist; a lookup
    # confirms those two are there, and the third was refused with them.
    refused = client.create_orders(again)
    assert refused.created == () and refused.already_existed == (f"{prefix}-0000", f"{prefix}-0001")
    (failure,) = refused.failed
    assert failure.order_number == f"{prefix}-0002" and failure.error.status == 409 and failure.safe_to_retry
    assert failure.reason.startswith(f"Order 1 of 3: order number '{prefix}-0000' already exists")

    # With skip_existing, the client looks first and sends only the new one.
    result = client.create_orders(again, skip_existing=True)
    assert result.ok
    assert result.already_existed == (f"{prefix}-0000", f"{prefix}-0001") and result.created == (f"{prefix}-0002",)
    assert [o["orderNumber"] for o in in_process.transport.calls(routes.CREATE_ORDERS)[-1].body()] == [f"{prefix}-0002"]
    landed = client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=prefix))
    assert sorted(o.order_number for o in landed) == [o.order_number for o in again]


def test_the_sandbox_stores_every_field_of_the_clients_writes(in_process):
    client = in_process.client(OTHER)
    woo = by_name(client.list_connections())["WooCommerce Shop"]
    number = unique("FULL")
    placed = datetime(2024, 9, 5, 14, 30, 15, tzinfo=UTC)
    address = Address(
        address1="123 Main St.",
        address2="STE 100",
        city="Watertown",
        company="Connex",
        country_name="United States",
        email="joe@example.com",
        first_name="Joe",
        full_name="Joe Example",
        last_name="Example",
        phone_number="7813300737",
        postal_code="02472",
        region_name="MA",
        two_letter_iso_code="US",
    )
    order = NewOrder(
        reporting_user_id=woo.reporting_user_id,
        user_connection_id=woo.id,
        order_number=number,
        order_date=placed,
        customer_name="Joe Example",
        order_total=Decimal("117.38"),
        total_tax=Decimal("8.69"),
        order_type=OrderType.WEB_REFUND,
        ship_date=placed + timedelta(days=1),
        shipping_method="UPS Ground",
        shipping_two_letter_region_name="MA",
        shipping_two_letter_iso="US",
        channel_name="WooCommerce POS",
        creation_date=placed - timedelta(minutes=5),
        credit_card_name="Visa",
        discount_excl_tax=Decimal("5.00"),
        discount_incl_tax=Decimal("5.40"),
        shipping_excl_tax=Decimal("2"),
        shipping_incl_tax=Decimal("2.16"),
        total_excl_tax=Decimal("108.69"),
        billing_address=address,
        shipping_address=address.model_copy(update={"address2": None, "company": "Home"}),
        order_details=[
            OrderDetail(
                name="Desk Lamp",
                sku="WOO-LAMP",
                price_excl_tax=Decimal("50.25"),
                price_incl_tax=Decimal("54.27"),
                quantity=Decimal(2),
                options=[OrderItemOption(name="Colour", value="Brass", sku="WOO-LAMP-BR", quantity=Decimal(1))],
                jma_custom_fields=[OrderCustomField(name="Gift", value="yes", order_number=number, mapped=True)],
                custom_fields=[OrderCustomField(name="Note", value="Leave at door", order_number=number, mapped=False)],
                order_numbers_for_item_summary=[number],
                vendor="Acme Lighting",
                categories=["Lamps", "Home"],
                has_known_sku=False,
                fees={"Commission": Decimal("1.25")},
            )
        ],
    )
    assert client.create_orders([order]).created == (number,)

    stored = Order.objects.get(order_number=number)
    assert (stored.user.username, stored.connection_id, stored.order_date) == (OTHER[0], woo.id, placed)
    assert (stored.customer_name, stored.order_total, stored.total_tax) == (
        "Joe Example",
        Decimal("117.38"),
        Decimal("8.69"),
    )
    assert (stored.order_type, stored.deleted, stored.ship_date) == (1, False, placed + timedelta(days=1))
    assert (stored.shipping_method, stored.shipping_region, stored.shipping_country) == ("UPS Ground", "MA", "US")
    assert (stored.channel_name, stored.creation_date) == ("WooCommerce POS", placed - timedelta(minutes=5))
    assert (stored.credit_card_name, stored.discount_excl_tax, stored.discount_incl_tax) == (
        "Visa",
        Decimal("5.00"),
        Decimal("5.40"),
    )
    assert (stored.shipping_excl_tax, stored.shipping_incl_tax, stored.total_excl_tax) == (
        Decimal("2"),
        Decimal("2.16"),
        Decimal("108.69"),
    )
    assert stored.billing_address == address.model_dump(mode="json")
    assert stored.shipping_address == {**address.model_dump(mode="json"), "address2": "", "company": "Home"}
    (line,) = stored.lines.all()
    assert (line.name, line.sku, line.quantity, line.price_excl_tax, line.price_incl_tax) == (
        "Desk Lamp",
        "WOO-LAMP",
        Decimal(2),
        Decimal("50.25"),
        Decimal("54.27"),
    )
    assert (line.vendor, line.has_known_sku, line.categories) == ("Acme Lighting", False, ["Lamps", "Home"])
    assert line.options == [{"name": "Colour", "value": "Brass", "sku": "WOO-LAMP-BR", "quantity": 1}]
    assert line.jma_custom_fields == [{"name": "Gift", "value": "yes", "orderNumber": number, "mapped": True}]
    assert line.custom_fields == [{"name": "Note", "value": "Leave at door", "orderNumber": number, "mapped": False}]
    assert (line.order_numbers_for_item_summary, line.fees) == ([number], {"Commission": 1.25})
    (listed,) = client.list_orders(OrderQuery(begin_date=placed, end_date=placed, search_text=number)).orders
    assert listed.channel == "WooCommerce POS"

    product = NewProduct(
        reporting_user_id=woo.reporting_user_id,
        user_connection_id=woo.id,
        name="Hidden Lamp",
        sku="E2E-HIDDEN-1",
        unit_value=Decimal("30.10"),
        is_active=False,
        is_manual=False,
    )
    client.add_product(product)
    stored_product = Product.objects.get(sku="E2E-HIDDEN-1")
    assert (stored_product.unit_value, stored_product.is_active, stored_product.is_manual) == (
        Decimal("30.10"),
        False,
        False,
    )


class LosesCreateOrdersAnswers(InProcessTransport):
    """Lets createorders reach the sandbox, which saves the batch, then loses the answer on the way back."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.losses and request.url.path.lower().endswith(f"/{routes.CREATE_ORDERS.path}"):
            self.losses -= 1
            raise httpx.ReadTimeout("the answer was lost after Connex saved the batch", request=request)
        return response


def test_a_batch_that_landed_but_whose_answer_was_lost_is_not_sent_again(in_process):
    transport = LosesCreateOrdersAnswers(losses=1)
    client = in_process.client(transport=transport)
    shopify = by_name(client.list_connections())["Shopify Store"]
    day = today() - timedelta(days=2)
    orders = new_orders(shopify, unique("LOST"), 120, day=day)

    result = client.create_orders(orders)

    numbers = [order.order_number for order in orders]
    assert result.ok and result.already_existed == tuple(numbers[:100]) and result.created == tuple(numbers[100:])
    assert [len(exchange.body()) for exchange in transport.calls(routes.CREATE_ORDERS)] == [100, 20]
    landed = client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=numbers[0][:-5]))
    assert sorted(o.order_number for o in landed) == numbers


def test_a_503_on_a_createorders_batch_is_looked_up_before_the_missing_orders_are_resent(in_process):
    client = in_process.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    in_process.inject("503=1,next=1,path=orders/createorders")
    day = today() - timedelta(days=2)
    orders = new_orders(shopify, unique("R503"), 5, day=day)

    result = client.create_orders(orders)

    assert result.ok and result.created == tuple(o.order_number for o in orders)
    exchanges = in_process.transport.exchanges
    creates = [i for i, e in enumerate(exchanges) if e.is_call(routes.CREATE_ORDERS)]
    assert [exchanges[i].fault for i in creates] == ["503", None]
    between = exchanges[creates[0] + 1 : creates[1]]
    assert between and all(e.is_call(routes.LIST_ORDERS) for e in between)
    landed = client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=orders[0].order_number[:-5]))
    assert sorted(o.order_number for o in landed) == [o.order_number for o in orders]


def test_a_createorders_batch_that_fails_twice_is_reported_and_never_created(in_process):
    client = in_process.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    in_process.inject("503=1,next=2,path=orders/createorders")
    day = today() - timedelta(days=2)
    orders = new_orders(shopify, unique("F503"), 5, day=day)

    result = client.create_orders(orders)

    assert result.created == result.already_existed == ()
    assert result.failed_numbers == tuple(o.order_number for o in orders)
    reason = "not created: the batch sent again failed"
    assert all(f.safe_to_retry and f.reason.startswith(reason) for f in result.failed)
    sent = in_process.transport.calls(routes.CREATE_ORDERS)
    assert [(len(e.body()), e.fault) for e in sent] == [(5, "503"), (5, "503")]
    assert not list(
        client.iter_orders(OrderQuery(begin_date=day, end_date=day, search_text=orders[0].order_number[:-5]))
    )


# --- faults ---------------------------------------------------------------------------------------


def test_an_expired_token_costs_exactly_one_fresh_login(in_process):
    client = in_process.client()
    client.login()
    in_process.inject("expire=1,next=1,path=userconnections/list")

    assert [c.user_connection_name for c in client.list_connections()] == DEMO_CONNECTIONS

    logins = in_process.transport.calls(routes.LOGIN)
    listings = in_process.transport.calls(routes.LIST_CONNECTIONS)
    assert len(logins) == 2 and [(e.response.status_code, e.fault) for e in listings] == [(401, "expire"), (200, None)]
    first, second = (exchange.response.json()["token"] for exchange in logins)
    assert first != second
    assert [e.request.headers["Authorization"] for e in listings] == [f"Bearer {first}", f"Bearer {second}"]
    client.list_products()
    assert len(in_process.transport.calls(routes.LOGIN)) == 2


def test_503s_on_a_read_are_retried_until_it_succeeds_or_the_retries_run_out(in_process):
    client = in_process.client(max_retries=2)
    client.login()

    in_process.inject("503=1,next=2,path=products/list")
    assert client.list_products().meta.total_rows == SEED_PRODUCTS
    listings = in_process.transport.calls(routes.LIST_PRODUCTS)
    assert [(e.response.status_code, e.fault) for e in listings] == [(503, "503"), (503, "503"), (200, None)]

    in_process.inject("503=1,next=3,path=products/list")
    with pytest.raises(ConnexUnavailable) as caught:
        client.list_products()
    assert (caught.value.status, caught.value.attempts) == (503, 3)
    assert len(in_process.transport.calls(routes.LIST_PRODUCTS)) == 6


def test_a_503_on_a_write_is_not_retried(in_process):
    client = in_process.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    in_process.inject("503=1,next=1,path=scheduledtask/runnow")

    with pytest.raises(ConnexUnavailable) as caught:
        client.run_now(shopify.id)
    assert (caught.value.status, caught.value.attempts) == (503, 1)
    assert len(in_process.transport.calls(routes.RUN_NOW)) == 1
    # Nothing was queued: a queued run would make this a 409.
    assert client.run_now(shopify.id).status == "Queued"
    inventory = shopify.scheduled_tasks[1]
    assert client.run_now(shopify.id, inventory.id).scheduled_task_id == inventory.id


def test_a_429_is_retried_after_the_retry_after_it_names(in_process):
    sleeps: list[float] = []
    client = in_process.client(sleep=sleeps.append)
    client.login()
    in_process.inject("429=1,next=1,retry_after=2,path=userconnections/list")

    assert len(client.list_connections()) == len(DEMO_CONNECTIONS)

    refused, served = in_process.transport.calls(routes.LIST_CONNECTIONS)
    assert (refused.response.status_code, refused.response.headers["Retry-After"]) == (429, "2")
    assert served.response.status_code == 200
    assert sleeps == [2.0]


def test_an_html_error_page_is_unavailable(in_process):
    client = in_process.client(max_retries=2)
    client.login()
    in_process.inject("html=1,next=3,path=products/list")

    with pytest.raises(ConnexUnavailable) as caught:
        client.list_products()
    assert (caught.value.status, caught.value.attempts) == (503, 3)
    assert "it answered an HTML page (Service Unavailable)" in caught.value.message
    assert [e.fault for e in in_process.transport.calls(routes.LIST_PRODUCTS)] == ["html"] * 3
    assert client.list_products().meta.total_rows == SEED_PRODUCTS


def test_a_malformed_body_is_a_protocol_error_and_is_not_retried(in_process):
    client = in_process.client()
    client.login()
    in_process.inject("malformed=1,next=1,path=products/list")

    with pytest.raises(ConnexProtocolError) as caught:
        client.list_products()
    assert (caught.value.status, caught.value.attempts) == (200, 1)
    assert f"Connex's answer to {routes.LIST_PRODUCTS.path} is not the expected shape" in caught.value.message
    assert len(in_process.transport.calls(routes.LIST_PRODUCTS)) == 1
    assert client.list_products().meta.total_rows == SEED_PRODUCTS


def test_a_hanging_sandbox_is_unavailable_within_the_clients_time_budget(over_socket):
    # Logged in with the default timeout: the standalone sandbox hashes passwords the slow, production way.
    tokens = InMemoryTokenStore()
    over_socket.client(OTHER, token_store=tokens).login()
    client = over_socket.client(OTHER, token_store=tokens, timeout=httpx.Timeout(0.4), total_timeout=1.0, max_retries=5)
    over_socket.inject("hang=1,hang_seconds=5,path=products/list", account=OTHER[0])
    try:
        started = time.monotonic()
        with pytest.raises(ConnexUnavailable) as caught:
            client.list_products()
        elapsed = time.monotonic() - started
    finally:
        over_socket.clear_faults()

    # The call's 1 s budget ends it, long before the hung sandbox would answer (504 after 5 s).
    assert 0.9 <= elapsed < 2.0
    error = caught.value
    assert error.status is None and error.request_sent and error.attempts >= 2
    assert "ReadTimeout" in error.message
    assert over_socket.client(OTHER, token_store=tokens).list_products().meta.total_rows == OTHER_PRODUCTS


# --- tenancy --------------------------------------------------------------------------------------


def test_one_account_never_sees_another_accounts_data(sandbox: Sandbox):
    demo, other = sandbox.client(), sandbox.client(OTHER)
    demo_connections, other_connections = demo.list_connections(), other.list_connections()
    assert [c.user_connection_name for c in other_connections] == OTHER_CONNECTIONS
    demo_ids, other_ids = {c.id for c in demo_connections}, {c.id for c in other_connections}
    assert demo_ids.isdisjoint(other_ids)
    assert DEMO_REPORTING_USER not in {c.reporting_user_id for c in other_connections}

    assert {p.user_connection.id for p in demo.iter_products()} == demo_ids
    theirs = list(other.iter_products())
    assert len(theirs) == OTHER_PRODUCTS and {p.user_connection.id for p in theirs} == other_ids
    # Both accounts have a product with this SKU; each sees only its own.
    (mine,) = demo.list_products({"searchText": "QBO-000000"}).products
    (their_own,) = other.list_products({"searchText": "QBO-000000"}).products
    assert mine.user_connection.id in demo_ids and their_own.user_connection.id in other_ids
    assert {o.user_connection_id for o in demo.iter_orders(wide_range())} <= demo_ids
    assert {o.user_connection_id for o in other.iter_orders(wide_range())} <= other_ids

    woo = by_name(other_connections)["WooCommerce Shop"]
    refusal = {"UserConnectionId": [f"User connection {woo.id} is not one of your connections."]}
    for call in (
        lambda: demo.list_products({"userConnectionId": woo.id}),
        lambda: demo.list_orders(wide_range(user_connection_id=woo.id)),
        lambda: demo.update_settings(woo.id, {"SummaryTransactionGroupBy": "1"}),
        lambda: demo.run_now(woo.id),
    ):
        with pytest.raises(ConnexRejected) as caught:
            call()
        assert caught.value.status == 400 and caught.value.field_errors == refusal
    after = by_name(other.list_connections())["WooCommerce Shop"]
    assert after.settings_by_name() == woo.settings_by_name()
    assert [task.run_logs[0].id for task in after.scheduled_tasks] == [t.run_logs[0].id for t in woo.scheduled_tasks]


# --- exact writes: every way a createorders batch can fail, against a Connex that stores duplicates ---


@pytest.fixture
def no_duplicate_check(in_process, settings) -> Sandbox:
    settings.CONNEX_SANDBOX_ACCEPT_DUPLICATES = True
    return in_process


def copies_stored(orders: list[NewOrder]) -> dict[str, int]:
    """How many rows the sandbox holds of each order, by order number."""
    keys = {order_key(order.order_number): order.order_number for order in orders}
    rows = Order.objects.filter(number_key__in=list(keys)).values_list("number_key", flat=True)
    counts = dict.fromkeys(keys.values(), 0)
    for key in rows:
        counts[keys[key]] += 1
    return counts


def send_120(sandbox: Sandbox, fault: str, prefix: str, **options) -> tuple[list[NewOrder], CreateOrdersResult]:
    """120 orders (two batches) with ``fault`` on the first batch only."""
    client = sandbox.client()
    shopify = by_name(client.list_connections())["Shopify Store"]
    orders = new_orders(shopify, unique(prefix), 120, day=today() - timedelta(days=2))
    sandbox.inject(f"{fault},next=1")
    return orders, client.create_orders(orders, **options)


@pytest.mark.parametrize("answer", ["500", "503", "html", "empty", "unknown"])
def test_a_batch_stored_then_answered_with_a_failure_is_found_not_resent(no_duplicate_check, answer):
    orders, result = send_120(no_duplicate_check, f"commit_fail=1,answer={answer}", "CF")

    numbers = [order.order_number for order in orders]
    assert result.already_existed == tuple(numbers[:100]) and result.created == tuple(numbers[100:])
    assert result.ok and [o.order_number for o in result.outcomes] == numbers
    assert copies_stored(orders) == dict.fromkeys(numbers, 1)
    sent = no_duplicate_check.transport.calls(routes.CREATE_ORDERS)
    assert [(len(e.body()), e.fault) for e in sent] == [(100, "commit_fail"), (20, None)]


def test_a_batch_landing_late_within_the_settle_period_is_found_not_resent(no_duplicate_check):
    orders, result = send_120(no_duplicate_check, "commit_late=1,late_seconds=3", "CLW", settle_seconds=5)

    numbers = [order.order_number for order in orders]
    assert result.already_existed == tuple(numbers[:100]) and result.created == tuple(numbers[100:])
    assert copies_stored(orders) == dict.fromkeys(numbers, 1)
    assert len(no_duplicate_check.transport.calls(routes.CREATE_ORDERS)) == 2


def test_a_batch_landing_after_the_settle_period_is_doubled_which_is_what_the_settle_period_prevents(
    no_duplicate_check,
):
    orders, result = send_120(no_duplicate_check, "commit_late=1,late_seconds=30", "CLB", settle_seconds=5)

    numbers = [order.order_number for order in orders]
    # Every lookup agreed they were absent for longer than the settle period: the client resent them.
    assert result.created == tuple(numbers)
    assert copies_stored(orders) == {number: 2 if index < 100 else 1 for index, number in enumerate(numbers)}


@pytest.mark.parametrize("fault", ["503=1", "html=1", "malformed=1"])
def test_a_batch_refused_before_it_was_stored_is_resent_once_after_the_settle_period(no_duplicate_check, fault):
    orders, result = send_120(no_duplicate_check, f"{fault},path=orders/createorders", "PRE")

    numbers = [order.order_number for order in orders]
    assert result.created == tuple(numbers) and result.ok
    assert copies_stored(orders) == dict.fromkeys(numbers, 1)
    sent = no_duplicate_check.transport.calls(routes.CREATE_ORDERS)
    assert [len(e.body()) for e in sent] == [100, 20, 100]
    lookups = no_duplicate_check.transport.calls(routes.LIST_ORDERS)
    assert len(lookups) == 3  # at once, then two agreeing after the settle period


def test_a_4xx_after_a_partial_commit_reports_the_stored_part_and_refuses_the_rest(no_duplicate_check):
    orders, result = send_120(no_duplicate_check, "commit_fail=1,committed=0.5,answer=400", "P4")

    numbers = [order.order_number for order in orders]
    assert result.already_existed == tuple(numbers[:50])
    assert result.failed_numbers == tuple(numbers[50:100]) and result.created == tuple(numbers[100:])
    assert all(failure.safe_to_retry and failure.error.status == 400 for failure in result.failed)
    assert copies_stored(orders) == {number: 0 if 50 <= index < 100 else 1 for index, number in enumerate(numbers)}


class RevokesLoginAfterFirstBatch(InProcessTransport):
    """After the first createorders, the account's password changes and its tokens die."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.calls(routes.CREATE_ORDERS) and request.url.path.lower().endswith(routes.CREATE_ORDERS.path):
            from connexportal.sandbox.models import AccessToken, ConnexUser

            user = ConnexUser.objects.get(username=DEMO[0])
            user.set_password("changed-elsewhere")
            user.save()
            AccessToken.objects.filter(user=user).delete()
        return response


def test_an_auth_error_mid_call_carries_the_fate_of_every_order(no_duplicate_check):
    client = no_duplicate_check.client(transport=RevokesLoginAfterFirstBatch())
    shopify = by_name(client.list_connections())["Shopify Store"]
    orders = new_orders(shopify, unique("AUTH"), 250, day=today() - timedelta(days=2))

    with pytest.raises(ConnexAuthError) as caught:
        client.create_orders(orders)

    partial = caught.value.partial_result
    numbers = [order.order_number for order in orders]
    assert [outcome.order_number for outcome in partial.outcomes] == numbers
    assert partial.created == tuple(numbers[:100]) and partial.already_existed == ()
    assert partial.failed_numbers == tuple(numbers[100:])
    assert all(f.safe_to_retry and f.reason.startswith("not sent: create_orders stopped") for f in partial.failed)
    assert copies_stored(orders) == {number: 1 if index < 100 else 0 for index, number in enumerate(numbers)}
