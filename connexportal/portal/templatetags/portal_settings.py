"""The connection settings page's heavier parts, built in Python: ``{% load portal_settings %}``.

As the list rows of ``portal.py``: the same markup as template nodes costs several times more,
and this page must cost the portal little more than the one Connex call behind it. Every value
in the markup is escaped here; the language and time zone are looked up once per tag.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from django import forms, template
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext

from connexportal.core.templatetags.chrome import url
from connexportal.portal.connex_messages import connex_message
from connexportal.portal.formatting import MISSING, format_datetime
from connexportal.portal.formatting import zone as zone_for
from connexportal.portal.templatetags.portal import span
from connexportal.portal.templatetags.portal_time import iso_utc, next_sync, relative

register = template.Library()

# The window whose row carries the preview of what it covers (the order download).
PREVIEWED_WINDOW = "LastDownloadUtc"


def _typed(field: forms.BoundField, value) -> dt.datetime | None:
    """What a UTC field holds (typed, or its initial value) as a moment; None when it is not one."""
    if isinstance(value, dt.datetime):
        return value
    initial = field.initial
    if not field.form.is_bound and isinstance(initial, dt.datetime) and initial.year >= 1000:
        # ``value`` is this moment written to the minute, which is all the page shows: no need to parse it.
        return initial
    try:
        return field.field.to_python(value)
    except ValidationError:
        return None


class _WindowFields:
    """The words and values every datetime field of the page shares, looked up once."""

    def __init__(self, zone: str):
        self.code = translation.get_language() or settings.LANGUAGE_CODE
        self.tz = zone_for(zone)
        self.zone = escape(zone)
        your_time = _("%(local)s your time")
        # static/js/portal.js fills {local} as the user types.
        self.template = escape(your_time % {"local": "{local}"})
        self.your_time = escape(your_time, quote=False)

    def render(self, field: forms.BoundField) -> str:
        auto_id, errors = escape(field.auto_id), field.errors
        value = field.value()
        attrs = " required" if field.field.required else ""
        if errors:
            attrs += f' aria-invalid="true" aria-describedby="{auto_id}_error"'
        typed = _typed(field, value)
        local = ""
        if typed:
            local = self.your_time % {"local": escape(format_datetime(typed, tz=self.tz, locale=self.code))}
        messages = "".join(f'<p class="error" id="{auto_id}_error">{escape(str(error))}</p>' for error in errors)
        return (
            f'<div class="field{" has-error" if errors else ""}">\n'
            f'<label for="{auto_id}">{escape(str(field.label))}</label>\n'
            f'<input type="datetime-local" step="60" name="{escape(field.html_name)}" id="{auto_id}"'
            f' value="{escape(str(value if value is not None else ""))}"{attrs}>\n'
            f'<span class="local-time muted" data-local-for="{auto_id}" data-zone="{self.zone}"'
            f' data-template="{self.template}">{local}</span>\n'
            f"{messages}\n</div>"
        )


def _presets(row, shown: dict[str, tuple[str, str, str]]) -> str:
    """A window's quick choices. Every window offers the same ones: ``shown`` keeps each choice's
    value, words and window as written for the first, for the others."""
    name = escape(row.preset_name)
    choices = []
    for preset in row.presets:
        written = shown.get(preset.value)
        if written is None:
            fills = f' data-start="{escape(preset.start)}" data-end="{escape(preset.end)}"' if preset.start else ""
            written = shown[preset.value] = (escape(preset.value), escape(str(preset.label)), fills)
        value, label, fills = written
        checked = " checked" if preset.checked else ""
        choices.append(
            f'<label class="preset"><input type="radio" name="{name}" value="{value}"{checked}{fills}>{label}</label>'
        )
    return "".join(choices)


def _preview_slot(connection_id: int) -> str:
    preview_url = url("portal:window-preview", connection_id)
    start, end = f"#id_{PREVIEWED_WINDOW}", f"#id_{PREVIEWED_WINDOW}End"
    return (
        f'<div id="window-preview-slot" hx-get="{preview_url}"\n'
        f'hx-trigger="change from:{start}, change from:{end}"\n'
        f'hx-include="{start}, {end}" hx-target="#window-preview" hx-swap="outerHTML">\n'
        f'<p class="htmx-indicator busy" aria-hidden="true">{escape(_("Checking the window…"), quote=False)}</p>\n'
        '<div id="window-preview" class="preview" aria-live="polite"></div>\n'
        "</div>"
    )


@register.simple_tag
def window_rows(form, connection_id: int, zone: str) -> str:
    """The settings form's windows: per window its quick choices, its two UTC fields with the
    local time beside each, its help, and (order download only) the preview of what it covers."""
    fields = _WindowFields(zone)
    quick_choice = escape(_("Quick choice: %(window)s"), quote=False)
    presets: dict[str, tuple[str, str, str]] = {}
    rows = []
    for row in form.window_rows():
        label = escape(str(row.label))
        quick = quick_choice % {"window": label}
        help_text = row.end.help_text
        help_markup = f'<p class="help">{escape(str(help_text))}</p>' if help_text else ""
        preview = _preview_slot(connection_id) if row.start_name == PREVIEWED_WINDOW else ""
        rows.append(
            '<fieldset class="window" data-window>\n'
            f"<legend>{label}</legend>\n"
            '<fieldset class="presets">\n'
            f'<legend class="visually-hidden">{quick}</legend>\n'
            f"{_presets(row, presets)}\n"
            "</fieldset>\n"
            f"{fields.render(row.start)}\n"
            f"{fields.render(row.end)}\n"
            f"{help_markup}\n"
            f"{preview}\n"
            "</fieldset>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above


def _attrs(attrs: dict) -> str:
    """HTML attributes as Django's widgets write them: True alone, False left out."""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


