from decimal import Decimal

import pytest

from connexportal.connex import routes
from connexportal.sandbox.models import Product
from connexportal.sandbox.paging import MAX_PAGE_SIZE

from .conftest import make_connection, make_product, make_user

ADD = routes.ADD_PRODUCT.path
LIST = routes.LIST_PRODUCTS.path

# The keys of one product in the spec's List Products Response, in its order.
SPEC_PRODUCT_KEYS = [
    "name", "description", "timeUntilRestock", "daystoReceive", "sku", "asin", "productType", "productTyp",
    "unitCost", "assetValue", "salesPrice", "reorderPoint", "maxQuantity", "quantityOnOrder", "quantityOnSalesOrder",
    "quantity", "id", "averageCost", "quantityOnHand", "unit", "isManual", "channelName", "userConnection",
    "createdAt", "updatedAt", "hasUnknownSku", "internalNote", "imageUrl", "imageUrls", "objCategoryIds",
    "objUserConnectionViewModel",
]  # fmt: skip
SPEC_USER_CONNECTION_KEYS = [
    "deleted", "connectionType", "connectionTypeId", "solutionWebsite", "connectionSettings", "scheduledTasks",
    "reportingOrders", "reports", "inventoryDetailLogs", "notificationSettings", "id", "reportingUserId",
    "reportingUser", "dateCreated", "dateModified",
]  # fmt: skip


def spec_add_body(user, connection, **changes):
    """The spec's api/products/add sample, pointed at ``connection``."""
    body = {
        "id": 0,
        "reportingUserId": str(user.reporting_user_id),
        "name": "Test Custom",
        "imageUrls": ["string"],
        "sku": "TestCustom",
        "description": "string",
        "asin": "string",
        "unitValue": 0,
        "unitCost": 0,
        "salesPrice": 0,
        "productType": 0,
        "reorderPoint": 0,
        "maxQuantity": 0,
        "timeUntilRestock": 0,
        "daystoReceive": 0,
        "isActive": True,
        "assetValue": 0,
        "averageCost": 0,
        "quantityOnOrder": 0,
        "quantityOnSalesOrder": 0,
        "quantityOnHand": 0,
        "quantity": 0,
        "isManual": True,
        "unit": 0,
        "userConnectionId": connection.pk,
        "internalNote": "string",
        "objProductCategories": {"categoryId": 0, "subCategoryIds": [{"categoryId": 0}]},
    }
    body.update(changes)
    return body


# --- add -------------------------------------------------------------------------------


def test_demo_account_cannot_create_products(api):
    demo = make_user("qbotest@intuit.com", read_only=True)
    connection = make_connection(demo)
    token = api.login("qbotest@intuit.com")
    response = api.post(ADD, spec_add_body(demo, connection), token=token)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert "cannot create products" in response.json()["detail"]
    assert not Product.objects.exists()


