"""Fixtures for the sandbox tests: a JSON client for /sandbox/, accounts, connections, products, orders."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

# This conftest is imported before Django is set up when pytest is pointed at this folder,
# so the sandbox's models are imported inside the helpers.

PASSWORD = "sandbox-test-password"
T0 = datetime(2024, 8, 28, 9, 0, tzinfo=UTC)
_sequence = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_hashing_and_no_faults(settings, db):
    from connexportal.sandbox import faults

    # Login checks a password on every call; the real hasher would make the suite slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    faults.clear()
    yield
    faults.clear()


class Api:
    """The sandbox as a JSON API under /sandbox/, through Django's test client (no CSRF token, like any API client)."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def post(self, path: str, body=None, *, token: str | None = None, raw: str | bytes | None = None, **extra):
        data = raw if raw is not None else json.dumps(body, default=str)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        content_type = extra.pop("content_type", "application/json")
        return self.client.post(f"/sandbox/{path}", data, content_type=content_type, **headers, **extra)

    def get(self, path: str, *, token: str | None = None, **extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return self.client.get(f"/sandbox/{path}", **headers, **extra)

    def login(self, username: str, password: str = PASSWORD) -> str:
        response = self.post("api/account/login", {"username": username, "password": password})
        assert response.status_code == 200, response.content
        return response.json()["token"]


@pytest.fixture
def api() -> Api:
    return Api()


def make_user(username: str | None = None, *, read_only: bool = False, password: str = PASSWORD):
    from connexportal.sandbox.models import ConnexUser

    user = ConnexUser(username=username or f"user{next(_sequence)}@example.test", read_only=read_only)
    user.set_password(password)
    user.save()
    return user


def make_connection(user, name: str = "Shopify Store", connection_type: int = 2, **settings_values):
    from connexportal.sandbox.models import ConnectionSetting, UserConnection

    connection = UserConnection.objects.create(
        user=user,
        name=name,
        connection_type=connection_type,
        solution_website="https://admin.shopify.com",
        date_created=T0 - timedelta(days=30),
        date_modified=T0 - timedelta(days=30),
    )
    values = {
        "SolutionUserName": "paired-user",
        "SolutionPassword": "refresh-token",
        "LastDownloadUtc": "2024-08-27T00:00:00",
        "LastDownloadUtcEnd": "2024-08-27T23:59:59",
        "SummaryTransactionGroupBy": "0",
        **settings_values,
    }
    for setting_name, value in values.items():
        ConnectionSetting.objects.create(connection=connection, name=setting_name, value=value)
    return connection


def make_task(connection, task_type: int = 0, interval: int = 86400, **fields):
    from connexportal.sandbox.models import ScheduledTask

    return ScheduledTask.objects.create(
        connection=connection,
        task_type=task_type,
        interval_seconds=interval,
        next_run_utc=fields.pop("next_run_utc", datetime(2024, 8, 29, 5, 45, tzinfo=UTC)),
        **fields,
    )


def make_product(connection, sku: str, name: str = "Widget", **fields):
    from connexportal.sandbox.models import Product

    fields.setdefault("created_at", T0)
    fields.setdefault("updated_at", T0)
    return Product.objects.create(user=connection.user, connection=connection, sku=sku, name=name, **fields)


def make_order(connection, number: str, when: datetime, customer: str = "Joe Example", **fields):
    from connexportal.sandbox.models import Order, OrderLine

    order = Order.objects.create(
        user=connection.user,
        connection=connection,
        order_number=number,
        order_date=when,
        customer_name=customer,
        channel_name=connection.channel_name,
        order_total=fields.pop("total", Decimal("10.00")),
        total_tax=Decimal("0.80"),
        **fields,
    )
    OrderLine.objects.create(
        order=order, position=0, name="My Product", sku="Product123", quantity=2, price_excl_tax=2, price_incl_tax=3
    )
    return order


@pytest.fixture
def merchant():
    """A user who may add products, with one Shopify connection."""
    user = make_user("merchant@example.test")
    return user, make_connection(user)


@pytest.fixture
def merchant_token(api, merchant) -> str:
    return api.login("merchant@example.test")
