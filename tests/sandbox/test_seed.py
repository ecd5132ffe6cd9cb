import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from connexportal.connex import routes
from connexportal.sandbox import runs
from connexportal.sandbox.models import (
    ConnectionSetting,
    ConnexUser,
    Order,
    OrderLine,
    Product,
    ScheduledTask,
    TaskRun,
    UserConnection,
)
from connexportal.sandbox.seed import seed

TODAY = date(2024, 9, 6)
ANCHOR = datetime(2024, 9, 6, tzinfo=UTC)


# What the seed writes, by natural key (ids differ between databases).
SNAPSHOT = {
    ConnexUser: ("username", "reporting_user_id", "read_only", "date_created"),
    UserConnection: ("user__username", "name", "connection_type", "solution_website", "date_created"),
    ConnectionSetting: ("connection__user__username", "connection__name", "name", "value"),
    ScheduledTask: (
        "connection__user__username",
        "connection__name",
        "task_type",
        "interval_seconds",
        "status",
        "last_run_utc",
        "next_run_utc",
    ),
    TaskRun: (
        "task__connection__user__username",
        "task__connection__name",
        "task__task_type",
        "status",
        "queued_utc",
        "finished_utc",
        "orders_downloaded",
        "message",
    ),
    Product: (
        "user__username",
        "connection__name",
        "sku",
        "name",
        "sales_price",
        "unit_cost",
        "quantity_on_hand",
        "is_manual",
        "has_unknown_sku",
        "product_type",
        "created_at",
        "updated_at",
    ),
    Order: (
        "user__username",
        "connection__name",
        "order_number",
        "order_date",
        "customer_name",
        "order_total",
        "total_tax",
        "order_type",
    ),
    OrderLine: (
        "order__connection__name",
        "order__order_number",
        "position",
        "sku",
        "quantity",
        "price_excl_tax",
        "has_known_sku",
    ),
}


def snapshot() -> dict[str, list]:
    return {model.__name__: sorted(model.objects.values_list(*fields)) for model, fields in SNAPSHOT.items()}


def test_the_command_seeds_both_documented_accounts(capsys):
    call_command("seed_sandbox", "--products", "40", "--orders", "30", "--today", "2024-09-06")
    out = capsys.readouterr().out
    assert "qbotest@intuit.com / connex-demo (read-only: cannot add products)" in out
    assert "other@connex.test / connex-other" in out
    assert "added 2 users, 7 connections" in out and "44 products, 33 orders" in out

    demo = ConnexUser.objects.get(username="qbotest@intuit.com")
    assert demo.read_only and demo.check_password("connex-demo")
    assert demo.reporting_user_id == uuid.UUID("f444a9f4-1fc4-42cd-9361-25c36f4ff418")
    assert list(demo.connections.order_by("id").values_list("name", "connection_type")) == [
        ("QuickBooks Online", 4),
        ("Amazon US", 1),
        ("Shopify Store", 2),
        ("eBay", 3),
    ]
    assert [c.products.count() for c in demo.connections.order_by("id")] == [16, 12, 8, 4]
    assert [c.orders.count() for c in demo.connections.order_by("id")] == [0, 15, 12, 3]

    other = ConnexUser.objects.get(username="other@connex.test")
    assert not other.read_only and other.check_password("connex-other")
    assert other.connections.count() == 3
    assert (other.products.count(), other.orders.count()) == (4, 3)


def test_seeding_twice_adds_nothing_and_changes_nothing():
    first_report = seed(products=40, orders=30, today=TODAY)
    first = snapshot()
    again = seed(products=40, orders=30, today=TODAY)
    assert again.products == again.orders == again.runs == again.settings == again.connections == again.users == 0
    assert first_report.products == 44
    assert snapshot() == first


def test_seeding_is_deterministic_across_databases():
    seed(products=40, orders=30, today=TODAY)
    first = snapshot()
    ConnexUser.objects.all().delete()
    assert not Product.objects.exists()
    seed(products=40, orders=30, today=TODAY)
    assert snapshot() == first


