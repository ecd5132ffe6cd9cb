import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from connexportal.connex import routes
from connexportal.sandbox import channel, runs
from connexportal.sandbox.models import ConnectionSetting, Order, OrderLine, ScheduledTask, TaskRun

from .conftest import T0, make_connection, make_product, make_task, make_user

RUN_NOW = routes.RUN_NOW.path
WINDOW_START = datetime(2024, 8, 27, tzinfo=UTC)
WINDOW_END = datetime(2024, 8, 27, 23, 59, 59, tzinfo=UTC)


@pytest.fixture(autouse=True)
def durations(settings):
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 1
    settings.CONNEX_SANDBOX_RUN_RUNNING_SECONDS = 2


@pytest.fixture
def orders_task(merchant):
    return make_task(merchant[1])


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def setting(connection, name: str) -> str:
    return ConnectionSetting.objects.get(connection=connection, name=name).value


def reload(*rows):
    for row in rows:
        row.refresh_from_db()


def expected_orders(connection, start=WINDOW_START, end=WINDOW_END):
    return channel.orders_between(
        connection_id=connection.pk,
        connection_type=connection.connection_type,
        store=connection.name,
        start=start,
        end=end,
    )


def test_a_run_moves_queued_running_completed_from_its_own_timestamps(merchant, orders_task):
    _, connection = merchant
    run = runs.queue_run(orders_task, now=T0)
    reload(orders_task)
    assert (run.status, orders_task.status) == ("Queued", "Queued")

    runs.advance(now=at(0.999))
    reload(run)
    assert run.status == "Queued" and run.started_utc is None

    runs.advance(now=at(1))
    reload(run, orders_task)
    assert (run.status, run.started_utc, orders_task.status) == ("Running", at(1), "Running")
    assert orders_task.last_run_utc == at(1)

    runs.advance(now=at(2.999))
    reload(run)
    assert run.status == "Running" and not Order.objects.exists()

    runs.advance(now=at(60))
    reload(run, orders_task)
    expected = expected_orders(connection)
    assert len(expected) >= 5
    assert run.status == "Completed" and orders_task.status == "Completed"
    assert run.finished_utc == at(3)
    assert (run.orders_downloaded, run.orders_skipped) == (len(expected), 0)
    assert run.message == f"Downloaded {len(expected)} orders, skipped 0 duplicates"
    stored = Order.objects.filter(connection=connection)
    assert sorted(stored.values_list("order_number", flat=True)) == sorted(o.number for o in expected)
    assert all(WINDOW_START <= order.order_date <= WINDOW_END for order in stored)
    assert all(order.created_at == at(3) for order in stored)
    assert OrderLine.objects.filter(order__connection=connection).count() == sum(len(o.lines) for o in expected)


def test_completion_moves_the_timers_like_connex(merchant, orders_task):
    _, connection = merchant
    ScheduledTask.objects.filter(pk=orders_task.pk).update(next_run_utc=datetime(2024, 8, 20, 5, 45, tzinfo=UTC))
    orders_task.refresh_from_db()
    runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    orders_task.refresh_from_db()
    # "an hour ago" .. "tomorrow", from the finish at 09:00:03 UTC.
    assert setting(connection, "LastDownloadUtc") == "2024-08-28T08:00:03"
    assert setting(connection, "LastDownloadUtcEnd") == "2024-08-29T09:00:03"
    # next run += interval, as often as needed to pass the run, keeping 05:45.
    assert orders_task.next_run_utc == datetime(2024, 8, 29, 5, 45, tzinfo=UTC)
    assert setting(connection, "SolutionPassword") == "refresh-token"


def test_advance_is_idempotent_and_never_goes_back(merchant, orders_task):
    run = runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    runs.advance(now=at(10))
    runs.advance(now=at(0))
    reload(run)
    assert run.status == "Completed" and run.finished_utc == at(3)
    assert Order.objects.count() == run.orders_downloaded


def test_downloading_the_same_window_again_skips_every_order(merchant, orders_task):
    _, connection = merchant
    first = runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    ConnectionSetting.objects.filter(connection=connection, name="LastDownloadUtc").update(value="2024-08-27T00:00:00")
    ConnectionSetting.objects.filter(connection=connection, name="LastDownloadUtcEnd").update(
        value="2024-08-27T23:59:59"
    )
    second = runs.queue_run(orders_task, now=at(20))
    runs.advance(now=at(30))
    reload(first, second)
    assert (second.orders_downloaded, second.orders_skipped) == (0, first.orders_downloaded)
    assert second.message == f"Downloaded 0 orders, skipped {first.orders_downloaded} duplicates"
    assert Order.objects.count() == first.orders_downloaded