@register.simple_tag
def select_field(field: forms.BoundField) -> str:
    """A choice field's ``<select>`` as Django's Select widget writes it (required, aria-invalid,
    aria-describedby, id; the first matching option selected), without its templates."""
    widget = field.field.widget
    if not isinstance(widget, forms.Select) or widget.allow_multiple_selected:
        return field.as_widget()
    choices = list(widget.choices)
    if any(isinstance(label, list | tuple) for _value, label in choices):
        return field.as_widget()  # option groups: Django's own rendering
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    attrs = {**widget.attrs, **attrs}
    selected_values = widget.format_value(field.value())
    options, found = [], False
    for value, label in choices:
        value = "" if value is None else value
        selected = not found and str(value) in selected_values
        found |= selected
        options.append(
            f'\n  <option value="{escape(str(value))}"{" selected" if selected else ""}>{escape(str(label))}</option>\n'
        )
    markup = f'<select name="{escape(field.html_name)}"{_attrs(attrs)}>{"".join(options)}\n</select>'
    return mark_safe(markup)  # noqa: S308 - every value in the markup is escaped above


class _Moments:
    """``{% moment %}`` (portal_time) for many moments of one page: the language, the zone and
    the time now are looked up once."""

    def __init__(self, zone: str):
        self.tz = zone_for(zone)
        self.code = translation.get_language() or settings.LANGUAGE_CODE
        self.now = timezone.now()

    def __call__(self, value: dt.datetime | None) -> str:
        if value is None:
            return MISSING
        exact = escape(format_datetime(value, tz=self.tz, locale=self.code))
        return (
            f'<time datetime="{escape(iso_utc(value))}" title="{exact}" data-relative>'
            f'{escape(relative(value, self.now))}</time><span class="visually-hidden"> ({exact})</span>'
        )


@register.simple_tag
def run_history_rows(runs, zone: str, limit: int = 10) -> str:
    """The sync history table's rows, newest first: when queued, trigger, status, orders, time taken."""
    moment = _Moments(zone)
    queued_, trigger_, status_, orders_, took_ = (
        escape(heading) for heading in (_("Queued"), _("Trigger"), _("Status"), _("Orders"), _("Took"))
    )
    rows = []
    for run in runs[:limit]:
        downloaded = run.orders_downloaded
        orders = MISSING if run.is_active or downloaded is None else escape(str(downloaded))
        rows.append(
            f'<tr><td data-label="{queued_}">{moment(run.queued_at)}</td>'
            f'<td data-label="{trigger_}">{escape(str(run.trigger_label))}</td>'
            f'<td data-label="{status_}"><span class="badge badge-{escape(run.status.lower())}">'
            f"{escape(str(run.status_label))}</span></td>"
            f'<td data-label="{orders_}">{orders}</td>'
            f'<td data-label="{took_}">{escape(span(run.duration))}</td></tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in the markup is escaped above


@register.simple_tag
def connection_status(connection, zone: str) -> str:
    """Inside the connection-status line: the connection's health, its last sync and its next."""
    level, words = connection.health
    last = connection.last_sync_at
    last_sync = _Moments(zone)(last) if last else escape(_("Never"), quote=False)
    return mark_safe(  # noqa: S308 - every value in the markup is escaped
        f'<span class="badge badge-{escape(level)}">{escape(str(words))}</span>\n'
        f"<span>{escape(_('Last sync'), quote=False)}: {last_sync}</span>\n"
        f"<span>{escape(_('Next sync'), quote=False)}: {conditional_escape(next_sync(connection, zone))}</span>"
    )


def _counts(run) -> str:
    """How many orders a completed run downloaded, and skipped (already known)."""
    n = run.orders_downloaded
    counts = escape(ngettext("%(n)s order downloaded", "%(n)s orders downloaded", n), quote=False) % {
        "n": escape(localize(n))
    }
    if skipped := run.orders_skipped:
        words = escape(npgettext("orders", "%(n)s skipped", "%(n)s skipped", skipped), quote=False)
        counts += ", " + words % {"n": escape(localize(skipped))}
    return f'<p class="run-counts">{counts}</p>'


@register.simple_tag
def run_words(run, zone: str, service: str) -> str:
    """The latest run in words: waiting, running since when, or how it ended, with its counts and message."""
    if not run:
        return mark_safe(f"<p>{escape(_('No sync has run yet.'), quote=False)}</p>")  # noqa: S308 - escaped
    status = run.status.lower()
    spinner = '<span class="spinner" aria-hidden="true"></span>'
    if status == "queued":
        waiting = escape(_("Waiting to start…"), quote=False)
        queued = escape(_("%(service)s has queued the sync and starts it shortly."), quote=False)
        words = f"<p>{spinner} <strong>{waiting}</strong> {queued % {'service': escape(service)}}</p>"
    elif run.is_active:
        started = ""
        if run.started_at:
            started = " " + escape(_("Started %(started)s."), quote=False) % {"started": _Moments(zone)(run.started_at)}
        words = f"<p>{spinner} <strong>{escape(_('Sync running…'), quote=False)}</strong>{started}</p>"
    else:
        ended = escape(_("Last sync: %(status)s"), quote=False) % {"status": escape(str(run.status_label))}
        finished = f" · {_Moments(zone)(run.finished_at)}" if run.finished_at else ""
        parts = [f"<p><strong>{ended}</strong>{finished}</p>"]
        if status == "completed" and run.orders_downloaded is not None:
            parts.append(_counts(run))
        if run.message:
            css = "error" if status == "failed" else "muted"
            parts.append(f'<p class="{css}">{conditional_escape(connex_message(run.message))}</p>')
        words = "\n".join(parts)
    return mark_safe(words)  # noqa: S308 - every value in the markup is escaped above
