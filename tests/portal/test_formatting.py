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
