"""Money, numbers, dates and times as the reader's language writes them (Babel).

The one place the merchant pages turn values into text: templates reach these functions
through the ``portal`` template filters, and rows rendered in Python call them directly.
Each takes an explicit ``locale`` (a language code such as ``"fr"``), or uses the language
active for the request. Times are shown in a time zone the caller names: the merchant's, or
UTC where the page says so.

    format_money(Decimal("18.74"), "USD")                 # en: $18.74   fr: 18,74 $US
    format_datetime(moment, tz="America/New_York")        # en: Jul 1, 2026, 8:05 AM
    format_date(moment, tz="UTC")                          # es: 1 jul 2026
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, dates, numbers
from django.conf import settings
from django.utils import translation

MISSING = "\N{EM DASH}"
# CLDR's currency spacing, which Babel leaves out: a currency written in letters gets a
# no-break space before the digits it touches ("CHF 12.00", never "CHF12.00").
_LETTERS_THEN_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)")


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(translation.to_locale(code))


def locale_for(code: str | None = None) -> Locale:
    """The Babel locale of a language code, or of the language active now."""
    return _locale(code or translation.get_language() or settings.LANGUAGE_CODE)


@functools.cache
def zone(name: str | None) -> dt.tzinfo:
    """A time zone by its IANA name; UTC for an empty or unknown one."""
    if not name or name == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _tzinfo(tz: str | dt.tzinfo | None) -> dt.tzinfo:
    return tz if isinstance(tz, dt.tzinfo) else zone(tz)


def format_money(amount: Decimal | int | str | None, currency: str, *, locale: str | None = None) -> str:
    """An amount in ``currency`` (ISO 4217): ``$18.74`` in English, ``18,74 $US`` in French."""
    if amount is None or amount == "":
        return MISSING
    digits = numbers.get_currency_precision(currency)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = numbers.format_currency(value, currency, locale=locale_for(locale))
    return _LETTERS_THEN_DIGIT.sub("\N{NO-BREAK SPACE}", text)


def format_number(value: Decimal | int | str | None, *, locale: str | None = None) -> str:
    """A quantity with the language's separators; whole numbers without decimals (12, 1.5, 1,234.25)."""
    if value is None or value == "":
        return MISSING
    number = Decimal(value)
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return numbers.format_decimal(number, locale=locale_for(locale), decimal_quantization=False)


def format_date(value: dt.date | dt.datetime | None, *, tz: str | dt.tzinfo | None = None, locale=None) -> str:
    """A day: ``Jul 1, 2026``, ``1 jul 2026``, ``1 juil. 2026``; a datetime's day in ``tz``."""
    if value is None:
        return MISSING
    if isinstance(value, dt.datetime):
        value = value.astimezone(_tzinfo(tz))
    return dates.format_date(value, "medium", locale=locale_for(locale))


def format_time(value: dt.datetime | None, *, tz: str | dt.tzinfo | None, locale: str | None = None) -> str:
    """A time of day in ``tz``: ``8:05 AM``, ``8:05``, ``08:05``."""
    if value is None:
        return MISSING
    return dates.format_time(value.astimezone(_tzinfo(tz)), "short", locale=locale_for(locale))


def format_datetime(value: dt.datetime | None, *, tz: str | dt.tzinfo | None, locale: str | None = None) -> str:
    """A moment in ``tz``, day and time: ``Jul 1, 2026, 8:05 AM``, ``1 juil. 2026, 08:05``."""
    if value is None:
        return MISSING
    babel_locale = locale_for(locale)
    moment = value.astimezone(_tzinfo(tz))
    pattern = babel_locale.datetime_formats["medium"]
    day = dates.format_date(moment, "medium", locale=babel_locale)
    time = dates.format_time(moment, "short", locale=babel_locale)
    return str(pattern).replace("'", "").replace("{1}", day).replace("{0}", time)
