from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django import template
from django.conf import settings
from django.template.defaulttags import querystring
from django.templatetags.tz import do_timezone
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connexportal.core.templatetags.chrome import url
from connexportal.portal import labels
from connexportal.portal.connex_messages import connex_message
from connexportal.portal.formatting import format_date, format_datetime, format_money, format_number, format_time
from connexportal.portal.formatting import zone as zone_for
from connexportal.portal.forms import ORDER_SORTS, PRODUCT_SORTS

register = template.Library()


@dataclass(frozen=True)
class _Cells:
    """Values of one page's rows as its language writes them. The language and time zone are
    looked up once for the page, not once per value: a row list makes hundreds of them."""

    currency: str
    code: str
    tz: dt.tzinfo

    @classmethod
    def now(cls, currency: str, zone: str) -> _Cells:
        return cls(currency, translation.get_language() or settings.LANGUAGE_CODE, zone_for(zone))

    def amount(self, value) -> str:
        return _amount_text(value, self.currency, self.code)

    def count(self, value) -> str:
        return _count_text(value, self.code)

    def moment(self, value) -> str:
        return escape(format_datetime(value, tz=self.tz, locale=self.code))

    def day(self, value) -> str:
        return escape(format_date(value, tz=self.tz, locale=self.code))


# The same amounts and quantities come back page after page (a catalogue's prices, an order's
# lines): their text, escaped, is kept per language. Values come from Connex's parsed answers:
# finite decimals, integers or None, all hashable.
@lru_cache(maxsize=8192)
def _amount_text(value, currency: str, code: str) -> str:
    return escape(format_money(value, currency, locale=code))


@lru_cache(maxsize=8192)
def _count_text(value, code: str) -> str:
    return escape(format_number(value, locale=code))


@register.filter
def money(value, currency: str = "USD") -> str:
    """An amount in the merchant's currency, as the page's language writes it: $1,234.50, 1 234,50 $US."""
    return format_money(value, currency)


@register.filter
def quantity(value) -> str:
    return format_number(value)


@register.filter
def connex_words(text: str) -> str:
    """A message from Connex (a run's message): in the merchant's words when known, else quoted as Connex's."""
    return connex_message(text)


@register.filter
def local_datetime(value: dt.datetime | None, zone: str) -> str:
    """Day and time in ``zone`` (the merchant's, or "UTC"), as the page's language writes them."""
    return format_datetime(value, tz=zone)


@register.filter
def local_date(value: dt.date | dt.datetime | None, zone: str = "UTC") -> str:
    return format_date(value, tz=zone)


@register.filter
def local_time(value: dt.datetime | None, zone: str) -> str:
    return format_time(value, tz=zone)


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


def _cell_labels(headings) -> list[str]:
    """The columns' headings, escaped, for each cell's data-label (a phone shows rows as cards)."""
    return [escape(str(heading), quote=True) for heading in headings]


@lru_cache(maxsize=16)
def _product_words(code: str) -> dict:
    """The products table's fixed words in language ``code``, escaped: the same on every page."""
    with translation.override(code):
        facts = (_("Type"), _("Unit cost"), _("Average cost"), _("On order"), _("Manual"), _("Created"))
        return {
            "facts": [f"<div><dt>{escape(str(text))}</dt><dd>" for text in facts],
            "columns": _cell_labels((*PRODUCT_SORTS.values(), _("Connection"))),
            "description": f"<div><dt>{escape(_('Description'))}</dt><dd>",
            "types": {kind: escape(str(text)) for kind, text in labels.PRODUCT_TYPES.items()},
            "yes": escape(_("Yes")),
            "no": escape(_("No")),
            "no_name": escape(_("(no name)")),
            "unknown": f' <span class="badge badge-warning">{escape(_("Unknown SKU"))}</span>',
        }


