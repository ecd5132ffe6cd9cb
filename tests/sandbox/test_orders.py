from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connexportal.connex import routes
from connexportal.sandbox.models import Order, OrderLine

from .conftest import make_connection, make_order, make_user

CREATE = routes.CREATE_ORDERS.path
LIST = routes.LIST_ORDERS.path
REQUIRED = [
    "ReportingUserId",
    "UserConnectionId",
    "OrderTotal",
    "TotalTax",
    "OrderDate",
    "OrderNumber",
    "CustomerName",
    "OrderType",
    "Deleted",
]


def spec_order(user, connection, number="JMA1189", **changes):
    """The spec's createorders sample (numbers as strings and mixed casing included) plus its required fields."""
    address = {
        "address1": "123 Main St.",
        "address2": "STE 100",
        "city": "Watertown",
        "company": "Connex",
        "countryName": "United States",
        "email": "example@example.com",
        "firstName": "Joe",
        "fullName": "Joe Example",
        "lastName": "Example",
        "phoneNumber": "7813300737",
        "postalCode": "02472",
        "regionName": "MA",
        "twoLetterIsoCode": "US",
    }
    order = {
        "ReportingUserId": str(user.reporting_user_id),
        "UserConnectionId": connection.pk,
        "OrderTotal": "9",
        "TotalTax": 1,
        "OrderDate": "2024-09-06T13:33:28.283Z",
        "OrderNumber": number,
        "CustomerName": "Joe Example",
        "Deleted": False,
        "billingAddress": address,
        "shippingAddress": address,
        "creationDate": "2024-09-06T13:33:28.283Z",
        "creditCardName": "Credit Card",
        "discountExclTax": 3,
        "discountInclTax": 3,
        "ShippingMethod": "UPS",
        "ShippingExclTax": "2",
        "ShippingInclTax": "2",
        "TotalExclTax": 4,
        "orderType": "0",
        "orderDetails": [
            {
                "name": "My Product",
                "priceExclTax": 2,
                "priceInclTax": 3,
                "quantity": 2,
                "sku": "Product123",
                "options": [{"name": "Color", "value": "Red", "sku": "Product1234", "quantity": 2}],
                "jmaCustomFields": [{"name": "sadsa", "value": "", "orderNumber": "", "mapped": True}],
                "customFields": [{"name": "sadsa", "value": "", "orderNumber": "", "mapped": True}],
                "orderNumbersForItemSummary": [],
                "vendor": "Sample Vendor",
                "categories": ["My product categories"],
                "hasKnownSKU": True,
                "fees": {"additionalProp1": 2, "additionalProp2": 2, "additionalProp3": 2.5},
            }
        ],
    }
    order.update(changes)
    return order


def test_the_spec_sample_is_stored_and_answered_with_the_spec_text(api, merchant, merchant_token):
    user, connection = merchant
    response = api.post(CREATE, [spec_order(user, connection)], token=merchant_token)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == routes.CREATE_ORDERS_OK_TEXT
    order = Order.objects.get()
    assert (order.user, order.connection, order.order_number) == (user, connection, "JMA1189")
    assert order.order_date == datetime(2024, 9, 6, 13, 33, 28, 283000, tzinfo=UTC)
    assert (order.order_total, order.total_tax, order.shipping_excl_tax) == (Decimal(9), Decimal(1), Decimal(2))
    assert order.order_type == 0 and order.deleted is False
    assert order.channel_name == "Shopify"
    assert order.shipping_method == "UPS"
    assert order.billing_address["twoLetterIsoCode"] == "US" and order.billing_address["countryName"] == "United States"
    line = OrderLine.objects.get()
    assert (line.name, line.sku, line.quantity, line.price_excl_tax) == ("My Product", "Product123", 2, 2)
    assert line.options == [{"name": "Color", "value": "Red", "sku": "Product1234", "quantity": 2}]
    assert line.fees == {"additionalProp1": 2, "additionalProp2": 2, "additionalProp3": 2.5}
    assert line.categories == ["My product categories"] and line.vendor == "Sample Vendor"


