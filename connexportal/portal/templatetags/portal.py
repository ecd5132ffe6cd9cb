from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.templatetags.tz import do_timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "GBP": "£", "EUR": "€", "JPY": "¥"}


@register.filter
def money(value, currency: str = "USD") -> str:
    """An amount as currency: $1,234.50, -£3.00, 12.00 CHF."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    digits = number_format(abs(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


@register.filter
def quantity(value) -> str:
    if value is None:
        return "—"
    normalized = Decimal(value).normalize()
    return number_format(normalized if normalized == normalized.to_integral() else value, use_l10n=True)


@register.filter
def in_zone(value: dt.datetime | None, zone: str) -> dt.datetime | None:
    """The same instant on the merchant's wall clock.

    Through Django's own ``timezone`` filter: a plain ``astimezone`` result would be converted
    back to the server's zone by ``date``, which localizes every aware datetime it is given.
    """
    if value is None:
        return None
    try:
        return do_timezone(value, zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return value


@register.filter
def utc(value: dt.datetime | None) -> dt.datetime | None:
    return do_timezone(value, dt.UTC) if value else None


@register.filter
def span(value: dt.timedelta | None) -> str:
    """A length of time in words: 2 days 3 h 5 min, or 42 s under a minute."""
    if value is None:
        return "—"
    if value.total_seconds() < 60:
        return _("%(n)d s") % {"n": max(0, int(value.total_seconds()))}
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes or not parts:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts)
