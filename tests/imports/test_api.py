"""Partner API: POST /api/v1/merchants/{external_id}/order-imports and GET /api/v1/order-imports/{id}."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_KEY
from connexportal.imports.models import OrderImport
from tests.embed.api_helpers import partner_with_key
from tests.imports.conftest import order_rows, run_to_end, sandbox_orders
from tests.portal.conftest import OTHER_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db

URL = "/api/v1/merchants/demo-merchant-1/order-imports"


def api_orders(count: int, prefix: str = "API") -> list[dict]:
    return [
        {
            "orderNumber": row["OrderNumber"],
            "ORDERDATE": row["OrderDate"],
            "customer_name": row["CustomerName"],
            "OrderTotal": 24.5,
            "TotalTax": 1.5,
            "orderDetails": [{"sku": "SKU-1", "quantity": 2}],
        }
        for row in order_rows(count, prefix=prefix)
    ]


def post(body, *, key=DEMO_PARTNER_KEY, **headers):
    return Client().post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


def get(url, *, key=DEMO_PARTNER_KEY):
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_an_import_is_accepted_then_followed_to_the_end(sandbox, connection_id, no_settle):
    response = post({"connection_id": connection_id, "orders": api_orders(120)})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"http://testserver/api/v1/order-imports/{body['id']}"
    assert response["Location"] == body["status_url"]
    status = get(body["status_url"]).json()
    assert (status["status"], status["total"], status["remaining"], status["created"]) == ("queued", 120, 120, 0)

    run_to_end(body["id"])
    status = get(body["status_url"]).json()
    assert {key: status[key] for key in ("status", "total", "created", "already_existed", "failed", "remaining")} == {
        "status": "finished",
        "total": 120,
        "created": 120,
        "already_existed": 0,
        "failed": 0,
        "remaining": 0,
    }
    assert status["failures"] == []
    assert sandbox_orders("API").count() == 120
    assert OrderImport.objects.get().source == "api"


def test_failures_are_paged(sandbox, connection_id, no_settle):
    from connexportal.imports.models import OrderImportRow

    body = post({"connection_id": connection_id, "orders": api_orders(5)}).json()
    OrderImportRow.objects.filter(row_number__in=[2, 4]).update(fate="failed", reason="refused")
    run_to_end(body["id"])
    page = get(body["status_url"] + "?page=2&page_size=1").json()
    assert page["failures"] == [{"row": 4, "order_number": "API-00004", "reason": "refused"}]
    assert page["pagination"] == {"page": 2, "page_size": 1, "total_items": 2, "total_pages": 2}
    assert (page["created"], page["failed"]) == (3, 2)


def test_the_idempotency_key_makes_a_retry_return_the_same_import(sandbox, connection_id):
    body = {"connection_id": connection_id, "orders": api_orders(3)}
    first = post(body, HTTP_IDEMPOTENCY_KEY="import-1")
    again = post(body, HTTP_IDEMPOTENCY_KEY="import-1")
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert OrderImport.objects.count() == 1


def test_invalid_orders_are_a_422_per_order_and_field_and_nothing_is_imported(sandbox, connection_id):
    orders = api_orders(3)
    orders[1]["OrderTotal"] = "twelve"
    del orders[2]["customer_name"]
    orders[2]["Colour"] = "red"
    response = post({"connection_id": connection_id, "orders": orders})
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("2 of 3 orders are invalid, so none was imported")
    assert problem["errors"] == {
        "orders.1.OrderTotal": ["Must be a number, like 12.50 (no currency sign or thousands separator)."],
        "orders.2.Colour": ["Unknown field; see the CSV template for the field names."],
        "orders.2.CustomerName": ["Required."],
    }
    assert OrderImport.objects.count() == 0


def test_too_many_orders_are_refused(sandbox, connection_id, monkeypatch):
    response = post({"connection_id": connection_id, "orders": [{}] * 10_001})
    assert response.status_code == 422
    assert "orders" in response.json()["errors"]
    assert OrderImport.objects.count() == 0


def test_another_merchants_connection_and_another_partners_import_are_not_found(sandbox, connection_id):
    theirs = sandbox_connections(OTHER_ACCOUNT)[0].id
    response = post({"connection_id": theirs, "orders": api_orders(1)})
    assert response.status_code == 404
    assert response.json()["detail"] == f"Merchant 'demo-merchant-1' has no Connex connection {theirs}."
    body = post({"connection_id": connection_id, "orders": api_orders(1)}).json()
    _partner, other_key = partner_with_key("Partner B")
    assert get(body["status_url"], key=other_key).status_code == 404
    assert get(f"/api/v1/order-imports/{uuid.uuid4()}").status_code == 404
    assert get("/api/v1/order-imports/not-a-uuid").status_code == 404
    assert OrderImport.objects.count() == 1