def test_the_spec_sample_alone_lacks_the_required_fields(api, merchant, merchant_token):
    user, connection = merchant
    sample = spec_order(user, connection)
    for name in REQUIRED:
        sample.pop(name, None)
        sample.pop(name[0].lower() + name[1:], None)
    response = api.post(CREATE, [sample], token=merchant_token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted(errors) == sorted(f"[0].{name}" for name in REQUIRED)
    assert errors["[0].CustomerName"] == ["The CustomerName field is required."]


def test_a_missing_order_number_reads_like_routes_problem_example(api, merchant, merchant_token):
    user, connection = merchant
    first = spec_order(user, connection)
    del first["OrderNumber"]
    response = api.post(CREATE, [first, spec_order(user, connection, "B-2")], token=merchant_token)
    assert response.status_code == 400
    body = response.json()
    assert body.pop("traceId")
    assert body == routes.PROBLEM_EXAMPLE
    assert not Order.objects.exists()


def test_at_most_one_hundred_orders(api, merchant, merchant_token):
    user, connection = merchant
    too_many = [spec_order(user, connection, f"N{i}") for i in range(101)]
    response = api.post(CREATE, too_many, token=merchant_token)
    assert response.status_code == 400
    assert response.json()["detail"] == "createorders takes at most 100 orders at a time; got 101."
    assert not Order.objects.exists()
    assert api.post(CREATE, too_many[:100], token=merchant_token).status_code == 200
    assert Order.objects.count() == 100 and OrderLine.objects.count() == 100


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "must be a JSON array of orders"),
        ([], "Send at least one order."),
        ([1], "Order 1 of 1: not a JSON object."),
    ],
)
def test_the_body_must_be_a_non_empty_array_of_objects(api, merchant_token, body, detail):
    response = api.post(CREATE, body, token=merchant_token)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(("value", "stored"), [(0, 0), ("1", 1), (6, 6), ("SalesReceipt", 5), ("creditmemo", 3)])
def test_order_type_takes_the_enum_as_number_string_or_name(api, merchant, merchant_token, value, stored):
    user, connection = merchant
    assert api.post(CREATE, [spec_order(user, connection, orderType=value)], token=merchant_token).status_code == 200
    assert Order.objects.get().order_type == stored


@pytest.mark.parametrize("value", [7, -1, "9", "Refund", True])
def test_order_type_outside_the_enum_is_refused(api, merchant, merchant_token, value):
    user, connection = merchant
    response = api.post(CREATE, [spec_order(user, connection, orderType=value)], token=merchant_token)
    assert response.status_code == 400
    message = response.json()["errors"]["[0].OrderType"][0]
    assert "webOrder = 0" in message and "RefundReceipt = 6" in message