def test_the_spec_sample_adds_a_product_and_answers_plain_text(api, merchant, merchant_token):
    user, connection = merchant
    response = api.post(ADD, spec_add_body(user, connection), token=merchant_token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "Added Successfully"
    product = Product.objects.get()
    assert (product.user, product.connection, product.sku, product.name) == (
        user,
        connection,
        "TestCustom",
        "Test Custom",
    )
    assert product.is_manual and product.is_active and product.unit == 0
    assert product.image_urls == ["string"] and product.sub_category_ids == [{"categoryId": 0}]


def test_add_reads_keys_in_any_case_and_numbers_sent_as_strings(api, merchant, merchant_token):
    user, connection = merchant
    body = {
        "ReportingUserId": str(user.reporting_user_id),
        "NAME": "Mug",
        "Sku": "MUG-1",
        "UserConnectionId": str(connection.pk),
        "SalesPrice": "12.345",
        "QuantityOnHand": 7,
        "ProductType": "2",
        "IsManual": "true",
    }
    assert api.post(ADD, body, token=merchant_token).status_code == 200
    product = Product.objects.get()
    assert product.sales_price == Decimal("12.35")
    assert product.quantity_on_hand == Decimal("7.00")
    assert product.product_type == 2 and product.is_manual


def test_add_names_every_missing_or_invalid_field(api, merchant, merchant_token):
    response = api.post(ADD, {"salesPrice": "cheap", "isActive": "maybe", "imageUrls": "x"}, token=merchant_token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["ReportingUserId"] == ["The ReportingUserId field is required."]
    assert errors["UserConnectionId"] == ["The UserConnectionId field is required."]
    assert errors["Name"] == ["The Name field is required."]
    assert errors["Sku"] == ["The Sku field is required."]
    assert errors["SalesPrice"] == ["The value 'cheap' is not valid for SalesPrice: expected a number."]
    assert errors["IsActive"] == ["The value 'maybe' is not valid for IsActive: expected true or false."]
    assert "ImageUrls" in errors
    assert not Product.objects.exists()


def test_add_keeps_product_type_in_the_stored_range(api, merchant, merchant_token):
    user, connection = merchant
    response = api.post(ADD, spec_add_body(user, connection, productType=40000), token=merchant_token)
    assert response.status_code == 400
    assert response.json()["errors"] == {"ProductType": ["ProductType must be 32767 or less."]}


def test_add_refuses_another_users_connection_and_reporting_user(api, merchant, merchant_token):
    user, _ = merchant
    stranger = make_user()
    theirs = make_connection(stranger)
    response = api.post(ADD, spec_add_body(stranger, theirs), token=merchant_token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["UserConnectionId"] == [f"User connection {theirs.pk} is not one of your connections."]
    assert errors["ReportingUserId"] == [
        f"ReportingUserId {stranger.reporting_user_id} is not yours; send {user.reporting_user_id}."
    ]
    assert not Product.objects.exists()


def test_add_refuses_a_duplicate_sku_on_the_connection_but_not_on_another(api, merchant, merchant_token):
    user, connection = merchant
    assert api.post(ADD, spec_add_body(user, connection), token=merchant_token).status_code == 200
    again = api.post(ADD, spec_add_body(user, connection, name="Other name"), token=merchant_token)
    assert again.status_code == 409
    assert again.json()["errors"] == {
        "Sku": [f"The SKU 'TestCustom' is already used on user connection {connection.pk}."]
    }
    second = make_connection(user, name="eBay", connection_type=3)
    assert api.post(ADD, spec_add_body(user, second), token=merchant_token).status_code == 200
    assert Product.objects.filter(sku="TestCustom").count() == 2


def test_a_sku_differing_only_in_case_or_spaces_is_the_same_sku(api, merchant, merchant_token):
    user, connection = merchant
    assert api.post(ADD, spec_add_body(user, connection), token=merchant_token).status_code == 200
    again = api.post(ADD, {**spec_add_body(user, connection), "sku": " testcustom "}, token=merchant_token)
    assert again.status_code == 409
    assert list(Product.objects.values_list("sku", "sku_key")) == [("TestCustom", "testcustom")]


# --- list ------------------------------------------------------------------------------


@pytest.fixture
def catalog(merchant):
    """12 products on two connections: names A..L, prices rising, a few manual / unknown / of type 1."""
    user, shopify = merchant
    ebay = make_connection(user, name="eBay", connection_type=3)
    products = []
    for index, letter in enumerate("ABCDEFGHIJKL"):
        products.append(
            make_product(
                shopify if index < 8 else ebay,
                sku=f"SKU-{index:02d}",
                name=f"{letter} {'Lamp' if index % 3 == 0 else 'Mug'}",
                sales_price=Decimal(10 + index),
                is_manual=index in (1, 9),
                has_unknown_sku=index in (2, 3, 10),
                product_type=1 if index in (4, 5) else 0,
            )
        )
    return user, shopify, ebay, products


def list_products(api, token, **body):
    response = api.post(LIST, {"pageNumber": 1, "pageSize": 10, **body}, token=token)
    assert response.status_code == 200, response.content
    return response.json()


def test_list_has_the_spec_shape_with_its_quirks(api, catalog, merchant_token):
    user, _, _, products = catalog
    body = list_products(api, merchant_token, pageSize=1)
    assert list(body) == ["lstProducts", "unknownSkusCount", "objMetaData"]
    product = body["lstProducts"][0]
    assert list(product) == SPEC_PRODUCT_KEYS
    assert product["productTyp"] is None
    assert list(product["userConnection"]) == SPEC_USER_CONNECTION_KEYS
    assert product["userConnection"]["reportingUserId"] == str(user.reporting_user_id)
    assert product["userConnection"]["connectionSettings"] == []
    assert product["objUserConnectionViewModel"] == {
        "userConnectionId": products[-1].connection_id,
        "userConnectionName": "eBay",
    }
    assert product["objCategoryIds"] == {"categoryId": 0, "categoryName": "", "subCategoryIds": None}
    assert product["createdAt"] == "2024-08-28T09:00:00.0000000"
    assert product["channelName"] == "eBay"
    assert product["unit"] is None


def test_list_writes_money_with_two_decimals_like_the_spec(api, catalog, merchant_token):
    response = api.post(LIST, {"pageNumber": 1, "pageSize": 1}, token=merchant_token)
    assert b'"salesPrice":21.00' in response.content
    assert b'"quantityOnHand":0.00' in response.content


def test_default_order_is_newest_first_and_metadata_counts_pages(api, catalog, merchant_token):
    *_, products = catalog
    first = list_products(api, merchant_token, pageSize=5)
    assert [p["id"] for p in first["lstProducts"]] == [p.pk for p in reversed(products)][:5]
    assert first["objMetaData"] == {"totalRows": 12, "totalNumberOfPages": 3}
    last = list_products(api, merchant_token, pageSize=5, pageNumber=3)
    assert [p["id"] for p in last["lstProducts"]] == [products[1].pk, products[0].pk]
    beyond = list_products(api, merchant_token, pageSize=5, pageNumber=4)
    assert beyond["lstProducts"] == [] and beyond["objMetaData"] == {"totalRows": 12, "totalNumberOfPages": 3}


@pytest.mark.parametrize(
    ("order_by", "direction"), [("name", "asc"), ("NAME", "DESC"), ("salesPrice", "desc"), ("sku", "")]
)
def test_every_page_from_either_end_matches_one_sorted_list(api, catalog, merchant_token, order_by, direction):
    column = {"name": "name", "salesprice": "sales_price", "sku": "sku"}[order_by.lower()]
    sign = "-" if direction.lower() == "desc" else ""
    expected = list(Product.objects.order_by(f"{sign}{column}", f"{sign}id").values_list("id", flat=True))
    seen = []
    for page in range(1, 6):
        body = list_products(api, merchant_token, pageSize=3, pageNumber=page, orderBy=order_by, direction=direction)
        seen.extend(p["id"] for p in body["lstProducts"])
    assert seen == expected


def test_sort_ties_break_by_id_in_the_same_direction(api, merchant, merchant_token):
    _, connection = merchant
    same = [make_product(connection, sku=f"S{i}", name="Same") for i in range(4)]
    ascending = list_products(api, merchant_token, orderBy="name", direction="asc")
    descending = list_products(api, merchant_token, orderBy="name", direction="desc")
    assert [p["id"] for p in ascending["lstProducts"]] == [p.pk for p in same]
    assert [p["id"] for p in descending["lstProducts"]] == [p.pk for p in reversed(same)]


def test_search_matches_name_or_sku_in_any_case(api, catalog, merchant_token):
    lamps = list_products(api, merchant_token, searchText="lAmP")
    assert sorted(p["name"] for p in lamps["lstProducts"]) == ["A Lamp", "D Lamp", "G Lamp", "J Lamp"]
    by_sku = list_products(api, merchant_token, searchText="sku-1")
    assert sorted(p["sku"] for p in by_sku["lstProducts"]) == ["SKU-10", "SKU-11"]
    assert by_sku["objMetaData"] == {"totalRows": 2, "totalNumberOfPages": 1}


def test_filters_and_unknown_sku_count(api, catalog, merchant_token):
    _, _, ebay, _ = catalog
    manual = list_products(api, merchant_token, isManual=True)
    assert sorted(p["sku"] for p in manual["lstProducts"]) == ["SKU-01", "SKU-09"]
    unknown = list_products(api, merchant_token, onlyFetchUnknownSkusProducts=True)
    assert sorted(p["sku"] for p in unknown["lstProducts"]) == ["SKU-02", "SKU-03", "SKU-10"]
    assert all(p["hasUnknownSku"] for p in unknown["lstProducts"])
    typed = list_products(api, merchant_token, productType=1)
    assert sorted(p["sku"] for p in typed["lstProducts"]) == ["SKU-04", "SKU-05"]
    on_ebay = list_products(api, merchant_token, userConnectionId=ebay.pk)
    assert sorted(p["sku"] for p in on_ebay["lstProducts"]) == ["SKU-08", "SKU-09", "SKU-10", "SKU-11"]
    assert on_ebay["unknownSkusCount"] == 1
    everything = list_products(api, merchant_token, userConnectionId=0, isManual=False, productType=None)
    assert everything["objMetaData"]["totalRows"] == 12
    assert everything["unknownSkusCount"] == 3
    # unknownSkusCount is the connection's badge: other filters do not change it.
    assert list_products(api, merchant_token, searchText="Lamp")["unknownSkusCount"] == 3


def test_an_account_never_sees_another_accounts_products(api, catalog, merchant_token):
    other = make_user("other@example.test")
    theirs = make_connection(other, name="Shopify Store")
    make_product(theirs, sku="THEIRS", name="A Lamp", has_unknown_sku=True)
    mine = list_products(api, merchant_token, pageSize=100)
    assert "THEIRS" not in {p["sku"] for p in mine["lstProducts"]}
    assert mine["objMetaData"]["totalRows"] == 12 and mine["unknownSkusCount"] == 3
    foreign = api.post(LIST, {"userConnectionId": theirs.pk}, token=merchant_token)
    assert foreign.status_code == 400
    assert foreign.json()["errors"] == {
        "UserConnectionId": [f"User connection {theirs.pk} is not one of your connections."]
    }
    their_view = list_products(api, api.login("other@example.test"), pageSize=100)
    assert [p["sku"] for p in their_view["lstProducts"]] == ["THEIRS"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"pageSize": MAX_PAGE_SIZE + 1}, "PageSize"),
        ({"pageSize": -1}, "PageSize"),
        ({"pageNumber": -2}, "PageNumber"),
        ({"orderBy": "password"}, "OrderBy"),
        ({"direction": "sideways"}, "Direction"),
        ({"productType": "lots"}, "ProductType"),
        ({"productType": 40000}, "ProductType"),
    ],
)
def test_bad_list_requests_are_400_naming_the_field(api, merchant_token, body, key):
    response = api.post(LIST, body, token=merchant_token)
    assert response.status_code == 400
    assert key in response.json()["errors"]


def test_page_size_defaults_to_ten_and_accepts_the_maximum(api, merchant, merchant_token):
    _, connection = merchant
    for index in range(12):
        make_product(connection, sku=f"P{index}")
    assert len(api.post(LIST, {}, token=merchant_token).json()["lstProducts"]) == 10
    assert len(list_products(api, merchant_token, pageSize=MAX_PAGE_SIZE)["lstProducts"]) == 12


def test_one_list_call_takes_a_fixed_number_of_queries(api, catalog, merchant_token, django_assert_max_num_queries):
    # Token, fault profiles, active runs, unknown count, count, page, connections: never one per product.
    with django_assert_max_num_queries(7):
        assert len(list_products(api, merchant_token, pageSize=12)["lstProducts"]) == 12
