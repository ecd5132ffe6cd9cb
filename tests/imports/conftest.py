"""Order import tests run the job against the in-process sandbox (tests/portal/conftest.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.portal.conftest import DEMO_ACCOUNT, merchant_client, other_client, sandbox, sandbox_connections  # noqa: F401

IMPORT_DAY = dt.date(2026, 2, 3)


@pytest.fixture
def connection_id(sandbox):  # noqa: F811
    return sandbox_connections(DEMO_ACCOUNT)[0].id


@pytest.fixture
def no_settle(monkeypatch):
    from connexportal.imports import tasks

    monkeypatch.setattr(tasks, "SETTLE", dt.timedelta(0))
    monkeypatch.setattr(tasks, "CREATE_ORDERS_OPTIONS", {"settle_seconds": 0, "lookup_interval": 0})


def order_rows(count: int, *, prefix: str = "IMP", day: dt.date = IMPORT_DAY) -> list[dict[str, str]]:
    return [
        {
            "OrderNumber": f"{prefix}-{index:05d}",
            "OrderDate": f"{day.isoformat()}T10:00:00Z",
            "CustomerName": f"Customer {index}",
            "OrderTotal": "24.50",
            "TotalTax": "1.50",
            "OrderDetails.Sku": "SKU-1",
            "OrderDetails.Quantity": "2",
            "OrderDetails.PriceExclTax": "11.50",
        }
        for index in range(1, count + 1)
    ]


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def sandbox_orders(prefix: str = "IMP"):
    from connexportal.sandbox.models import Order

    return Order.objects.filter(order_number__startswith=prefix)


def run_to_end(import_id, *, limit: int = 50) -> list[str]:
    """Run the job's slices (as the worker would) until the import has ended; what each returned."""
    from connexportal.imports.models import OrderImport
    from connexportal.imports.tasks import run_order_import

    outcomes = []
    for _ in range(limit):
        outcomes.append(run_order_import.call(import_id=str(import_id)))
        if OrderImport.objects.get(pk=import_id).has_ended:
            return outcomes
    raise AssertionError(f"the import did not end: {outcomes}")


def createorders_calls(sandbox) -> int:  # noqa: F811
    return sum(1 for method, path in sandbox.calls if path.endswith("createorders"))