def test_field_errors_name_the_order_and_the_field(api, merchant, merchant_token):
    user, connection = merchant
    bad = spec_order(user, connection, "X-2", OrderTotal="lots", OrderDate="someday", Deleted="no")
    bad["orderDetails"][0]["quantity"] = "two"
    response = api.post(CREATE, [spec_order(user, connection, "X-1"), bad], token=merchant_token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["[1].OrderTotal"] == ["The value 'lots' is not valid for OrderTotal: expected a number."]
    assert "[1].OrderDate" in errors and "[1].Deleted" in errors
    assert "[1].OrderDetails[0].Quantity" in errors
    assert response.json()["detail"].startswith("Order 2 of 2: ")
    assert not Order.objects.exists()


def test_an_existing_order_number_is_refused_and_nothing_is_saved(api, merchant, merchant_token):
    user, connection = merchant
    make_order(connection, "JMA1189", datetime(2024, 7, 29, tzinfo=UTC))
    batch = [spec_order(user, connection, "NEW-1"), spec_order(user, connection, "JMA1189")]
    response = api.post(CREATE, batch, token=merchant_token)
    assert response.status_code == 409
    body = response.json()
    assert body["errors"] == {
        "[1].OrderNumber": [f"Order number 'JMA1189' already exists on user connection {connection.pk}."]
    }
    assert body["detail"] == f"Order 2 of 2: order number 'JMA1189' already exists on user connection {connection.pk}."
    assert list(Order.objects.values_list("order_number", flat=True)) == ["JMA1189"]


def test_an_order_number_differing_only_in_case_or_spaces_is_the_same_order(api, merchant, merchant_token):
    user, connection = merchant
    make_order(connection, "JMA1189", datetime(2024, 7, 29, tzinfo=UTC))
    response = api.post(CREATE, [spec_order(user, connection, " jma1189 ")], token=merchant_token)
    assert response.status_code == 409
    batch = [spec_order(user, connection, "web-7"), spec_order(user, connection, "WEB-7")]
    assert api.post(CREATE, batch, token=merchant_token).status_code == 400
    assert list(Order.objects.values_list("order_number", "number_key")) == [("JMA1189", "jma1189")]


def test_with_accept_duplicates_every_order_number_is_stored_again(api, merchant, merchant_token, settings):
    settings.CONNEX_SANDBOX_ACCEPT_DUPLICATES = True
    user, connection = merchant
    make_order(connection, "JMA1189", datetime(2024, 7, 29, tzinfo=UTC))
    batch = [spec_order(user, connection, "JMA1189"), spec_order(user, connection, "jma1189")]
    assert api.post(CREATE, batch, token=merchant_token).status_code == 200
    assert Order.objects.filter(number_key="jma1189").count() == 3


def test_a_bad_accept_duplicates_setting_is_a_configuration_error(api, merchant, merchant_token, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CONNEX_SANDBOX_ACCEPT_DUPLICATES = "sometimes"
    user, connection = merchant
    with pytest.raises(ImproperlyConfigured, match="CONNEX_SANDBOX_ACCEPT_DUPLICATES: must be true or false"):
        api.post(CREATE, [spec_order(user, connection)], token=merchant_token)


def test_the_same_number_on_another_connection_is_fine(api, merchant, merchant_token):
    user, connection = merchant
    ebay = make_connection(user, name="eBay", connection_type=3)
    make_order(connection, "JMA1189", datetime(2024, 7, 29, tzinfo=UTC))
    assert api.post(CREATE, [spec_order(user, ebay, "JMA1189")], token=merchant_token).status_code == 200


def test_a_number_sent_twice_in_one_batch_is_refused(api, merchant, merchant_token):
    user, connection = merchant
    batch = [spec_order(user, connection, "A"), spec_order(user, connection, "B"), spec_order(user, connection, "A")]
    response = api.post(CREATE, batch, token=merchant_token)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "[2].OrderNumber": [f"Order number 'A' is sent twice on user connection {connection.pk} (orders 1 and 3)."]
    }
    assert not Order.objects.exists()


def test_orders_must_be_for_the_callers_own_connection_and_user(api, merchant, merchant_token):
    stranger = make_user()
    theirs = make_connection(stranger)
    response = api.post(CREATE, [spec_order(stranger, theirs)], token=merchant_token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["[0].UserConnectionId"] == [f"User connection {theirs.pk} is not one of your connections."]
    assert "[0].ReportingUserId" in errors
    assert not Order.objects.exists()


def test_the_demo_account_may_create_orders(api):
    demo = make_user("qbotest@intuit.com", read_only=True)
    connection = make_connection(demo)
    token = api.login("qbotest@intuit.com")
    assert api.post(CREATE, [spec_order(demo, connection)], token=token).status_code == 200


# --- list ------------------------------------------------------------------------------


@pytest.fixture
def order_book(merchant):
    user, shopify = merchant
    amazon = make_connection(user, name="Amazon US", connection_type=1)
    orders = [
        make_order(
            shopify, "JMA1189", datetime(2024, 7, 29, 8, 24, 27, tzinfo=UTC), "Joe Smith", total=Decimal("920.16")
        ),
        make_order(shopify, "JMA1190", datetime(2024, 9, 5, 23, 59, 59, tzinfo=UTC), "Ann Lee", total=Decimal("5.10")),
        make_order(shopify, "JMA1191", datetime(2024, 9, 6, 0, 0, 0, tzinfo=UTC), "Bo Chen", total=Decimal("30.00")),
        make_order(amazon, "111-222", datetime(2024, 5, 5, 0, 0, 0, tzinfo=UTC), "Joe Jones", total=Decimal("12.00")),
        make_order(amazon, "111-333", datetime(2024, 5, 4, 23, 59, 59, tzinfo=UTC), "Al Smith", total=Decimal("7.00")),
    ]
    make_order(shopify, "GONE", datetime(2024, 8, 1, tzinfo=UTC), deleted=True)
    return user, shopify, amazon, orders


def list_orders(api, token, **body):
    response = api.post(LIST, {"pageNumber": 1, "pageSize": 10, **body}, token=token)
    assert response.status_code == 200, response.content
    return response.json()


def numbers(body):
    return [order["orderNumber"] for order in body["lstAllOrders"]]


def test_list_orders_has_the_spec_shape(api, order_book, merchant_token):
    _, shopify, _, _ = order_book
    body = list_orders(api, merchant_token, searchText="JMA1189")
    assert list(body) == ["lstAllOrders", "objMetaData"]
    assert body["lstAllOrders"] == [
        {
            "id": Order.objects.get(order_number="JMA1189").pk,
            "orderNumber": "JMA1189",
            "orderDate": "2024-07-29T08:24:27",
            "channel": "Shopify",
            "totalProductSales": 920.16,
            "userConnectionId": shopify.pk,
            "customerName": "Joe Smith",
            "chipColor": "",
            "lstOrderItemDetails": [
                {
                    "productName": "My Product",
                    "sku": "Product123",
                    "orderedProductQuantity": 2,
                    "totalSoldPrice": 4,
                    "unitPrice": 2,
                    "imagesUrl": [],
                    "orderNumberSummary": ["JMA1189"],
                }
            ],
        }
    ]
    assert body["objMetaData"] == {"totalRows": 1, "totalNumberOfPages": 1}


def test_default_sort_is_newest_first_and_deleted_orders_are_hidden(api, order_book, merchant_token):
    assert numbers(list_orders(api, merchant_token)) == ["JMA1191", "JMA1190", "JMA1189", "111-222", "111-333"]


def test_the_date_range_takes_whole_days_both_included(api, order_book, merchant_token):
    body = list_orders(api, merchant_token, beginDate="05/05/2024", endDate="09/05/2024")
    assert numbers(body) == ["JMA1190", "JMA1189", "111-222"]
    assert body["objMetaData"] == {"totalRows": 3, "totalNumberOfPages": 1}
    assert numbers(list_orders(api, merchant_token, beginDate="09/06/2024", endDate="")) == ["JMA1191"]
    assert numbers(list_orders(api, merchant_token, beginDate="", endDate="05/04/2024")) == ["111-333"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"beginDate": "2024-13-45"}, "BeginDate"),
        ({"endDate": "yesterday"}, "EndDate"),
        ({"beginDate": "09/06/2024", "endDate": "09/05/2024"}, "BeginDate"),
        ({"orderBy": "secret"}, "OrderBy"),
        ({"pageSize": 100000}, "PageSize"),
    ],
)
def test_bad_list_orders_requests_are_400(api, merchant_token, body, key):
    response = api.post(LIST, body, token=merchant_token)
    assert response.status_code == 400
    assert key in response.json()["errors"]


