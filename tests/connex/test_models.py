"""The spec's samples and routes.py's examples parse into the right values; requests serialize as Connex expects."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from connexportal.connex import routes
from connexportal.connex.models import (
    CONNECTIONS_ADAPTER,
    NEW_ORDERS_ADAPTER,
    LoginResponse,
    NewOrder,
    NewProduct,
    OrderQuery,
    OrdersPage,
    OrderType,
    ProblemDetails,
    ProductQuery,
    ProductsPage,
    RunNowRequest,
    RunNowResponse,
    UpdateSettingsRequest,
    UpdateSettingsResponse,
)

from . import samples

REPORTING_USER = "f444a9f4-1fc4-42cd-9361-25c36f4ff418"
REQUIRED_ORDER_FIELDS = {
    "ReportingUserId": REPORTING_USER,
    "UserConnectionId": 951,
    "OrderTotal": 10.5,
    "TotalTax": 0.5,
    "OrderDate": "2024-09-06T13:33:28.283Z",
    "OrderNumber": "WEB-1001",
    "CustomerName": "Joe Example",
    "Deleted": False,
}


def pascal_keys(value):
    """The same JSON with every key's first letter upper-cased, as ASP.NET writes with no naming policy."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: pascal_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal_keys(item) for item in value]
    return value


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- Products ----------------------------------------------------------------------------


def test_products_sample_parses_every_field_of_both_products():
    page = ProductsPage.model_validate_json(samples.PRODUCTS_RESPONSE)

    assert page.unknown_skus_count == 0
    assert (page.meta.total_rows, page.meta.total_number_of_pages) == (9, 1)
    assert [product.id for product in page.products] == [133007, 133006]

    first, second = page.products
    assert first.name == "TEST_INV_PRODUCT"
    assert first.sku == "INVENTORY_PRODUCT"
    assert first.description == "" and first.asin == ""
    assert first.time_until_restock == 0 and first.days_to_receive == 0
    assert first.product_type == 0
    assert first.product_typ is None
    assert first.unit_cost == Decimal("98.00") and isinstance(first.unit_cost, Decimal)
    assert first.average_cost == Decimal("98.00")
    assert first.quantity_on_hand == Decimal("12.00")
    assert first.asset_value == first.sales_price == first.quantity == Decimal(0)
    assert first.quantity_on_order == first.quantity_on_sales_order == Decimal(0)
    assert first.reorder_point == first.max_quantity == Decimal(0)
    assert first.unit is None
    assert first.is_manual is False and first.has_unknown_sku is False
    assert first.channel_name == "QuickBooks Online"
    assert first.internal_note == "" and first.image_url == "" and first.image_urls == []
    assert first.created_at == datetime(2024, 8, 28, 7, 24, 57, 652168, tzinfo=UTC)
    assert first.updated_at == datetime(2024, 8, 28, 8, 3, 17, 688928, tzinfo=UTC)
    assert first.categories is not None
    assert (first.categories.category_id, first.categories.category_name) == (0, "")
    assert first.categories.sub_category_ids is None
    assert first.connection_ref is not None
    assert first.connection_ref.user_connection_id == 951
    assert first.connection_ref.user_connection_name == "QuickBooks Online"

    connection = first.user_connection
    assert connection is not None
    assert connection.id == 951
    assert connection.deleted is False
    assert connection.connection_type == 4 and connection.connection_type_name == "QuickBooks Online"
    assert connection.connection_type_id == 0
    assert connection.solution_website == "http://www.quickbooksonline.com"
    assert connection.reporting_user_id == UUID(REPORTING_USER)
    assert connection.reporting_user is None
    assert connection.date_created == datetime(2024, 8, 28, 7, 23, 43, 390337, tzinfo=UTC)
    assert connection.date_modified == datetime(2024, 8, 28, 7, 23, 43, 390340, tzinfo=UTC)
    assert connection.connection_settings == [] and connection.scheduled_tasks == []
    assert connection.reporting_orders == connection.reports == []
    assert connection.inventory_detail_logs == connection.notification_settings == []

    assert second.name == "IPHONE _ WHITE COVER"
    assert second.sku == "IPHONE_white112"
    assert second.unit_cost == Decimal("0.00")
    assert second.sales_price == Decimal("100.00")
    assert second.average_cost == Decimal(0) and second.quantity_on_hand == Decimal(0)
    assert second.created_at == datetime(2024, 8, 28, 7, 24, 57, 652164, tzinfo=UTC)
    assert second.updated_at == datetime(2024, 8, 28, 8, 3, 5, 644861, tzinfo=UTC)


