"""Moments as people read them: "2 hours ago", "in 5 minutes", "due now", the exact time on hover.

The words match what ``Intl.RelativeTimeFormat`` (numeric "auto", long style) writes in the
browser, where static/js/portal.js keeps them current; without JavaScript the page shows what
the server wrote when it rendered.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connexportal.portal.formatting import MISSING, format_datetime

register = template.Library()


def relative(value: dt.datetime, now: dt.datetime) -> str:
    """``value`` seen from ``now``, in the largest whole unit: now, 5 minutes ago, in 2 hours, yesterday."""
    seconds = (value - now).total_seconds()
    past = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return _("now")
    if seconds < 3600:
        n = int(seconds // 60)
        if past:
            return ngettext("%(n)d minute ago", "%(n)d minutes ago", n) % {"n": n}
        return ngettext("in %(n)d minute", "in %(n)d minutes", n) % {"n": n}
    if seconds < 86400:
        n = int(seconds // 3600)
        if past:
            return ngettext("%(n)d hour ago", "%(n)d hours ago", n) % {"n": n}
        return ngettext("in %(n)d hour", "in %(n)d hours", n) % {"n": n}
    n = int(seconds // 86400)
    if n == 1:
        return _("yesterday") if past else _("tomorrow")
    if past:
        return ngettext("%(n)d day ago", "%(n)d days ago", n) % {"n": n}
    return ngettext("in %(n)d day", "in %(n)d days", n) % {"n": n}


def iso_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.simple_tag
def moment(value: dt.datetime | None, zone: str):
    """A ``<time>`` reading "2 hours ago", with the exact time in ``zone`` on hover and for screen readers."""
    if value is None:
        return MISSING
    exact = format_datetime(value, tz=zone)
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time><span class="visually-hidden"> ({})</span>',
        iso_utc(value),
        exact,
        relative(value, timezone.now()),
        exact,
    )


@register.simple_tag
def next_sync(connection, zone: str):
    """When the connection syncs next, never earlier than its last sync: a time to come, "due now" or "overdue"."""
    upcoming = connection.next_run_at
    if upcoming is None:
        return _("Not scheduled")
    last = connection.last_sync_at
    if connection.health[0] == "warning":
        words = _("Overdue")
    elif upcoming <= timezone.now() or (last is not None and upcoming <= last):
        words = _("Due now")
    else:
        return moment(upcoming, zone)
    exact = format_datetime(upcoming, tz=zone)
    scheduled = _("Scheduled for %(time)s") % {"time": exact}
    return format_html(
        '<time datetime="{}" title="{}">{}</time><span class="visually-hidden"> ({})</span>',
        iso_utc(upcoming),
        scheduled,
        words,
        scheduled,
    )


@register.simple_tag
def countdown(seconds: int):
    """Seconds left, counted down in the browser: ``<span data-countdown="42">42 seconds</span>``."""
    return format_html(
        '<span data-countdown="{}">{}</span>',
        seconds,
        ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds},
    )
