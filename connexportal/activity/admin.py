"""Staff read the trail here; nobody adds, changes or deletes entries (retention prunes them)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from connexportal.activity.models import ActivityEntry
from connexportal.activity.templatetags.activity import activity_value


@admin.register(ActivityEntry)
class ActivityEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_label", "actor_kind", "channel", "partner_name", "merchant_name")
    list_filter = ("action", "actor_kind", "channel", "partner", "merchant")
    search_fields = ("actor_label", "target", "merchant_name", "partner_name")
    date_hierarchy = "created_at"
    list_select_related = ("partner", "merchant")
    actions = None
    fields = (
        "created_at",
        "action",
        "actor_kind",
        "actor_label",
        "actor_user",
        "api_key",
        "channel",
        "ip",
        "partner",
        "partner_name",
        "merchant",
        "merchant_name",
        "target",
        "changes_table",
        "detail",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("changes"))
    def changes_table(self, entry: ActivityEntry):
        if not entry.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th scope='row'><code>{}</code></th><td>{}</td><td>{}</td></tr>",
            ((field, activity_value(old), activity_value(new)) for field, old, new in entry.change_rows),
        )
        return format_html(
            "<table><thead><tr><th scope='col'>{}</th><th scope='col'>{}</th><th scope='col'>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("field"),
            _("old"),
            _("new"),
            rows,
        )