@register.simple_tag
def product_rows(products, currency: str, zone: str = "UTC") -> str:
    """The products table's rows, each opening onto the product's details; times in ``zone``."""
    cell = _Cells.now(currency, zone)
    words = _product_words(cell.code)
    facts_, types, yes, no = words["facts"], words["types"], words["yes"], words["no"]
    name_, sku_, price_, on_hand_, updated_, connection_ = words["columns"]
    rows = []
    for product in products:
        facts = (
            types.get(product.product_type) or escape(str(product.type_label or "—")),
            cell.amount(product.unit_cost),
            cell.amount(product.average_cost),
            cell.count(product.quantity_on_order),
            yes if product.is_manual else no,
            cell.moment(product.created_at),
        )
        cells = "".join(f"{label}{fact}</dd></div>" for label, fact in zip(facts_, facts, strict=True))
        if product.description:
            cells = f"{words['description']}{escape(product.description)}</dd></div>{cells}"
        name = escape(product.name) if product.name else words["no_name"]
        updated = cell.day(product.updated_at)
        rows.append(
            f'<tr><td data-label="{name_}"><details><summary>{name}'
            f'</summary><dl class="facts small">{cells}</dl></details></td>'
            f'<td data-label="{sku_}"><code>{escape(product.sku)}</code>'
            f"{words['unknown'] if product.has_unknown_sku else ''}</td>"
            f'<td class="num" data-label="{price_}">{cell.amount(product.sales_price)}</td>'
            f'<td class="num" data-label="{on_hand_}">{cell.count(product.quantity_on_hand)}</td>'
            f'<td data-label="{updated_}">{updated}</td>'
            f'<td data-label="{connection_}">{escape(product.connection_name)}</td></tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above


@lru_cache(maxsize=16)
def _order_words(code: str) -> dict:
    """The orders table's fixed words in language ``code``, escaped: the same on every page."""
    with translation.override(code):
        line_columns = (
            ("", _("Product")),
            ("", _("SKU")),
            (' class="num"', _("Qty")),
            (' class="num"', _("Unit price")),
            (' class="num"', _("Total")),
        )
        return {
            "heading": "".join(f'<th scope="col"{css}>{escape(str(text))}</th>' for css, text in line_columns),
            "line_labels": _cell_labels(text for _css, text in line_columns),
            "columns": _cell_labels((*ORDER_SORTS.values(), _("Channel"))),
            "no_lines": f'<p class="muted">{escape(_("No line items."))}</p>',
            # Translated once; each order puts its (escaped) number in.
            "caption": escape(_("Line items of order %(number)s")),
        }


def _order_lines(order, cell: _Cells, words: dict) -> str:
    if not order.lines:
        return words["no_lines"]

    product_, sku_, qty_, unit_price_, total_ = words["line_labels"]
    body = "".join(
        f'<tr><td data-label="{product_}">{escape(line.product_name)}</td>'
        f'<td data-label="{sku_}"><code>{escape(line.sku)}</code></td>'
        f'<td class="num" data-label="{qty_}">{cell.count(line.quantity)}</td>'
        f'<td class="num" data-label="{unit_price_}">{cell.amount(line.unit_price)}</td>'
        f'<td class="num" data-label="{total_}">{cell.amount(line.total)}</td></tr>'
        for line in order.lines
    )
    caption = words["caption"] % {"number": escape(order.order_number)}
    return (
        f'<table class="lines stack"><caption class="visually-hidden">{caption}</caption>'
        f"<thead><tr>{words['heading']}</tr></thead><tbody>{body}</tbody></table>"
    )


@register.simple_tag
def order_rows(orders, currency: str, zone: str = "UTC") -> str:
    """The orders table's rows, each opening onto its line items; dates in ``zone``."""
    cell = _Cells.now(currency, zone)
    words = _order_words(cell.code)
    date_, number_, total_, channel_ = words["columns"]
    rows = []
    for order in orders:
        customer = f' <span class="muted">· {escape(order.customer_name)}</span>' if order.customer_name else ""
        rows.append(
            f'<tr><td data-label="{date_}">{cell.moment(order.order_date)}</td>'
            f'<td data-label="{number_}"><details><summary>{escape(order.order_number)}{customer}</summary>'
            f"{_order_lines(order, cell, words)}</details></td>"
            f'<td class="num" data-label="{total_}">{cell.amount(order.total)}</td>'
            f'<td data-label="{channel_}">{escape(order.channel or "—")}</td></tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above


# The parts of a list page around its rows (sort headers, pager, filter options), built in
# Python for the same reason: as template nodes and includes they cost about as much again as
# the rows themselves.

_RESULTS_LINK = 'hx-target="#results" hx-swap="outerHTML" hx-push-url="true"'


def _results_link(context, text: str, extra: str = "", **changes) -> str:
    """A link to this page's query with ``changes`` (None removes), as ``{% querystring %}``."""
    link = escape(querystring(context, **changes))
    return f'<a href="{link}" hx-get="{link}" {_RESULTS_LINK}{extra}>{text}</a>'


@register.simple_tag(takes_context=True)
def sort_headers(context, sorts, sort: str, direction: str) -> str:
    """The sortable columns' headers: a click sorts by that column, ascending first, or reverses it."""
    cells = []
    for key, label in sorts.items():
        if key != sort:
            link = _results_link(context, escape(str(label)), sort=key, dir="asc", page=None)
            cells.append(f'<th scope="col">{link}</th>')
            continue
        ascending = direction == "asc"
        arrow = f'<span aria-hidden="true">{" ▲" if ascending else " ▼"}</span>'
        link = _results_link(
            context, escape(str(label)) + arrow, sort=key, dir="desc" if ascending else "asc", page=None
        )
        cells.append(f'<th scope="col" aria-sort="{"ascending" if ascending else "descending"}">{link}</th>')
    return mark_safe("\n".join(cells))  # noqa: S308 - every value in the markup is escaped above


@register.simple_tag(takes_context=True)
def pager(context, page) -> str:
    """Which rows of how many, and links to the previous and next pages."""
    numbers = {"first": page.first_row, "last": page.last_row, "total": page.total}
    rows = _("%(first)s–%(last)s of %(total)s") % numbers  # noqa: RUF001 - the msgid's en dash
    where = _("Page %(n)s of %(total)s") % {"n": page.page, "total": page.pages}
    previous = next_ = ""
    if page.has_previous:
        previous = _results_link(context, escape(_("Previous")), ' rel="prev"', page=page.page - 1)
    if page.has_next:
        next_ = _results_link(context, escape(_("Next")), ' rel="next"', page=page.page + 1)
    return mark_safe(  # noqa: S308 - every value in the markup is escaped
        f'<nav class="pager" aria-label="{escape(_("Pages"))}"><p class="muted">{escape(rows)}</p>'
        f"<div>{previous} <span>{escape(where)}</span> {next_}</div></nav>"
    )


@register.simple_tag
def select_options(choices, selected, empty_label: str = "") -> str:
    """A select's options, ``selected`` chosen; ``choices`` are (value, label) pairs or bare values.
    ``empty_label`` names the option whose value is empty (e.g. "All types")."""
    chosen = "" if selected is None else str(selected)
    options = []
    for choice in choices:
        value, label = choice if isinstance(choice, tuple) else (choice, choice)
        value = str(value)
        text = empty_label if value == "" and empty_label else label
        mark = " selected" if value == chosen else ""
        options.append(f'<option value="{escape(value)}"{mark}>{escape(str(text))}</option>')
    return mark_safe("".join(options))  # noqa: S308 - every value in the markup is escaped above


@register.simple_tag
def connection_card(connection, zone: str = "UTC") -> str:
    """One connection on the connections page: channel, health, last and next sync, order
    window, how sales reach QuickBooks, a failed run's message and what needs doing."""
    from connexportal.portal.templatetags.portal_time import moment, next_sync

    health, health_label = connection.health
    name, channel = escape(connection.name), escape(connection.channel)
    settings_url = url("portal:connection-settings", connection.id)
    last = moment(connection.last_sync_at, zone) if connection.last_sync_at else escape(_("Never"))
    start, end = connection.order_window
    window = (
        f"{escape(format_datetime(start, tz='UTC'))} \N{EN DASH} {escape(format_datetime(end, tz='UTC'))}"
        if start
        else escape(_("Not set"))
    )
    facts = "".join(
        f"<div><dt>{escape(str(label))}</dt><dd>{value}</dd></div>"
        for label, value in (
            (_("Last sync"), last),
            (_("Next sync"), conditional_escape(next_sync(connection, zone))),
            (_("Order window (UTC)"), window),
            (_("Sales to QuickBooks"), escape(str(connection.summary_label))),
        )
    )
    notes = ""
    run = connection.latest_run
    if run and run.status.lower() == "failed":
        failed = conditional_escape(connex_message(run.message) or _("The last sync failed."))
        notes += f'<p class="notice notice-error">{failed}</p>'
    if connection.needs_pairing:
        attention = escape(
            _("Needs attention: %(channel)s must be paired again before it can sync.") % {"channel": connection.channel}
        )
        pair_url = url("portal:connection-pair", connection.id)
        notes += f'<p class="notice notice-warning">{attention} <a href="{pair_url}">{escape(_("Pair again"))}</a></p>'
    more = escape(_("Settings and sync for %(name)s") % {"name": connection.name})
    initial = escape(connection.channel[:1])
    icon = f'<span class="channel-icon channel-{escape(connection.slug)}" aria-hidden="true">{initial}</span>'
    return mark_safe(  # noqa: S308 - every value in the markup is escaped
        f'<li class="card connection"><div class="connection-head">{icon}'
        f'<div><h2><a href="{settings_url}">{name}</a></h2><p class="muted">{channel}</p></div>'
        f'<span class="badge badge-{escape(health)}">{escape(str(health_label))}</span></div>'
        f'<dl class="facts">{facts}</dl>{notes}<p><a href="{settings_url}">{more}</a></p></li>'
    )
