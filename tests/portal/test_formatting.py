import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from connexportal.portal.formatting import format_date, format_datetime, format_money, format_number, format_time
from connexportal.portal.templatetags.portal import in_zone, money, quantity, span

NBSP, NNBSP = "\N{NO-BREAK SPACE}", "\N{NARROW NO-BREAK SPACE}"


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("1234.5"), "USD", "$1,234.50"),
        (Decimal("-3"), "GBP", "-£3.00"),
        (Decimal("0.005"), "EUR", "€0.01"),
        (Decimal("12"), "CHF", f"CHF{NBSP}12.00"),
        (Decimal("1234.5"), "JPY", "¥1,235"),
        (None, "USD", "—"),
    ],
)
def test_money(value, currency, expected):
    with translation.override("en"):
        assert money(value, currency) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "$18.74"), ("es", f"18,74{NBSP}US$"), ("fr", f"18,74{NBSP}$US")],
)
def test_money_is_written_as_the_language_writes_it(language, expected):
    assert format_money(Decimal("18.74"), "USD", locale=language) == expected
    with translation.override(language):
        assert money(Decimal("18.74"), "USD") == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "1,234,567.25"), ("es", "1.234.567,25"), ("fr", f"1{NNBSP}234{NNBSP}567,25")],
)
def test_numbers_use_the_languages_separators(language, expected):
    assert format_number(Decimal("1234567.25"), locale=language) == expected


@pytest.mark.parametrize(
    ("language", "moment", "day", "time"),
    [
        ("en", "Jul 1, 2026, 8:05\N{NARROW NO-BREAK SPACE}AM", "Jul 1, 2026", "8:05\N{NARROW NO-BREAK SPACE}AM"),
        ("es", "1 jul 2026, 8:05", "1 jul 2026", "8:05"),
        ("fr", "1 juil. 2026, 08:05", "1 juil. 2026", "08:05"),
    ],
)
def test_dates_and_times_in_the_merchants_zone_and_language(language, moment, day, time):
    instant = dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC)
    assert format_datetime(instant, tz="America/New_York", locale=language) == moment
    assert format_date(instant, tz="America/New_York", locale=language) == day
    assert format_time(instant, tz="America/New_York", locale=language) == time


def test_a_datetimes_day_is_the_day_in_the_zone_asked_for():
    late_evening_in_new_york = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
    assert format_date(late_evening_in_new_york, tz="America/New_York", locale="en") == "Jul 1, 2026"
    assert format_date(late_evening_in_new_york, tz="UTC", locale="en") == "Jul 2, 2026"
    assert format_date(dt.date(2026, 7, 2), locale="en") == "Jul 2, 2026"


def test_an_unknown_zone_falls_back_to_utc_and_missing_values_to_a_dash():
    instant = dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC)
    assert format_time(instant, tz="Not/AZone", locale="es") == "12:05"
    assert format_datetime(None, tz="UTC") == format_date(None) == format_money(None, "USD") == "—"


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
    # In English whatever an earlier test's request left active (the white-label tests end in French).
    with translation.override("en"):
        assert span(value) == expected


def test_quantity_drops_trailing_zeros():
    with translation.override("en"):
        assert quantity(Decimal("12.00")) == "12"
        assert quantity(Decimal("1.50")) == "1.5"
        assert quantity(Decimal("1234")) == "1,234"


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


@pytest.mark.parametrize("language", ["en", "es", "fr", "hi", "ar", "de-ch"])
@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "BHD", "CHF", "INR"])
def test_fast_money_and_numbers_write_what_babel_writes(language, currency):
    """The shapes made once per locale render every amount exactly as Babel's own formatting does."""
    from babel import numbers

    from connexportal.portal.formatting import _LETTERS_THEN_DIGIT, _locale

    babel_locale = _locale(language)
    digits = numbers.get_currency_precision(currency)
    for raw in ("0", "-0.004", "7", "-12.345", "999.995", "1234.5", "-1234567.891", "100000000", "31415.9265"):
        amount = Decimal(raw).quantize(Decimal(1).scaleb(-digits), rounding="ROUND_HALF_UP")
        expected = _LETTERS_THEN_DIGIT.sub(NBSP, numbers.format_currency(amount, currency, locale=babel_locale))
        assert format_money(Decimal(raw), currency, locale=language) == expected
        number = Decimal(raw)
        number = number.quantize(Decimal(1)) if number == number.to_integral_value() else number
        assert format_number(Decimal(raw), locale=language) == numbers.format_decimal(
            number, locale=babel_locale, decimal_quantization=False
        )
