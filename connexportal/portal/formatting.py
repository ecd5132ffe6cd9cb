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
from dataclasses import dataclass
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


# A list page writes a few hundred amounts and quantities. Babel re-reads its pattern and the
# locale's symbols for each one (about 25 us a call), so each (locale, currency) gets a
# NumberShape made once from Babel's own pattern and symbols, which renders the same text in
# about 2 us. A shape is used only if it renders the probes below exactly as Babel does.
_MONEY_PROBES = ("0", "-0", "1", "-1", "0.5", "12.34", "-1234.56", "1234567.89", "-98765432.1", "100000")
_NUMBER_PROBES = ("0", "12", "-3", "1.5", "1234.25", "-1234.5", "1234567", "0.125", "98765432.0625", "1000")


@dataclass(frozen=True)
class NumberShape:
    """How one locale writes numbers of one pattern: sign-dependent prefix and suffix, separators, grouping."""

    prefixes: tuple[str, str]
    suffixes: tuple[str, str]
    decimal: str
    group: str
    grouping: tuple[int, int]

    def render(self, value: Decimal) -> str:
        """``value`` with the digits it carries (already rounded as the caller wants)."""
        whole, _dot, fraction = f"{abs(value):f}".partition(".")
        size, grouped = self.grouping[0], ""
        while len(whole) > size:
            grouped = self.group + whole[-size:] + grouped
            whole = whole[:-size]
            size = self.grouping[1]
        negative = value.is_signed()
        number = whole + grouped + (self.decimal + fraction if fraction else "")
        return self.prefixes[negative] + number + self.suffixes[negative]


def _shape(pattern, babel_locale: Locale, currency: str | None = None) -> NumberShape:
    affixes = (*pattern.prefix, *pattern.suffix)
    if currency is not None:
        symbol = numbers.get_currency_symbol(currency, babel_locale)
        affixes = tuple(text.replace("¤¤", currency.upper()).replace("¤", symbol) for text in affixes)
    symbols = babel_locale.number_symbols[babel_locale.default_numbering_system]
    return NumberShape(
        prefixes=affixes[:2],
        suffixes=affixes[2:],
        decimal=symbols["decimal"],
        group=symbols["group"],
        grouping=pattern.grouping,
    )


def _babel_money(value: Decimal, currency: str, babel_locale: Locale) -> str:
    return numbers.format_currency(value, currency, locale=babel_locale)


def _babel_number(value: Decimal, babel_locale: Locale) -> str:
    return numbers.format_decimal(value, locale=babel_locale, decimal_quantization=False)


@functools.cache
def _money_shape(currency: str, code: str) -> tuple[NumberShape | None, int]:
    """The shape of ``currency`` amounts in language ``code`` (None: Babel's own path), and its decimals."""
    babel_locale = _locale(code)
    digits = numbers.get_currency_precision(currency)
    pattern = babel_locale.currency_formats["standard"]
    shape = None if "¤¤¤" in pattern.pattern or "'" in pattern.pattern else _shape(pattern, babel_locale, currency)
    for probe in _MONEY_PROBES:
        value = _money_value(probe, digits)
        if shape is not None and shape.render(value) != _babel_money(value, currency, babel_locale):
            shape = None
    return shape, digits


@functools.cache
def _number_shape(code: str) -> NumberShape | None:
    babel_locale = _locale(code)
    pattern = babel_locale.decimal_formats[None]
    shape = None if "'" in pattern.pattern else _shape(pattern, babel_locale)
    for probe in _NUMBER_PROBES:
        value = _number_value(probe)
        if shape is not None and shape.render(value) != _babel_number(value, babel_locale):
            shape = None
    return shape


def _money_value(amount: Decimal | int | str, digits: int) -> Decimal:
    return Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _number_value(value: Decimal | int | str) -> Decimal:
    number = Decimal(value)
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize() if number.is_finite() else number


def _language(locale: str | None) -> str:
    return locale or translation.get_language() or settings.LANGUAGE_CODE


def format_money(amount: Decimal | int | str | None, currency: str, *, locale: str | None = None) -> str:
    """An amount in ``currency`` (ISO 4217): ``$18.74`` in English, ``18,74 $US`` in French."""
    if amount is None or amount == "":
        return MISSING
    code = _language(locale)
    shape, digits = _money_shape(currency, code)
    value = _money_value(amount, digits)
    if shape is not None and value.is_finite():
        text = shape.render(value)
    else:
        text = _babel_money(value, currency, _locale(code))
    return _LETTERS_THEN_DIGIT.sub("\N{NO-BREAK SPACE}", text)


def format_number(value: Decimal | int | str | None, *, locale: str | None = None) -> str:
    """A quantity with the language's separators; whole numbers without decimals (12, 1.5, 1,234.25)."""
    if value is None or value == "":
        return MISSING
    code = _language(locale)
    number = _number_value(value)
    shape = _number_shape(code)
    if shape is not None and number.is_finite():
        return shape.render(number)
    return _babel_number(number, _locale(code))


# Days and times of day repeat on a page (and across pages): their text is kept per language.
@functools.lru_cache(maxsize=4096)
def _day_text(day: dt.date, code: str) -> str:
    return dates.format_date(day, "medium", locale=_locale(code))


@functools.lru_cache(maxsize=4096)
def _time_text(time: dt.time, code: str) -> str:
    # Short times show hours and minutes only.
    return dates.format_time(time, "short", locale=_locale(code))


def format_date(value: dt.date | dt.datetime | None, *, tz: str | dt.tzinfo | None = None, locale=None) -> str:
    """A day: ``Jul 1, 2026``, ``1 jul 2026``, ``1 juil. 2026``; a datetime's day in ``tz``."""
    if value is None:
        return MISSING
    if isinstance(value, dt.datetime):
        value = value.astimezone(_tzinfo(tz)).date()
    return _day_text(value, _language(locale))


def format_time(value: dt.datetime | None, *, tz: str | dt.tzinfo | None, locale: str | None = None) -> str:
    """A time of day in ``tz``: ``8:05 AM``, ``8:05``, ``08:05``."""
    if value is None:
        return MISSING
    return _time_text(_minute(value.astimezone(_tzinfo(tz))), _language(locale))


def format_datetime(value: dt.datetime | None, *, tz: str | dt.tzinfo | None, locale: str | None = None) -> str:
    """A moment in ``tz``, day and time: ``Jul 1, 2026, 8:05 AM``, ``1 juil. 2026, 08:05``."""
    if value is None:
        return MISSING
    code = _language(locale)
    moment = value.astimezone(_tzinfo(tz))
    pattern = _datetime_pattern(code)
    return pattern.replace("{1}", _day_text(moment.date(), code)).replace("{0}", _time_text(_minute(moment), code))


def _minute(moment: dt.datetime) -> dt.time:
    return dt.time(moment.hour, moment.minute)


@functools.cache
def _datetime_pattern(code: str) -> str:
    return str(_locale(code).datetime_formats["medium"]).replace("'", "")
