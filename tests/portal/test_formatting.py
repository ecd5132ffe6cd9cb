import datetime as dt
from decimal import Decimal

import pytest

from connexportal.portal.templatetags.portal import in_zone, money, quantity, span


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("1234.5"), "USD", "$1,234.50"),
        (Decimal("-3"), "GBP", "-£3.00"),
        (Decimal("0.005"), "EUR", "€0.01"),
        (Decimal("12"), "CHF", "12.00 CHF"),
        (None, "USD", "—"),
    ],
)
def test_money(value, currency, expected):
    assert money(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.timedelta(seconds=3), "3 s"),
        (dt.timedelta(seconds=59), "59 s"),
        (dt.timedelta(minutes=5), "5 min"),
        (dt.timedelta(days=1, hours=23, minutes=59), "1 day 23 h 59 min"),
        (dt.timedelta(days=2), "2 days"),
        (None, "—"),
    ],
)
def test_span(value, expected):
    assert span(value) == expected


def test_quantity_drops_trailing_zeros():
    assert quantity(Decimal("12.00")) == "12"
    assert quantity(Decimal("1.50")) == "1.50"


def test_in_zone_shows_the_merchants_wall_clock():
    instant = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert in_zone(instant, "America/New_York").hour == 8
    assert in_zone(instant, "Not/AZone") == instant


def test_rows_escape_everything_connex_sends():
    from connexportal.portal.services import OrderLine, OrderRow, ProductRow
    from connexportal.portal.templatetags.portal import order_rows, product_rows

    evil = "<script>alert(1)</script>"
    product = ProductRow(
        id=1,
        name=evil,
        sku=evil,
        description=evil,
        product_type=0,
        type_label=evil,
        sales_price=Decimal("1"),
        unit_cost=None,
        average_cost=None,
        quantity_on_hand=Decimal("2"),
        quantity_on_order=None,
        is_manual=True,
        has_unknown_sku=True,
        connection_id=1,
        connection_name=evil,
        updated_at=None,
        created_at=None,
    )
    line = OrderLine(product_name=evil, sku=evil, quantity=Decimal("1"), unit_price=Decimal("2"), total=Decimal("2"))
    order = OrderRow(
        id=1,
        order_number=evil,
        order_date=None,
        channel=evil,
        customer_name=evil,
        total=Decimal("2"),
        connection_id=1,
        lines=(line,),
    )
    for html in (product_rows([product], "USD"), order_rows([order], "USD")):
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Unknown SKU" in product_rows([product], "USD")