def test_search_matches_order_number_or_customer_name(api, order_book, merchant_token):
    assert numbers(list_orders(api, merchant_token, searchText="smith", orderBy="orderNumber", direction="asc")) == [
        "111-333",
        "JMA1189",
    ]
    assert numbers(list_orders(api, merchant_token, searchText="111-")) == ["111-222", "111-333"]


def test_sort_paging_and_connection_filter(api, order_book, merchant_token):
    _, _, amazon, _ = order_book
    by_total = list_orders(api, merchant_token, orderBy="totalProductSales", direction="asc", pageSize=2, pageNumber=2)
    assert numbers(by_total) == ["111-222", "JMA1191"]
    assert by_total["objMetaData"] == {"totalRows": 5, "totalNumberOfPages": 3}
    last = list_orders(api, merchant_token, orderBy="totalProductSales", direction="asc", pageSize=2, pageNumber=3)
    assert numbers(last) == ["JMA1189"]
    assert numbers(list_orders(api, merchant_token, userConnectionId=amazon.pk)) == ["111-222", "111-333"]


def test_an_account_never_sees_another_accounts_orders(api, order_book, merchant_token):
    other = make_user("other@example.test")
    theirs = make_connection(other)
    make_order(theirs, "THEIRS", datetime(2024, 9, 1, tzinfo=UTC), "Joe Smith")
    assert "THEIRS" not in numbers(list_orders(api, merchant_token, pageSize=100))
    assert api.post(LIST, {"userConnectionId": theirs.pk}, token=merchant_token).status_code == 400
    assert numbers(list_orders(api, api.login("other@example.test"))) == ["THEIRS"]


def test_created_orders_are_listed(api, merchant, merchant_token):
    user, connection = merchant
    api.post(CREATE, [spec_order(user, connection, "WEB-1", Deleted=False)], token=merchant_token)
    api.post(CREATE, [spec_order(user, connection, "WEB-2", Deleted=True)], token=merchant_token)
    body = list_orders(api, merchant_token, beginDate="09/06/2024", endDate="09/06/2024")
    assert numbers(body) == ["WEB-1"]
    assert body["lstAllOrders"][0]["orderDate"] == "2024-09-06T13:33:28.283"
