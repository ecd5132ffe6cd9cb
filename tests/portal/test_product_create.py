"""Adding a product: the service and /products/new/ against the in-process sandbox."""

from __future__ import annotations

import re

import pytest

from connexportal.accounts.models import Merchant
from connexportal.activity.models import ActivityEntry
from connexportal.activity.services import Actor
from connexportal.portal import services
from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db


def other_merchant() -> Merchant:
    return Merchant.objects.get(external_id="demo-merchant-2")


def demo_merchant() -> Merchant:
    return Merchant.objects.get(external_id="demo-merchant-1")


def sandbox_products(username: str, sku: str):
    from connexportal.sandbox.models import Product

    return Product.objects.filter(user__username=username, sku=sku)


def existing_sku(username: str) -> tuple[str, int]:
    from connexportal.sandbox.models import Product

    product = Product.objects.filter(user__username=username).order_by("id").first()
    return product.sku, product.pk


def form_data(connection_id: int, **changes) -> dict[str, str]:
    data = {
        "connection": str(connection_id),
        "name": "Trail Mug",
        "sku": "MUG-TRAIL-01",
        "product_type": "0",
        "description": "Enamel mug, 350 ml",
        "sales_price": "14.50",
        "unit_cost": "4.25",
        "average_cost": "",
        "quantity_on_hand": "12",
        "reorder_point": "3",
        "max_quantity": "",
        "time_until_restock": "5",
        "days_to_receive": "",
        "asin": "",
        "image_urls": "https://images.example.com/mug.jpg",
        "is_active": "on",
        "internal_note": "",
    }
    data.update(changes)
    return data


VALUES = {"name": "Trail Mug", "sku": "MUG-TRAIL-01", "sales_price": 14.5, "quantity_on_hand": 12}


# --- The service ---------------------------------------------------------------------------


def test_a_product_is_added_to_the_connection_recorded_and_listed(sandbox):
    merchant = other_merchant()
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    created = services.product_create(
        merchant=merchant, connection_id=connection.id, values=VALUES, actor=Actor.system("test")
    )

    stored = sandbox_products(OTHER_ACCOUNT, "MUG-TRAIL-01").get()
    assert stored.connection_id == connection.id
    assert stored.name == "Trail Mug"
    assert stored.is_manual is True
    assert (created.id, created.sku, created.connection_id) == (stored.pk, "MUG-TRAIL-01", connection.id)
    listed = services.products_list(merchant=merchant, page=1, size=10, search="MUG-TRAIL-01")
    assert [row.id for row in listed.page.rows] == [stored.pk]
    entry = ActivityEntry.objects.get(action="product.created")
    assert entry.merchant == merchant
    assert entry.target == "Trail Mug (MUG-TRAIL-01)"
    assert entry.detail == {"connection_id": connection.id, "product_id": stored.pk, "sku": "MUG-TRAIL-01"}


def test_a_sku_the_account_has_in_another_case_or_with_spaces_is_refused_before_sending(sandbox):
    sku, product_id = existing_sku(OTHER_ACCOUNT)
    connection = sandbox_connections(OTHER_ACCOUNT)[-1]
    sandbox.reset()

    with pytest.raises(services.DuplicateSku) as raised:
        services.product_create(
            merchant=other_merchant(),
            connection_id=connection.id,
            values={**VALUES, "sku": f"  {sku.swapcase()} "},
            actor=Actor.system("test"),
        )

    assert raised.value.existing.id == product_id
    assert not [path for _method, path in sandbox.calls if "products/add" in path.lower()]
    assert not ActivityEntry.objects.filter(action="product.created").exists()


def test_the_demo_accounts_refusal_is_said_plainly(sandbox):
    connection = sandbox_connections(DEMO_ACCOUNT)[0]

    with pytest.raises(services.UpstreamForbidden) as raised:
        services.product_create(
            merchant=demo_merchant(), connection_id=connection.id, values=VALUES, actor=Actor.system("test")
        )

    assert raised.value.message == "This Connex account is not allowed to add products."
    assert not sandbox_products(DEMO_ACCOUNT, "MUG-TRAIL-01").exists()


def test_another_merchants_connection_is_not_found_and_nothing_is_sent(sandbox):
    theirs = sandbox_connections(DEMO_ACCOUNT)[0]
    sandbox.reset()

    with pytest.raises(services.NotFound):
        services.product_create(
            merchant=other_merchant(), connection_id=theirs.id, values=VALUES, actor=Actor.system("test")
        )

    assert not [path for _method, path in sandbox.calls if "products/add" in path.lower()]


# --- The page ------------------------------------------------------------------------------


