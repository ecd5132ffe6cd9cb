"""The delivery log and the events, read-only; "Retry now" sends an event again at once."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from connexportal.webhooks.delivery import delivery_retry_now
from connexportal.webhooks.models import WebhookDelivery, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        # The log itself stays read-only; retrying is allowed to whoever may change deliveries.
        return request.user.has_perm("webhooks.change_webhookdelivery")

    def _retry(self, request, events):
        retried = sum(delivery_retry_now(event=event) for event in events)
        skipped = len(events) - retried
        if retried:
            self.message_user(
                request,
                ngettext("%(count)d event queued to be sent now.", "%(count)d events queued to be sent now.", retried)
                % {"count": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d event skipped: already delivered, being sent right now, or no webhook URL.",
                    "%(count)d events skipped: already delivered, being sent right now, or no webhook URL.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("attempt", "state", "scheduled_at", "status_code", "error", "duration_ms", "next_retry_at")
    readonly_fields = fields
    ordering = ("attempt",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "scheduled_at",
        "event_type",
        "merchant",
        "partner",
        "attempt",
        "state",
        "status_code",
        "duration_ms",
        "next_retry_at",
        "short_error",
    )
    list_filter = ("state", "partner", "event__type")
    list_select_related = ("event__merchant", "partner")
    search_fields = ("event__id", "url", "event__merchant__name", "event__merchant__external_id")
    date_hierarchy = "scheduled_at"
    actions = ["retry_now"]
    fields = (
        "event",
        "partner",
        "url",
        "attempt",
        "state",
        "scheduled_at",
        "started_at",
        "finished_at",
        "duration_ms",
        "status_code",
        "response_excerpt",
        "error",
        "next_retry_at",
    )
    readonly_fields = fields

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.get_type_display()

    @admin.display(description=_("merchant"), ordering="event__merchant__name")
    def merchant(self, delivery):
        return delivery.event.merchant

    @admin.display(description=_("error"))
    def short_error(self, delivery):
        return delivery.error[:80]

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        events = list(WebhookEvent.objects.filter(deliveries__in=queryset).distinct())
        self._retry(request, events)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "merchant", "partner", "id")
    list_filter = ("type", "partner")
    list_select_related = ("merchant", "partner")
    search_fields = ("id", "merchant__name", "merchant__external_id")
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fields = ("id", "type", "created_at", "partner", "merchant", "pretty_payload")
    readonly_fields = fields
    inlines = [DeliveryInline]

    @admin.display(description=_("payload"))
    def pretty_payload(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        self._retry(request, list(queryset))
