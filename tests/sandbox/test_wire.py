from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connexportal.sandbox import wire


def test_dumps_is_compact_and_keeps_decimal_scale():
    value = {"unitCost": Decimal("98.00"), "n": 3, "f": 1.5, "ok": True, "no": False, "none": None, "list": [1, "a"]}
    assert wire.dumps(value) == '{"unitCost":98.00,"n":3,"f":1.5,"ok":true,"no":false,"none":null,"list":[1,"a"]}'


def test_dumps_escapes_non_ascii_and_embeds_raw_json_verbatim():
    assert wire.dumps({"name": 'Café "x"', "raw": wire.RawJSON('{"id":1}')}) == (
        '{"name":"Caf\\u00e9 \\"x\\"","raw":{"id":1}}'
    )


@pytest.mark.parametrize("bad", [Decimal("NaN"), float("inf"), object()])
def test_dumps_refuses_what_json_cannot_hold(bad):
    with pytest.raises((ValueError, TypeError)):
        wire.dumps([bad])


def test_timestamps_have_seven_fraction_digits_no_zone_and_mean_utc():
    moment = datetime(2024, 8, 28, 9, 23, 43, 390337, tzinfo=timezone(timedelta(hours=2)))
    assert wire.timestamp(moment) == "2024-08-28T07:23:43.3903370"
    assert wire.timestamp_z(moment) == "2024-08-28T07:23:43.3903370Z"
    assert wire.timestamp(None) is None


def test_order_dates_show_a_fraction_only_when_there_is_one():
    assert wire.order_date(datetime(2024, 7, 29, 8, 24, 27, tzinfo=UTC)) == "2024-07-29T08:24:27"
    assert wire.order_date(datetime(2024, 7, 29, 8, 24, 20, 283000, tzinfo=UTC)) == "2024-07-29T08:24:20.283"
    assert wire.setting_timestamp(datetime(2024, 8, 27, tzinfo=UTC)) == "2024-08-27T00:00:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-28T07:23:43.3903372", datetime(2024, 8, 28, 7, 23, 43, 390337, tzinfo=UTC)),
        ("2024-09-06T13:33:28.283Z", datetime(2024, 9, 6, 13, 33, 28, 283000, tzinfo=UTC)),
        ("2024-09-06T15:33:28+02:00", datetime(2024, 9, 6, 13, 33, 28, tzinfo=UTC)),
        ("2024-09-01", datetime(2024, 9, 1, tzinfo=UTC)),
        ("09/05/2024", datetime(2024, 9, 5, tzinfo=UTC)),
        ("9/5/2024 14:30", datetime(2024, 9, 5, 14, 30, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_reads_dotnet_iso_and_us_forms_as_utc(text, expected):
    assert wire.parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "13/45/2024", "2024-02-30T00:00:00", "NaN"])
def test_parse_timestamp_rejects_what_is_not_a_moment(text):
    with pytest.raises(ValueError):
        wire.parse_timestamp(text)


def test_query_dates_are_us_style_as_the_spec_sends_them():
    assert wire.parse_query_date("05/05/2024") == date(2024, 5, 5)
    assert wire.parse_query_date("2024-05-05") == date(2024, 5, 5)
    with pytest.raises(ValueError):
        wire.parse_query_date("5 May 2024")


def test_trim_decimal_drops_trailing_zeros_without_exponents():
    assert str(wire.trim_decimal(Decimal("920.10"))) == "920.1"
    assert str(wire.trim_decimal(Decimal("2.00"))) == "2"
    assert str(wire.trim_decimal(Decimal("20.00"))) == "20"
    assert str(wire.trim_decimal(Decimal("0.00"))) == "0"