def test_products_sample_in_pascal_case_parses_to_the_same_values():
    camel = ProductsPage.model_validate_json(samples.PRODUCTS_RESPONSE)
    pascal = ProductsPage.model_validate_json(json.dumps(pascal_keys(json.loads(samples.PRODUCTS_RESPONSE))))

    assert pascal == camel
    assert pascal.products[0].days_to_receive == 0  # "DaystoReceive"
    assert pascal.products[0].categories is not None  # "ObjCategoryIds"


def test_products_page_ignores_unknown_fields_and_tolerates_the_quirks():
    product = json.loads(samples.PRODUCTS_RESPONSE)["lstProducts"][0]
    product.update(
        {"somethingNew": {"nested": True}, "productTyp": "Inventory", "unit": "each", "unitCost": "19.99"},
    )
    product["objCategoryIds"]["subCategoryIds"] = [{"categoryId": 7}]
    page = ProductsPage.model_validate({"lstProducts": [product]})

    parsed = page.products[0]
    assert parsed.product_typ == "Inventory"
    assert parsed.unit == "each"
    assert parsed.unit_cost == Decimal("19.99")
    assert parsed.categories is not None and parsed.categories.sub_category_ids is not None
    assert parsed.categories.sub_category_ids[0].category_id == 7
    assert not hasattr(parsed, "something_new")
    assert page.meta.total_number_of_pages == 0  # absent objMetaData -> empty meta, not an error


@pytest.mark.parametrize(("page_type", "key"), [(ProductsPage, "lstProducts"), (OrdersPage, "lstAllOrders")])
def test_null_rows_are_an_empty_page_only_when_the_total_says_so(page_type, key):
    for body in (
        f'{{"{key}": null, "objMetaData": {{"totalRows": 0}}}}',
        f'{{"{key}": null, "ObjMetaData": {{"TotalRows": 0}}}}',
    ):
        page = page_type.model_validate_json(body)
        assert page.rows == [] and page.total_rows == 0
    for body in (f'{{"{key}": null, "objMetaData": {{"totalRows": 3}}}}', f'{{"{key}": null}}', "{}"):
        with pytest.raises(ValidationError):
            page_type.model_validate_json(body)


def test_money_never_becomes_float():
    page = ProductsPage.model_validate_json(samples.PRODUCTS_RESPONSE)
    product = page.products[0]
    for name in ("unit_cost", "asset_value", "sales_price", "average_cost", "quantity_on_hand"):
        assert type(getattr(product, name)) is Decimal, name
    orders = OrdersPage.model_validate_json(samples.ORDERS_RESPONSE)
    assert type(orders.orders[0].total_product_sales) is Decimal


