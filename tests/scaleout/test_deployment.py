"""Two portals (gunicorn, 4 workers x 4 threads each, on their own ports) and two db_workers on one
PostgreSQL database and one Redis behave as one portal: one login per account, one throttle,
one Run now cooldown, one session per launch token, every imported order created once.

Connex is the sandbox as its own gunicorn process behind a proxy that records when each request
arrives. One deployment serves the module (migrating and seeding take about 20 s).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connexportal.connex import routes
from tests.scaleout.conftest import DATABASE_URL, REDIS_URL, needs_postgres_and_redis
from tests.scaleout.deployment import (
    DEMO_MERCHANT,
    PYTHON,
    Deployment,
    RecordingProxy,
    base_env,
    free_port,
    manage,
    query,
    servers_redis,
    throwaway_database,
)

pytestmark = needs_postgres_and_redis

RATE = 4  # Connex's figure; the burst is the same (upstream.client_for_credentials)
BURST = 4
MAX_WAIT = 2.0
WEB_ARGS = ("--workers", "4", "--threads", "4")
IMPORTS, ORDERS_EACH, ENQUEUED_EACH = 4, 150, 3


@pytest.fixture(scope="module")
def deployment():
    workdir = Path(tempfile.mkdtemp(prefix="scaleout-"))
    with throwaway_database(DATABASE_URL) as database_url, servers_redis(REDIS_URL) as redis_url:
        env = base_env(database_url, redis_url, workdir)
        manage({**env, "CONNEX_SANDBOX": "true"}, "migrate", "--no-input", "-v", "0")
        manage({**env, "CONNEX_SANDBOX": "true"}, "seed_demo", "--products", "60", "--orders", "80")
        running = Deployment(workdir, env)
        proxy = None
        try:
            sandbox_port = free_port()
            running.gunicorn(
                "sandbox",
                "connexportal.sandbox.wsgi:application",
                sandbox_port,
                "--workers",
                "2",
                "--threads",
                "8",
                env={**env, "CONNEX_SANDBOX_LATENCY_MS": "20", "LOG_LEVEL": "WARNING"},
            )
            proxy = RecordingProxy(f"http://127.0.0.1:{sandbox_port}")
            portal_env = {
                **env,
                "CONNEX_SANDBOX": "false",
                "CONNEX_SANDBOX_URL": proxy.url,
                "CONNEX_RATE_LIMIT": str(RATE),
                "CONNEX_MAX_THROTTLE_WAIT": str(MAX_WAIT),
            }
            running.env = portal_env
            ports = [free_port(), free_port()]
            for index, port in enumerate(ports):
                running.gunicorn(f"portal-{index}", "connexportal.wsgi:application", port, *WEB_ARGS)
            for index in range(2):
                running.start(
                    f"db_worker-{index}",
                    [PYTHON, "manage.py", "db_worker", "--interval", "0.2", "--worker-id", f"worker-{index}"],
                )
            yield running, proxy, [f"http://127.0.0.1:{port}" for port in ports], database_url
        finally:
            running.stop()
            if proxy is not None:
                proxy.close()
            shutil.rmtree(workdir, ignore_errors=True)


def logged_in(base_urls: list[str]) -> list[httpx.Client]:
    """A client per portal, sharing one merchant session (logged in through the first portal)."""
    first = httpx.Client(base_url=base_urls[0], timeout=30)
    page = first.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    email, password = DEMO_MERCHANT
    answer = first.post("/login/", data={"username": email, "password": password, "csrfmiddlewaretoken": token})
    assert answer.status_code == 302, answer.status_code
    clients = [first]
    for url in base_urls[1:]:
        clients.append(httpx.Client(base_url=url, timeout=30, cookies=first.cookies))
    return clients


def at_once(count: int, request: Callable[[int], httpx.Response]) -> list[tuple[httpx.Response, float]]:
    """``count`` requests released together; each answer with its seconds."""
    answers: list = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(timeout=10)
        began = time.monotonic()
        answer = request(index)
        answers[index] = (answer, time.monotonic() - began)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert None not in answers
    return answers


def test_two_portals_share_one_login_one_throttle_one_run_now_and_one_launch(deployment):
    running, proxy, base_urls, database_url = deployment
    clients = logged_in(base_urls)
    login_path = routes.LOGIN.path.lower()

    # Cold: 40 concurrent pages across both portals, no token anywhere yet.
    began = time.monotonic()
    cold = at_once(40, lambda index: clients[index % 2].get("/connections/"))
    cold_seconds = time.monotonic() - began
    assert len(proxy.calls(login_path)) == 1
    assert {answer.status_code for answer, _ in cold} <= {200, 503}
    assert any(answer.status_code == 200 for answer, _ in cold)
    assert all("is busy" in answer.text for answer, _ in cold if answer.status_code == 503)
    # No page hangs on the throttle (the slack is this 2-CPU machine queueing 40 pages in 10 processes).
    assert max(seconds for _, seconds in cold) < MAX_WAIT + 10
    # All of them together: the burst, then the rate (the limiter's wait bound caps the rest).
    assert len(proxy.arrivals) <= BURST + RATE * cold_seconds + 1

    time.sleep(MAX_WAIT + 1)  # the throttle's queue drains
    # Warm: 80 connections pages among 80 products pages that each ask another question. The
    # connections pages of one worker in flight together share one call (connex/flights.py); the
    # products pages cannot, and fill the account's throttle beyond MAX_WAIT, so some connections
    # pages are throttled and show the last known list.
    before = len(proxy.calls(routes.LIST_CONNECTIONS.path.lower()))

    def warm_page(index: int) -> httpx.Response:
        path = "/connections/" if index % 2 == 0 else f"/products/?page={index}"
        return clients[(index // 2) % 2].get(path)

    warm = at_once(160, warm_page)[::2]
    assert [answer.status_code for answer, _ in warm] == [200] * 80
    stale = [answer for answer, _ in warm if "last told us" in answer.text]
    assert stale, "some pages should have been throttled and shown the last known list"
    assert all("is busy" in answer.text for answer in stale)
    assert len(proxy.calls(routes.LIST_CONNECTIONS.path.lower())) - before < 80 - len(stale)

    time.sleep(MAX_WAIT + 1)
    from connexportal.sandbox.models import ORDERS_TASK

    # A connection whose orders task Connex can run (a failed Run now lifts the cooldown, by design).
    [(connection_id,)] = query(
        database_url,
        "SELECT c.id FROM sandbox_userconnection c JOIN sandbox_connexuser u ON u.id = c.user_id "
        "JOIN sandbox_scheduledtask t ON t.connection_id = c.id "
        "WHERE u.username = %s AND NOT c.deleted AND t.task_type = %s ORDER BY c.id LIMIT 1",
        "qbotest@intuit.com",
        ORDERS_TASK,
    )
    csrf = clients[0].cookies["csrftoken"]
    run_now = at_once(
        10,
        lambda index: clients[index % 2].post(f"/connections/{connection_id}/run-now/", headers={"X-CSRFToken": csrf}),
    )
    assert all(answer.status_code < 500 for answer, _ in run_now)
    assert len(proxy.calls(routes.RUN_NOW.path.lower())) == 1

    launch = manage(
        running.env,
        "shell",
        "-c",
        "from connexportal.accounts.models import User; from connexportal.embed.services import launch_create; "
        "merchant = User.objects.get(email='merchant@demo.test').merchant; "
        "print(launch_create(partner=merchant.partner, merchant=merchant)[0])",
    ).split()[-1]
    opened = at_once(10, lambda index: httpx.get(base_urls[index % 2] + launch, timeout=30))
    assert sorted(answer.status_code for answer, _ in opened)[0] == 302
    assert [answer.status_code for answer, _ in opened].count(302) == 1
    assert all(400 <= answer.status_code < 500 for answer, _ in opened if answer.status_code != 302)

    assert len(proxy.calls(login_path)) == 1
    assert proxy.busiest_second() <= RATE + BURST
    for client in clients:
        client.close()


IMPORT_SCRIPT = """
from connexportal.accounts.models import User
from connexportal.activity.services import Actor
from connexportal.imports.models import ImportSource, ImportStatus, OrderImport, OrderImportRow, RowFate
from connexportal.imports.orders import check_orders
from connexportal.imports.services import refresh_counts
from connexportal.imports.tasks import run_order_import
from connexportal.sandbox.models import UserConnection

