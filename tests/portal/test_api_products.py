"""The partner API's connections list and product creation, against the in-process sandbox."""

from __future__ import annotations

import datetime as dt

import pytest

from connexportal.accounts.models import Merchant
from connexportal.activity.models import ActivityEntry
from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_KEY
from connexportal.sandbox import faults
from tests.embed.api_helpers import Api, partner_with_key, problem_type
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db

OTHER = "/merchants/demo-merchant-2"
DEMO = "/merchants/demo-merchant-1"


@pytest.fixture
def api(sandbox):
    return Api(DEMO_PARTNER_KEY)


def body(connection_id: int, **changes) -> dict:
    return {
        "connection_id": connection_id,
        "name": "Trail Mug",
        "sku": "MUG-TRAIL-01",
        "sales_price": 14.5,
        "unit_cost": 4,
        "quantity_on_hand": 12,
        "image_urls": ["https://images.example.com/mug.jpg"],
        **changes,
    }


def sandbox_product(sku: str):
    from connexportal.sandbox.models import Product

    return Product.objects.filter(sku=sku).first()


def test_connections_list_their_id_name_channel_health_and_syncs(api, sandbox):
    response = api.get(f"{OTHER}/connections")

    assert response.status_code == 200
    items = response.json()["items"]
    expected = sandbox_connections(OTHER_ACCOUNT)
    assert [item["id"] for item in items] == [connection.id for connection in expected]
    assert [item["name"] for item in items] == [connection.name for connection in expected]
    for item in items:
        assert set(item) == {"id", "name", "channel", "health", "health_label", "last_sync_at", "next_sync_at"}
        assert item["health"] in {"ok", "syncing", "warning", "error", "paused", "unknown"}
        for moment in (item["last_sync_at"], item["next_sync_at"]):
            assert moment is None or dt.datetime.fromisoformat(moment).tzinfo is not None
    assert {item["channel"] for item in items} >= {"WooCommerce", "Custom integration"}


def test_connections_when_connex_is_down_are_a_503_problem_with_retry_after(api, sandbox):
    with faults.injected("503=1", account=OTHER_ACCOUNT):
        response = api.get(f"{OTHER}/connections")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "30"
    assert response.json()["type"] == problem_type("connex-unavailable")


def test_another_partners_merchant_has_no_connections_to_list(sandbox):
    _partner, key = partner_with_key("Someone Else")

    response = Api(key).get(f"{OTHER}/connections")

    assert response.status_code == 404


def test_a_product_is_created_with_201_and_recorded_as_the_api_key(api, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    response = api.post(f"{OTHER}/products", body(connection.id))

    assert response.status_code == 201, response.json()
    stored = sandbox_product("MUG-TRAIL-01")
    assert stored.connection_id == connection.id
    assert stored.image_urls == ["https://images.example.com/mug.jpg"]
    product = response.json()
    assert product["id"] == stored.pk
    assert (product["sku"], product["connection_id"], product["sales_price"]) == ("MUG-TRAIL-01", connection.id, 14.5)
    entry = ActivityEntry.objects.get(action="product.created")
    assert entry.merchant == Merchant.objects.get(external_id="demo-merchant-2")
    assert (entry.actor_kind, entry.channel) == ("api_key", "api")


def test_a_duplicate_sku_is_a_409_problem_naming_the_existing_product(api, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]
    first = api.post(f"{OTHER}/products", body(connection.id)).json()

    response = api.post(f"{OTHER}/products", body(sandbox_connections(OTHER_ACCOUNT)[1].id, sku=" mug-trail-01 "))

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == problem_type("duplicate-sku")
    assert problem["existing_product_id"] == first["id"]
    assert set(problem["errors"]) == {"sku"}


def test_the_same_idempotency_key_replays_the_first_answer(api, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]
    headers = {"Idempotency-Key": "8e0c1f3a-product"}

    first = api.post(f"{OTHER}/products", body(connection.id), headers=headers)
    again = api.post(f"{OTHER}/products", body(connection.id), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sku": "   "}, "sku"),
        ({"sales_price": "14.50"}, "sales_price"),
        ({"sales_price": 1.005}, "sales_price"),
        ({"product_type": 9}, "product_type"),
        ({"image_urls": ["not a url"]}, "image_urls.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_a_422_problem(api, sandbox, changes, field):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    response = api.post(f"{OTHER}/products", body(connection.id, **changes))

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert sandbox_product("MUG-TRAIL-01") is None


def test_another_merchants_connection_is_a_404_problem(api, sandbox):
    theirs = sandbox_connections(DEMO_ACCOUNT)[0]

    response = api.post(f"{OTHER}/products", body(theirs.id))

    assert response.status_code == 404
    assert response.json()["type"] == problem_type("not-found")
    assert sandbox_product("MUG-TRAIL-01") is None


def test_the_demo_account_gets_a_403_problem(api, sandbox):
    connection = sandbox_connections(DEMO_ACCOUNT)[0]

    response = api.post(f"{DEMO}/products", body(connection.id))

    assert response.status_code == 403
    assert response.json()["type"] == problem_type("connex-forbidden")
    assert response.json()["detail"] == "This Connex account is not allowed to add products."


def test_connex_down_while_adding_is_a_503_problem_with_retry_after(api, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]
    assert api.get(f"{OTHER}/connections").status_code == 200

    with faults.injected("503=1", account=OTHER_ACCOUNT):
        response = api.post(f"{OTHER}/products", body(connection.id))

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert sandbox_product("MUG-TRAIL-01") is None