@pytest.mark.parametrize("number", ["0.1", "19.99", "1234567890123.45", "-0.07", "999999999999999"])
def test_json_numbers_of_up_to_15_significant_digits_are_exact(number):
    body = f'{{"lstProducts": [{{"id": 1, "unitCost": {number}}}]}}'
    assert ProductsPage.model_validate_json(body).products[0].unit_cost == Decimal(number)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-28T07:23:43.3903372", datetime(2024, 8, 28, 7, 23, 43, 390337, tzinfo=UTC)),
        ("2024-08-28T07:23:43", datetime(2024, 8, 28, 7, 23, 43, tzinfo=UTC)),
        ("2024-08-28T07:23:43.39Z", datetime(2024, 8, 28, 7, 23, 43, 390000, tzinfo=UTC)),
        ("2024-08-28T09:23:43+02:00", datetime(2024, 8, 28, 7, 23, 43, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text, expected):
    body = json.dumps({"lstProducts": [{"id": 1, "createdAt": text}]})
    created_at = ProductsPage.model_validate_json(body).products[0].created_at
    assert created_at == expected
    assert created_at.tzinfo is UTC


def test_product_query_sample_round_trips_in_the_spec_shape():
    query = ProductQuery.model_validate_json(samples.PRODUCTS_QUERY)
    assert (query.page_number, query.page_size, query.product_type, query.user_connection_id) == (1, 10, None, 0)
    assert json.loads(query.model_dump_json()) == json.loads(samples.PRODUCTS_QUERY)


# --- Orders ------------------------------------------------------------------------------


def test_orders_sample_parses_every_field():
    page = OrdersPage.model_validate_json(samples.ORDERS_RESPONSE)

    assert (page.meta.total_rows, page.meta.total_number_of_pages) == (1, 1)
    (order,) = page.orders
    assert order.id == 0
    assert order.order_number == "JMA1189"
    assert order.order_date == datetime(2024, 7, 29, 8, 24, 27, tzinfo=UTC)
    assert order.channel == "Shopify"
    assert order.total_product_sales == Decimal("920.16")
    assert order.user_connection_id == 944
    assert order.chip_color == ""
    assert [item.product_name for item in order.items] == ["JMA Blue T Shirt - S", "JMA Blue T Shirt - M"]
    assert [item.sku for item in order.items] == ["JMA Blue T Shirt-1", "JMA Blue T Shirt-2"]
    for item in order.items:
        assert item.ordered_product_quantity == Decimal(1)
        assert item.total_sold_price == Decimal(2) and item.unit_price == Decimal(2)
        assert item.images_url == []
        assert item.order_number_summary == ["JMA1189"]


def test_orders_sample_in_pascal_case_parses_to_the_same_values():
    pascal = json.dumps(pascal_keys(json.loads(samples.ORDERS_RESPONSE)))
    assert OrdersPage.model_validate_json(pascal) == OrdersPage.model_validate_json(samples.ORDERS_RESPONSE)


def test_orders_query_sample_parses_and_serializes_dates_as_month_day_year():
    query = OrderQuery.model_validate_json(samples.ORDERS_QUERY)
    assert (query.begin_date, query.end_date) == (date(2024, 5, 5), date(2024, 9, 5))
    assert json.loads(query.model_dump_json()) == json.loads(samples.ORDERS_QUERY)


@pytest.mark.parametrize(
    "value", [date(2024, 1, 2), datetime(2024, 1, 2, 23, 0, tzinfo=UTC), "01/02/2024", "2024-01-02"]
)
def test_orders_query_accepts_dates_in_any_form_and_sends_month_day_year(value):
    query = OrderQuery(begin_date=value, end_date=date(2024, 1, 31))
    assert json.loads(query.model_dump_json())["beginDate"] == "01/02/2024"


def test_orders_query_date_of_an_aware_datetime_is_its_utc_day():
    late_in_new_york = datetime(2024, 1, 2, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert OrderQuery(begin_date=late_in_new_york, end_date="01/31/2024").begin_date == date(2024, 1, 3)


def test_orders_query_rejects_a_reversed_range():
    with pytest.raises(ValidationError):
        OrderQuery(begin_date="02/01/2024", end_date="01/01/2024")


def test_create_orders_sample_parses_with_its_quirks():
    (sample,) = json.loads(samples.CREATE_ORDERS_REQUEST)
    order = NewOrder.model_validate(sample | REQUIRED_ORDER_FIELDS)

    assert order.order_type is OrderType.WEB_ORDER  # "orderType": "0"
    assert order.shipping_method == "UPS"  # "ShippingMethod" beside camelCase keys
    assert order.shipping_excl_tax == Decimal(2) and order.shipping_incl_tax == Decimal(2)  # "2" strings
    assert order.total_excl_tax == Decimal(4)
    assert order.discount_excl_tax == order.discount_incl_tax == Decimal(3)
    assert order.creation_date == datetime(2024, 9, 6, 13, 33, 28, 283000, tzinfo=UTC)
    assert order.credit_card_name == "Credit Card"
    assert order.order_date == datetime(2024, 9, 6, 13, 33, 28, 283000, tzinfo=UTC)
    assert order.reporting_user_id == UUID(REPORTING_USER)
    assert order.order_total == Decimal("10.5") and order.total_tax == Decimal("0.5")
    assert order.deleted is False
    for address in (order.billing_address, order.shipping_address):
        assert address is not None
        assert address.address1 == "123 Main St." and address.address2 == "STE 100"
        assert (address.city, address.region_name, address.postal_code) == ("Watertown", "MA", "02472")
        assert (address.country_name, address.two_letter_iso_code) == ("United States", "US")
        assert (address.first_name, address.last_name, address.full_name) == ("Joe", "Example", "Joe Example")
        assert (address.company, address.email, address.phone_number) == (
            "Connex",
            "example@example.com",
            "7813300737",
        )
    (detail,) = order.order_details
    assert (detail.name, detail.sku, detail.vendor) == ("My Product", "Product123", "Sample Vendor")
    assert (detail.price_excl_tax, detail.price_incl_tax, detail.quantity) == (Decimal(2), Decimal(3), Decimal(2))
    assert [(o.name, o.value, o.sku, o.quantity) for o in detail.options] == [
        ("Color", "Red", "Product1234", Decimal(2))
    ]
    assert [(f.name, f.value, f.order_number, f.mapped) for f in detail.jma_custom_fields] == [("sadsa", "", "", True)]
    assert detail.custom_fields == detail.jma_custom_fields
    assert detail.order_numbers_for_item_summary == []
    assert detail.categories == ["My product categories"]
    assert detail.has_known_sku is True
    assert detail.fees == {f"additionalProp{n}": Decimal(2) for n in (1, 2, 3)}


@pytest.mark.parametrize("missing", ["ReportingUserId", "UserConnectionId", "OrderNumber", "OrderDate", "OrderTotal"])
def test_new_order_requires_the_spec_required_properties(missing):
    fields = dict(REQUIRED_ORDER_FIELDS)
    del fields[missing]
    with pytest.raises(ValidationError):
        NewOrder.model_validate(fields)


def test_order_type_enum_matches_the_spec():
    assert [(member.name, member.value) for member in OrderType] == [
        ("WEB_ORDER", 0),
        ("WEB_REFUND", 1),
        ("INVOICE", 2),
        ("CREDIT_MEMO", 3),
        ("SALES_ORDER", 4),
        ("SALES_RECEIPT", 5),
        ("REFUND_RECEIPT", 6),
    ]
    assert NewOrder.model_validate(REQUIRED_ORDER_FIELDS | {"OrderType": 6}).order_type is OrderType.REFUND_RECEIPT


def test_new_orders_serialize_camel_case_with_numbers_and_utc_dates():
    order = NewOrder(
        reporting_user_id=UUID(REPORTING_USER),
        user_connection_id=951,
        order_number="WEB-1",
        order_date=datetime(2024, 9, 6, 13, 33, 28),
        customer_name="Joe",
        order_total=Decimal("19.99"),
        total_tax=Decimal("1.50"),
        order_type=OrderType.WEB_REFUND,
        shipping_excl_tax=Decimal("12345678901234567.891"),
    )
    (body,) = json.loads(NEW_ORDERS_ADAPTER.dump_json([order], by_alias=True, exclude_none=True))

    assert body["reportingUserId"] == REPORTING_USER
    assert body["userConnectionId"] == 951
    assert body["orderNumber"] == "WEB-1"
    assert body["orderDate"] == "2024-09-06T13:33:28Z"
    assert body["orderTotal"] == 19.99 and body["totalTax"] == 1.5
    assert body["orderType"] == 1 and body["deleted"] is False
    # Too precise for a float: sent as a string rather than rounded.
    assert body["shippingExclTax"] == "12345678901234567.891"
    assert "shipDate" not in body  # unset optional fields are left out, not sent as null


def test_new_order_money_is_exact_on_the_wire():
    order = NewOrder.model_validate(REQUIRED_ORDER_FIELDS | {"OrderTotal": "0.10", "TotalTax": "1234567.89"})
    wire = NEW_ORDERS_ADAPTER.dump_json([order], by_alias=True).decode()
    assert re.search(r'"orderTotal":0\.1[,}]', wire)
    assert '"totalTax":1234567.89' in wire


# --- Add product -------------------------------------------------------------------------


def test_add_product_sample_parses_and_serializes_back_to_the_same_body():
    product = NewProduct.model_validate_json(samples.ADD_PRODUCT_REQUEST)

    assert product.reporting_user_id == UUID("0e56eeb0-9c1d-42b3-8a61-4376516718d2")
    assert (product.name, product.sku, product.user_connection_id) == ("Test Custom", "TestCustom", 1)
    assert product.image_urls == ["string"]
    assert product.is_active is True and product.is_manual is True
    assert product.unit == 0
    assert product.categories is not None and product.categories.sub_category_ids is not None
    assert product.categories.sub_category_ids[0].category_id == 0
    body = json.loads(product.model_dump_json(exclude_none=True))
    assert body == json.loads(samples.ADD_PRODUCT_REQUEST)


def test_new_product_requires_its_identity():
    with pytest.raises(ValidationError):
        NewProduct(reporting_user_id=UUID(REPORTING_USER), user_connection_id=1, name="", sku="A")


# --- Inferred shapes (routes.py examples are normative) ----------------------------------


def test_connections_example_parses():
    (connection,) = CONNECTIONS_ADAPTER.validate_json(json.dumps(routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE))

    assert connection.id == 951
    assert connection.user_connection_name == "Amazon US"
    assert connection.connection_type_name == "Amazon"
    assert connection.settings_by_name() == {
        "LastDownloadUtc": "2024-08-27T00:00:00",
        "LastDownloadUtcEnd": "2024-08-27T23:59:59",
        "SummaryTransactionGroupBy": "1",
        "SolutionPassword": "refresh-token",
    }
    (task,) = connection.scheduled_tasks
    assert (task.id, task.task_type, task.task_type_label, task.enabled) == (77, 0, "Orders", True)
    assert (task.interval_seconds, task.status) == (86400, "Completed")
    assert task.last_run_utc == utc(2024, 8, 28, 5, 45)
    assert task.next_run_utc == utc(2024, 8, 29, 5, 45)
    (run,) = task.run_logs
    assert (run.id, run.scheduled_task_id, run.status, run.trigger) == (5001, 77, "Completed", "Schedule")
    assert (run.queued_utc, run.started_utc, run.finished_utc) == (
        utc(2024, 8, 28, 5, 45),
        utc(2024, 8, 28, 5, 45, 1),
        utc(2024, 8, 28, 5, 45, 4),
    )
    assert (run.orders_downloaded, run.orders_skipped) == (12, 1)
    assert run.message == "Downloaded 12 orders, skipped 1 duplicate"


def test_connections_example_in_pascal_case_parses_to_the_same_values():
    pascal = json.dumps(pascal_keys(routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE))
    assert CONNECTIONS_ADAPTER.validate_json(pascal) == CONNECTIONS_ADAPTER.validate_json(
        json.dumps(routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE)
    )


def test_secret_setting_values_never_show_in_a_repr():
    (connection,) = CONNECTIONS_ADAPTER.validate_python(routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE)
    assert "refresh-token" not in repr(connection)
    assert "refresh-token" not in str(connection)
    assert "2024-08-27T00:00:00" in repr(connection)  # ordinary settings stay visible


def test_update_settings_request_and_response_match_the_examples():
    request = UpdateSettingsRequest.model_validate(routes.UPDATE_SETTINGS_REQUEST_EXAMPLE)
    assert json.loads(request.model_dump_json()) == routes.UPDATE_SETTINGS_REQUEST_EXAMPLE

    response = UpdateSettingsResponse.model_validate_json(json.dumps(routes.UPDATE_SETTINGS_RESPONSE_EXAMPLE))
    assert response.user_connection_id == 951
    assert response.settings_by_name()["SummaryTransactionGroupBy"] == "1"
    assert [setting.id for setting in response.connection_settings] == [1, 2, 3, 4]


def test_run_now_request_and_response_match_the_examples():
    request = RunNowRequest.model_validate(routes.RUN_NOW_REQUEST_EXAMPLE)
    assert json.loads(request.model_dump_json()) == routes.RUN_NOW_REQUEST_EXAMPLE
    assert json.loads(RunNowRequest(user_connection_id=951).model_dump_json(exclude_none=True)) == {
        "userConnectionId": 951
    }

    response = RunNowResponse.model_validate_json(json.dumps(routes.RUN_NOW_RESPONSE_EXAMPLE))
    assert (response.user_connection_id, response.scheduled_task_id, response.run_id) == (951, 77, 5002)
    assert response.status == "Queued"
    assert response.queued_utc == utc(2024, 8, 28, 9)


def test_problem_details_example_parses():
    problem = ProblemDetails.model_validate_json(json.dumps(routes.PROBLEM_EXAMPLE))
    assert problem.title == "One or more validation errors occurred."
    assert problem.status == 400
    assert problem.detail == "Order 1 of 2: OrderNumber is required."
    assert problem.errors == {"[0].OrderNumber": ["The OrderNumber field is required."]}


# --- Login shapes ------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "expires_at"),
    [
        (json.dumps(routes.LOGIN_RESPONSE_EXAMPLE), datetime(2026, 11, 27, 13, 25, 54, 123456, tzinfo=UTC)),
        ('"abc.def.ghi"', None),
        ('{"token": "abc.def.ghi"}', None),
        ('{"Token": "abc.def.ghi", "Expiration": "2026-01-01T01:00:00"}', datetime(2026, 1, 1, 1, tzinfo=UTC)),
        ('{"accessToken": "abc.def.ghi", "expires_in": 3600}', NOW + timedelta(hours=1)),
        ('{"access_token": "abc.def.ghi", "token_type": "bearer", "expires_in": 60}', NOW + timedelta(minutes=1)),
    ],
)
def test_login_response_shapes(body, expires_at):
    answer = LoginResponse.model_validate_json(body)
    assert answer.token.get_secret_value() in ("abc.def.ghi", routes.LOGIN_RESPONSE_EXAMPLE["token"])
    assert answer.expires_at(NOW) == expires_at
    assert "abc.def.ghi" not in repr(answer)


@pytest.mark.parametrize("body", ['""', '{"token": ""}', '{"token": "two words"}', '{"jwtToken": "x"}', "[]", "{"])
def test_login_response_without_a_usable_token_is_rejected(body):
    with pytest.raises(ValidationError):
        LoginResponse.model_validate_json(body)