def test_the_page_offers_only_the_merchants_own_connections_with_labels_and_help(other_client, sandbox):
    response = other_client.get("/products/new/")

    html = response.content.decode()
    assert response.status_code == 200
    choice = re.search(r'<select name="connection".*?</select>', html, re.S).group(0)
    offered = {int(value) for value in re.findall(r'<option value="(\d+)"', choice)}
    assert offered == {connection.id for connection in sandbox_connections(OTHER_ACCOUNT)}
    assert '<label for="id_sku">SKU' in html
    assert 'aria-describedby="id_sku_helptext"' in html
    assert "Days to get in the mail from the supplier." in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_adding_a_product_redirects_to_the_list_searching_its_sku(other_client, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    response = other_client.post("/products/new/", form_data(connection.id), follow=True)

    assert response.redirect_chain == [("/products/?q=MUG-TRAIL-01", 302)]
    html = response.content.decode()
    assert "Product added: Trail Mug (MUG-TRAIL-01)." in html
    assert re.findall(r"<td[^>]*><code>([^<]+)</code>", html) == ["MUG-TRAIL-01"]
    assert 'value="MUG-TRAIL-01"' in html, "the search box shows the SKU"
    stored = sandbox_products(OTHER_ACCOUNT, "MUG-TRAIL-01").get()
    assert stored.image_urls == ["https://images.example.com/mug.jpg"]
    assert stored.time_until_restock == 5


def test_a_duplicate_sku_is_a_field_error_linking_the_existing_product(other_client, sandbox):
    sku, _product_id = existing_sku(OTHER_ACCOUNT)
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    response = other_client.post("/products/new/", form_data(connection.id, sku=sku.lower()))

    html = response.content.decode()
    assert response.status_code == 422
    assert "You already have a product with this SKU" in html
    assert f'href="/products/?q={sku}"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="Trail Mug"' in html


def test_the_demo_account_is_told_it_cannot_add_products_and_keeps_what_it_typed(merchant_client, sandbox):
    connection = sandbox_connections(DEMO_ACCOUNT)[0]

    response = merchant_client.post("/products/new/", form_data(connection.id))

    html = response.content.decode()
    assert response.status_code == 422
    assert "This Connex account is not allowed to add products." in html
    assert 'value="MUG-TRAIL-01"' in html


def test_when_connex_is_down_the_typed_values_stay(other_client, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]
    assert other_client.get("/products/new/").status_code == 200

    with faults.injected("503=1", account=OTHER_ACCOUNT):
        response = other_client.post("/products/new/", form_data(connection.id, description="Keep me"))

    html = response.content.decode()
    assert response.status_code == 503
    assert "Connex is not answering right now" in html
    assert "nothing was lost" in html
    assert 'value="MUG-TRAIL-01"' in html
    assert "Keep me</textarea>" in html
    assert not sandbox_products(OTHER_ACCOUNT, "MUG-TRAIL-01").exists()


def test_invalid_fields_are_errors_on_the_fields(other_client, sandbox):
    connection = sandbox_connections(OTHER_ACCOUNT)[0]

    response = other_client.post(
        "/products/new/", form_data(connection.id, name=" ", sales_price="-1", image_urls="not a url")
    )

    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"name", "sales_price", "image_urls"}


def test_another_merchants_connection_is_not_a_choice(other_client, sandbox):
    theirs = sandbox_connections(DEMO_ACCOUNT)[0]

    response = other_client.post("/products/new/", form_data(theirs.id))

    assert response.status_code == 422
    assert "connection" in response.context["form"].errors
    assert not sandbox_products(DEMO_ACCOUNT, "MUG-TRAIL-01").exists()


def test_the_products_page_links_to_the_form_unless_products_are_hidden(other_client, sandbox):
    assert 'href="/products/new/"' in other_client.get("/products/").content.decode()

    partner = other_merchant().partner
    partner.hide_products = True
    partner.save()

    assert other_client.get("/products/new/").status_code == 404


def test_embedded_the_form_posts_by_header_and_shows_the_list_in_place(sandbox):
    from django.test import Client

    from tests.embed.embedding import demo_data, open_session

    token = open_session(demo_data().other_merchant)
    connection = sandbox_connections(OTHER_ACCOUNT)[0]
    embedded = {"HTTP_X_CONNEX_EMBED": token, "HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}
    client = Client(enforce_csrf_checks=True)

    assert client.get("/products/new/", **embedded).status_code == 200
    response = client.post("/products/new/", form_data(connection.id), **embedded)

    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/products/?q=MUG-TRAIL-01"
    html = response.content.decode()
    assert "Product added: Trail Mug (MUG-TRAIL-01)." in html
    assert re.findall(r"<td[^>]*><code>([^<]+)</code>", html) == ["MUG-TRAIL-01"]
