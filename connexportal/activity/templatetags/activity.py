"""How a recorded value reads on a page: one short text whatever JSON type it was stored as."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def activity_value(value: object) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(activity_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{name}: {activity_value(item)}" for name, item in value.items())
    return str(value)