def test_the_channel_is_a_pure_function_of_connection_and_time(merchant):
    _, connection = merchant
    whole = expected_orders(connection)
    assert [o.number for o in whole] == [o.number for o in expected_orders(connection)]
    noon = datetime(2024, 8, 27, 12, tzinfo=UTC)
    halves = expected_orders(connection, end=noon - timedelta(microseconds=1)) + expected_orders(connection, start=noon)
    assert [o.number for o in halves] == [o.number for o in whole]
    assert expected_orders(connection, start=WINDOW_END, end=WINDOW_START) == []


def test_known_skus_are_marked_on_downloaded_lines(merchant, orders_task):
    _, connection = merchant
    expected = expected_orders(connection)
    known_sku = expected[0].lines[0].sku
    make_product(connection, sku=known_sku)
    runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    lines = OrderLine.objects.filter(order__connection=connection)
    assert lines.filter(sku=known_sku).exists() and all(line.has_known_sku for line in lines.filter(sku=known_sku))
    assert not any(line.has_known_sku for line in lines.exclude(sku=known_sku))


def test_summary_grouping_writes_one_summary_per_day_listing_its_orders(merchant, orders_task):
    _, connection = merchant
    ConnectionSetting.objects.filter(connection=connection, name="SummaryTransactionGroupBy").update(value="1")
    run = runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    reload(run)
    expected = expected_orders(connection)
    summary = Order.objects.get(connection=connection)
    assert summary.order_number == "SUM-SHP-20240827"
    assert summary.customer_name == "Summary: Shopify Store, 2024-08-27"
    assert summary.order_date == WINDOW_START
    covered = {number for line in summary.lines.all() for number in line.order_numbers_for_item_summary}
    assert covered == {o.number for o in expected}
    assert sum(line.quantity for line in summary.lines.all()) == sum(
        line.quantity for o in expected for line in o.lines
    )
    assert run.orders_downloaded == len(expected)
    assert (
        run.message == f"Downloaded {len(expected)} orders as 1 summaries (summary by store name), skipped 0 duplicates"
    )


def test_monthly_summaries_are_dated_on_the_first(merchant, orders_task):
    _, connection = merchant
    ConnectionSetting.objects.filter(connection=connection, name="SummaryTransactionGroupBy").update(value="4")
    runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    summary = Order.objects.get(connection=connection)
    assert (summary.order_number, summary.order_date) == ("SUM-SHP-202408", datetime(2024, 8, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"SolutionUserName": "", "SolutionPassword": ""},
            "Could not connect to Shopify: the connection is not paired "
            "(SolutionUserName and SolutionPassword are empty).",
        ),
        ({"LastDownloadUtc": "2024-06-01T00:00:00"}, "is longer than 31 days"),
        ({"LastDownloadUtcEnd": ""}, "LastDownloadUtcEnd is not set; set the window with Settings/Update first."),
    ],
)
def test_a_run_that_cannot_download_fails_and_keeps_its_window(merchant, orders_task, changes, message):
    _, connection = merchant
    for name, value in changes.items():
        ConnectionSetting.objects.filter(connection=connection, name=name).update(value=value)
    run = runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    reload(run, orders_task)
    assert (run.status, orders_task.status) == ("Failed", "Failed")
    assert message in run.message
    assert run.finished_utc == at(3)
    assert setting(connection, "LastDownloadUtc") == changes.get("LastDownloadUtc", "2024-08-27T00:00:00")
    assert not Order.objects.exists()
    # A failed run does not block the next one.
    assert runs.queue_run(orders_task, now=at(20)).status == "Queued"