merchant = User.objects.get(email="merchant@demo.test").merchant
connection = UserConnection.objects.filter(user__username="qbotest@intuit.com", deleted=False).order_by("id").first()
actor = Actor.system()
for number in range({imports}):
    rows = [
        {{
            "OrderNumber": f"SCALE-{{number}}-{{index:04d}}",
            "OrderDate": "2026-02-03T10:00:00Z",
            "CustomerName": f"Customer {{index}}",
            "OrderTotal": "24.50",
            "TotalTax": "1.50",
            "OrderDetails": [{{"Sku": "SKU-1", "Quantity": 2, "PriceExclTax": "11.50"}}],
        }}
        for index in range({orders})
    ]
    checked = check_orders(rows, connection_id=connection.id)
    assert len(checked.valid) == len(rows), checked.invalid[:1]
    order_import = OrderImport.objects.create(
        merchant=merchant, connection_id=connection.id, source=ImportSource.CSV, status=ImportStatus.QUEUED,
        started_by_kind=actor.kind, started_by_label=actor.label, channel=actor.channel, total=len(rows),
    )
    OrderImportRow.objects.bulk_create(
        OrderImportRow(
            order_import=order_import, row_number=order.row, order_number=order.order_number,
            payload=order.payload, fate=RowFate.PENDING,
        )
        for order in checked.valid
    )
    refresh_counts(order_import)
    for _ in range({enqueued}):
        run_order_import.enqueue(import_id=str(order_import.pk))
"""


def test_two_task_workers_share_the_queue_and_create_every_order_once(deployment):
    running, _, _, database_url = deployment
    manage(
        running.env,
        "shell",
        "-c",
        IMPORT_SCRIPT.format(imports=IMPORTS, orders=ORDERS_EACH, enqueued=ENQUEUED_EACH),
    )

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        statuses = [status for (status,) in query(database_url, "SELECT status FROM imports_orderimport")]
        if statuses and all(status in ("finished", "failed", "cancelled") for status in statuses):
            break
        time.sleep(0.5)
    assert statuses == ["finished"] * IMPORTS, statuses

    orders = query(
        database_url,
        "SELECT lower(order_number), count(*) FROM sandbox_order WHERE order_number LIKE 'SCALE-%%' "
        "GROUP BY lower(order_number)",
    )
    assert len(orders) == IMPORTS * ORDERS_EACH
    assert {count for _, count in orders} == {1}
    fates = query(database_url, "SELECT fate, count(*) FROM imports_orderimportrow GROUP BY fate")
    assert fates == [("created", IMPORTS * ORDERS_EACH)]
    runs = query(
        database_url,
        "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE '%%run_order_import'",
    )
    assert all(status == "SUCCESSFUL" and len(workers) == 1 for status, workers in runs), runs
    assert {workers[0] for _, workers in runs} == {"worker-0", "worker-1"}