def test_a_reseed_keeps_what_api_users_changed_but_restores_the_demo_logins():
    seed(products=10, orders=10, today=TODAY)
    amazon = UserConnection.objects.get(name="Amazon US")
    ConnectionSetting.objects.filter(connection=amazon, name="LastDownloadUtc").update(value="2024-09-01T00:00:00")
    demo = ConnexUser.objects.get(username="qbotest@intuit.com")
    demo.set_password("changed")
    demo.read_only = False
    demo.save()
    seed(products=10, orders=10, today=TODAY)
    assert ConnectionSetting.objects.get(connection=amazon, name="LastDownloadUtc").value == "2024-09-01T00:00:00"
    demo.refresh_from_db()
    assert demo.check_password("connex-demo") and demo.read_only


def test_the_data_looks_like_a_real_merchants():
    seed(products=400, orders=200, today=TODAY)
    products = Product.objects.filter(user__username="qbotest@intuit.com")
    assert products.filter(has_unknown_sku=True).count() > 5
    assert products.filter(is_manual=True).count() > 5
    assert set(products.values_list("product_type", flat=True)) == {0, 1, 2}
    assert products.values("sales_price").distinct().count() > 100
    assert products.filter(connection__name="Amazon US").exclude(asin="").count() == 120
    orders = Order.objects.all()
    assert not orders.filter(order_date__gte=ANCHOR).exists()
    assert not orders.filter(order_date__lt=ANCHOR - timedelta(days=90)).exists()
    assert orders.filter(order_date__gte=ANCHOR - timedelta(days=10)).exists()
    assert OrderLine.objects.filter(has_known_sku=True).exists()
    assert orders.filter(order_type=1).exists() and orders.filter(order_type=0).count() > 150


def test_tasks_have_a_run_history_and_connex_like_settings():
    seed(products=20, orders=20, today=TODAY)
    amazon_orders = ScheduledTask.objects.get(connection__name="Amazon US", task_type=0)
    history = list(amazon_orders.runs.order_by("queued_utc"))
    assert len(history) == 5 and all(run.status == "Completed" and run.trigger == "Schedule" for run in history)
    assert history[-1].queued_utc == datetime(2024, 9, 5, 5, 45, tzinfo=UTC)
    assert amazon_orders.last_run_utc == history[-1].started_utc
    assert amazon_orders.next_run_utc == datetime(2024, 9, 6, 5, 45, tzinfo=UTC)
    ebay_runs = TaskRun.objects.filter(task__connection__name="eBay")
    assert ebay_runs.count() == 5 and all(run.status == "Failed" for run in ebay_runs)
    amazon = UserConnection.objects.get(name="Amazon US")
    values = dict(amazon.settings.values_list("name", "value"))
    assert values["SummaryTransactionGroupBy"] == "1"
    assert (values["LastDownloadUtc"], values["LastDownloadUtcEnd"]) == ("2024-09-05T00:00:00", "2024-09-05T23:59:59")
    assert values["SolutionPassword"].startswith("sandbox-refresh-")
    assert {"Stores", "OrderStatuses"} <= set(values)
    assert UserConnection.objects.get(name="eBay").settings.get(name="SolutionPassword").value == ""


def test_a_seeded_account_works_end_to_end(api):
    seed(products=20, orders=20, today=TODAY)
    token = api.login("qbotest@intuit.com", "connex-demo")
    connections = api.get(routes.LIST_CONNECTIONS.path, token=token).json()
    assert [c["userConnectionName"] for c in connections] == ["QuickBooks Online", "Amazon US", "Shopify Store", "eBay"]
    amazon = connections[1]
    body = {"userConnectionId": amazon["id"], "reportingUserId": amazon["reportingUserId"], "name": "x", "sku": "x"}
    assert api.post(routes.ADD_PRODUCT.path, body, token=token).status_code == 403
    assert api.post(routes.RUN_NOW.path, {"userConnectionId": amazon["id"]}, token=token).status_code == 202
    runs.advance(now=datetime.now(UTC) + timedelta(seconds=10))
    run = TaskRun.objects.filter(task__connection_id=amazon["id"]).latest("id")
    assert run.status == "Completed" and "summaries (summary by store name)" in run.message
    other = api.login("other@connex.test", "connex-other")
    assert len(api.get(routes.LIST_CONNECTIONS.path, token=other).json()) == 3


def test_the_command_refuses_negative_counts():
    with pytest.raises(CommandError):
        call_command("seed_sandbox", "--products", "-1")