def test_an_unexpected_error_fails_the_run_instead_of_every_later_request(merchant, orders_task, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(runs, "_download_orders", broken)
    run = runs.queue_run(orders_task, now=T0)
    runs.advance(now=at(10))
    reload(run, orders_task)
    assert (run.status, orders_task.status) == ("Failed", "Failed")
    assert run.message == "The sandbox could not complete this run (an internal error; see its log)."
    assert "simulated bug" in caplog.text
    assert not Order.objects.exists()


def test_a_custom_integration_has_nothing_to_download(merchant):
    user, _ = merchant
    custom = make_connection(user, name="Custom", connection_type=99)
    task = make_task(custom, interval=3600)
    run = runs.queue_run(task, now=T0)
    runs.advance(now=at(10))
    reload(run)
    assert run.status == "Completed"
    assert run.message == "Nothing to download: Custom integration orders arrive through api/orders/createorders."
    assert setting(custom, "LastDownloadUtc") == "2024-08-28T08:00:03"


# --- over HTTP -------------------------------------------------------------------------


def test_run_now_answers_202_with_the_queued_run(api, merchant, merchant_token, orders_task):
    _, connection = merchant
    response = api.post(RUN_NOW, {"userConnectionId": connection.pk}, token=merchant_token)
    assert response.status_code == 202
    body = response.json()
    assert list(body) == list(routes.RUN_NOW_RESPONSE_EXAMPLE)
    run = TaskRun.objects.get()
    assert body == {
        "userConnectionId": connection.pk,
        "scheduledTaskId": orders_task.pk,
        "runId": run.pk,
        "status": "Queued",
        "queuedUtc": body["queuedUtc"],
    }
    assert abs(datetime.fromisoformat(body["queuedUtc"]).replace(tzinfo=UTC) - timezone.now()) < timedelta(seconds=5)


def test_run_now_twice_is_409_until_the_run_has_finished(api, merchant, merchant_token, orders_task):
    _, connection = merchant
    assert api.post(RUN_NOW, {"userConnectionId": connection.pk}, token=merchant_token).status_code == 202
    again = api.post(
        RUN_NOW, {"userConnectionId": connection.pk, "scheduledTaskId": orders_task.pk}, token=merchant_token
    )
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json; charset=utf-8"
    assert "already has run" in again.json()["detail"] and "queued" in again.json()["detail"]
    listed = api.get(routes.LIST_CONNECTIONS.path, token=merchant_token).json()[0]["scheduledTasks"][0]
    assert listed["status"] == "Queued" and listed["runLogs"][0]["status"] == "Queued"

    runs.advance(now=timezone.now() + timedelta(seconds=10))
    listed = api.get(routes.LIST_CONNECTIONS.path, token=merchant_token).json()[0]["scheduledTasks"][0]
    assert listed["status"] == "Completed"
    assert listed["runLogs"][0]["ordersDownloaded"] == Order.objects.count() > 0
    assert api.post(RUN_NOW, {"userConnectionId": connection.pk}, token=merchant_token).status_code == 202


def test_run_now_does_not_block_and_later_requests_move_the_run(api, merchant, merchant_token, orders_task, settings):
    _, connection = merchant
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 0.2
    settings.CONNEX_SANDBOX_RUN_RUNNING_SECONDS = 0.2
    started = time.monotonic()
    response = api.post(RUN_NOW, {"userConnectionId": connection.pk}, token=merchant_token)
    assert response.status_code == 202 and time.monotonic() - started < 0.2
    assert not Order.objects.exists()
    time.sleep(0.45)
    task = api.get(routes.LIST_CONNECTIONS.path, token=merchant_token).json()[0]["scheduledTasks"][0]
    assert task["status"] == "Completed"
    assert task["runLogs"][0]["finishedUtc"] is not None and Order.objects.exists()


def test_run_now_runs_a_named_task(api, merchant, merchant_token, orders_task):
    _, connection = merchant
    inventory = make_task(connection, task_type=1, interval=900)
    ConnectionSetting.objects.create(connection=connection, name="LastProductDownloadUtc", value="2024-08-27T00:00:00")
    response = api.post(
        RUN_NOW, {"userConnectionId": connection.pk, "scheduledTaskId": inventory.pk}, token=merchant_token
    )
    assert response.json()["scheduledTaskId"] == inventory.pk
    runs.advance(now=timezone.now() + timedelta(seconds=10))
    run = TaskRun.objects.get(task=inventory)
    assert run.status == "Completed" and run.message == "Synced inventory of 0 products with Shopify"
    assert setting(connection, "LastProductDownloadUtc") != "2024-08-27T00:00:00"
    assert setting(connection, "LastDownloadUtc") == "2024-08-27T00:00:00"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"scheduledTaskId": 999999}, 404, "Scheduled task 999999 was not found"),
        ({}, 404, "has no Orders task"),
    ],
)
def test_run_now_without_such_a_task_is_404(api, merchant, merchant_token, body, status, needle):
    _, connection = merchant
    make_task(connection, task_type=1, interval=900)
    response = api.post(RUN_NOW, {"userConnectionId": connection.pk, **body}, token=merchant_token)
    assert response.status_code == status
    assert needle in response.json()["detail"]


def test_run_now_refuses_another_users_connection(api, merchant_token):
    theirs = make_connection(make_user())
    make_task(theirs)
    response = api.post(RUN_NOW, {"userConnectionId": theirs.pk}, token=merchant_token)
    assert response.status_code == 400
    assert not TaskRun.objects.exists()
    assert api.post(RUN_NOW, {}, token=merchant_token).json()["errors"] == {
        "UserConnectionId": ["The UserConnectionId field is required."]
    }
