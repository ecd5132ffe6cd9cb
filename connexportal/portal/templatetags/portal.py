from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import template
from django.templatetags.tz import do_timezone
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
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


# The two tags below render what every row of a list shows when opened. They build the
# HTML in Python because the same markup as template nodes costs several times more per
# row, and a page of rows must cost the portal far less than the one Connex call behind it.


def _timestamp(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


@register.simple_tag
def product_rows(products, currency: str) -> str:
    """The products table's rows, each opening onto the product's details."""
    labels = [
        escape(str(text))
        for text in (
            _("Type"),
            _("Unit cost"),
            _("Average cost"),
            _("On order"),
            _("Manual"),
            _("Created (UTC)"),
        )
    ]
    description_label = escape(_("Description"))
    yes, no, no_name = escape(_("Yes")), escape(_("No")), escape(_("(no name)"))
    unknown = f' <span class="badge badge-warning">{escape(_("Unknown SKU"))}</span>'
    rows = []
    for product in products:
        facts = [
            escape(str(product.type_label or "—")),
            escape(money(product.unit_cost, currency)),
            escape(money(product.average_cost, currency)),
            escape(quantity(product.quantity_on_order)),
            yes if product.is_manual else no,
            _timestamp(product.created_at),
        ]
        cells = "".join(
            f"<div><dt>{label}</dt><dd>{fact}</dd></div>" for label, fact in zip(labels, facts, strict=True)
        )
        if product.description:
            cells = f"<div><dt>{description_label}</dt><dd>{escape(product.description)}</dd></div>{cells}"
        updated = product.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%d") if product.updated_at else "—"
        rows.append(
            f"<tr><td><details><summary>{escape(product.name) if product.name else no_name}</summary>"
            f'<dl class="facts small">{cells}</dl></details></td>'
            f"<td><code>{escape(product.sku)}</code>{unknown if product.has_unknown_sku else ''}</td>"
            f'<td class="num">{escape(money(product.sales_price, currency))}</td>'
            f'<td class="num">{escape(quantity(product.quantity_on_hand))}</td>'
            f"<td>{updated}</td><td>{escape(product.connection_name)}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above


def _order_lines(order, currency: str, heading: str) -> str:
    if not order.lines:
        return f'<p class="muted">{escape(_("No line items."))}</p>'
    body = "".join(
        f"<tr><td>{escape(line.product_name)}</td><td><code>{escape(line.sku)}</code></td>"
        f'<td class="num">{escape(quantity(line.quantity))}</td>'
        f'<td class="num">{escape(money(line.unit_price, currency))}</td>'
        f'<td class="num">{escape(money(line.total, currency))}</td></tr>'
        for line in order.lines
    )
    caption = escape(_("Line items of order %(number)s") % {"number": order.order_number})
    return (
        f'<table class="lines"><caption class="visually-hidden">{caption}</caption>'
        f"<thead><tr>{heading}</tr></thead><tbody>{body}</tbody></table>"
    )


@register.simple_tag
def order_rows(orders, currency: str) -> str:
    """The orders table's rows, each opening onto its line items."""
    heading = "".join(
        f'<th scope="col"{css}>{escape(str(text))}</th>'
        for css, text in (
            ("", _("Product")),
            ("", _("SKU")),
            (' class="num"', _("Qty")),
            (' class="num"', _("Unit price")),
            (' class="num"', _("Total")),
        )
    )
    rows = []
    for order in orders:
        customer = f' <span class="muted">· {escape(order.customer_name)}</span>' if order.customer_name else ""
        rows.append(
            f"<tr><td>{_timestamp(order.order_date)}</td>"
            f"<td><details><summary>{escape(order.order_number)}{customer}</summary>"
            f"{_order_lines(order, currency, heading)}</details></td>"
            f'<td class="num">{escape(money(order.total, currency))}</td><td>{escape(order.channel or "—")}</td></tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above
