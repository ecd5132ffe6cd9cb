"""How Connex writes and reads values on the wire (ASP.NET conventions, as the spec shows them)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from connexportal.connex import routes

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

# System.Text.Json's default encoder escapes non-ASCII characters too; this escaper is the C-accelerated one.
_escape = json.encoder.encode_basestring_ascii


class RawJSON(str):
    """A value that is already JSON text, written out verbatim (e.g. a userConnection encoded once per page)."""

    __slots__ = ()


def dumps(value: Any) -> str:
    """Compact JSON like System.Text.Json's: no spaces, decimals keep their scale (98.00 stays 98.00)."""
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value: Any, out: Callable[[str], object]) -> None:
    if isinstance(value, str):
        out(value if isinstance(value, RawJSON) else _escape(value))
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        out(format(value, "f"))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot write {value} as JSON")
        out(float.__repr__(value))
    elif isinstance(value, dict):
        out("{")
        first = True
        for key, item in value.items():
            if not first:
                out(",")
            first = False
            out(_escape(key))
            out(":")
            _write(item, out)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _write(item, out)
        out("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_response(value: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(value), status=status, content_type=JSON_CONTENT_TYPE)


def text_response(text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type=TEXT_CONTENT_TYPE)


def trim_decimal(value: Decimal) -> Decimal:
    """920.10 -> 920.1, 2.00 -> 2: the orders sample writes amounts without trailing zeros."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


# --- timestamps -------------------------------------------------------------------------
# The spec's timestamps have 7 fractional digits (.NET ticks) and no zone, and mean UTC.


def to_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def timestamp(moment: datetime | None) -> str | None:
    """``2024-08-28T07:23:43.3903372``: UTC, 7 fractional digits, no zone."""
    if moment is None:
        return None
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def timestamp_z(moment: datetime) -> str:
    """Like ``timestamp`` with a ``Z``, as LOGIN_RESPONSE_EXAMPLE's ``expiration`` has."""
    return timestamp(moment) + "Z"


def order_date(moment: datetime) -> str:
    """``2024-07-29T08:24:27``: the orders sample's form, with a fraction only when there is one."""
    text = to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0")
    return text.removesuffix(".")


def setting_timestamp(moment: datetime) -> str:
    """``2024-08-27T00:00:00``: how the window settings hold their values."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 (any fraction, optional zone) or ``MM/DD/YYYY[ HH:MM[:SS]]``.

    A value without a zone means UTC, as it does throughout Connex. Raises ValueError.
    """
    text = text.strip()
    match = _US_DATE.match(text)
    if match:
        month, day, year, hour, minute, second = (int(part) if part else 0 for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    if not text or not text[0].isdigit():
        raise ValueError(f"{text!r} is not a date and time")
    # Python keeps microseconds; .NET sends ticks (7 digits) and sometimes more.
    moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    return to_utc(moment)


def parse_query_date(text: str) -> date:
    """A list-orders ``beginDate``/``endDate``: ``MM/DD/YYYY`` (spec), or ``YYYY-MM-DD``. Raises ValueError."""
    text = text.strip()
    try:
        return datetime.strptime(text, routes.ORDERS_QUERY_DATE_FORMAT).date()
    except ValueError:
        return date.fromisoformat(text)
