"""Webhook endpoints (also inline on the partner), and the delivery log and the events, read-only.

"Retry now" sends an event again at once to the endpoints it failed to reach; "Redeliver"
sends it again even where it was delivered. A secret is set by hand or rotated, and a rotated
one is shown once, on the action's own page.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from connexportal import events
from connexportal.activity.models import ActivityAction
from connexportal.activity.services import Actor, activity_record
from connexportal.webhooks.delivery import delivery_retry_now
from connexportal.webhooks.models import (
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    secret_generate,
    validate_secret,
)


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event type."),
    )
    signing_secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        strip=False,
        validators=[validate_secret],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "whsec_ and base64. Stored encrypted and never shown again. Leave blank to keep the current "
            "secret; a new endpoint left blank gets a generated one (see it with the rotate action)."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "is_active")

    def save(self, commit=True):
        endpoint = super().save(commit=False)
        if self.cleaned_data.get("signing_secret"):
            # Replaced by hand: the old secret stops signing at once.
            endpoint.set_secret(self.cleaned_data["signing_secret"])
            endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = "", None
        elif not endpoint.secret_encrypted:
            endpoint.set_secret(secret_generate())
        if commit:
            endpoint.save()
        return endpoint


class WebhookEndpointInline(admin.StackedInline):
    """The partner's endpoints, on the partner's page."""

    model = WebhookEndpoint
    form = WebhookEndpointForm
    fields = ("url", "description", "event_types", "is_active", "signing_secret", "previous_secret_expires_at")
    readonly_fields = ("previous_secret_expires_at",)
    extra = 0


def endpoint_formset_record(request, formset) -> None:
    """The activity trail of an endpoints formset just saved (PartnerAdmin.save_formset)."""
    actor = Actor.from_request(request)
    for endpoint in formset.new_objects:
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_CREATED,
            actor=actor,
            partner=endpoint.partner,
            target=endpoint.url,
            detail={"endpoint_id": str(endpoint.pk), "event_types": endpoint.event_types or ["*"]},
        )
    for endpoint in formset.deleted_objects:
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_DELETED,
            actor=actor,
            partner=endpoint.partner,
            target=endpoint.url,
            detail={"endpoint_id": str(endpoint.pk)},
        )
    for endpoint, changed in formset.changed_objects:
        if "signing_secret" in changed:
            activity_record(
                action=ActivityAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
                actor=actor,
                partner=endpoint.partner,
                target=endpoint.url,
                detail={"endpoint_id": str(endpoint.pk), "set_by_hand": True},
            )


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

    def _retry(self, request, chains, *, redeliver=False):
        """``chains``: (event, endpoint) pairs, each sent again at most once."""
        chains = list(dict.fromkeys(chains))
        retried = sum(
            delivery_retry_now(event=event, endpoint=endpoint, redeliver=redeliver) for event, endpoint in chains
        )
        skipped = len(chains) - retried
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
                    "%(count)d event skipped: already delivered, being sent right now, or its endpoint was deleted.",
                    "%(count)d events skipped: already delivered, being sent right now, or their endpoint was deleted.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @staticmethod
    def _chains(deliveries):
        return [(delivery.event, delivery.endpoint) for delivery in deliveries.select_related("event", "endpoint")]


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("endpoint", "attempt", "state", "scheduled_at", "status_code", "error", "duration_ms", "next_retry_at")
    readonly_fields = fields
    ordering = ("endpoint", "attempt")
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
        "url",
        "attempt",
        "state",
        "status_code",
        "duration_ms",
        "next_retry_at",
        "short_error",
    )
    list_filter = ("state", "partner", "event__type", "endpoint")
    list_select_related = ("event__merchant", "partner")
    search_fields = ("event__id", "url", "event__merchant__name", "event__merchant__external_id")
    date_hierarchy = "scheduled_at"
    actions = ["retry_now", "redeliver"]
    fields = (
        "event",
        "partner",
        "endpoint",
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
        self._retry(request, self._chains(queryset))

    @admin.action(description=_("Redeliver, even if delivered"), permissions=["retry"])
    def redeliver(self, request, queryset):
        self._retry(request, self._chains(queryset), redeliver=True)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "merchant", "partner", "id")
    list_filter = ("type", "partner")
    list_select_related = ("merchant", "partner")
    search_fields = ("id", "merchant__name", "merchant__external_id")
    date_hierarchy = "created_at"
    actions = ["retry_now", "redeliver"]
    fields = ("id", "type", "created_at", "partner", "merchant", "pretty_payload")
    readonly_fields = fields
    inlines = [DeliveryInline]

    @admin.display(description=_("payload"))
    def pretty_payload(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        self._retry(request, self._chains(WebhookDelivery.objects.filter(event__in=queryset)))

    @admin.action(description=_("Redeliver, even if delivered"), permissions=["retry"])
    def redeliver(self, request, queryset):
        self._retry(request, self._chains(WebhookDelivery.objects.filter(event__in=queryset)), redeliver=True)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "partner", "description", "subscribed", "is_active", "created_at")
    list_filter = ("is_active", "partner")
    list_select_related = ("partner",)
    search_fields = ("url", "description", "partner__name")
    fields = (
        "partner",
        "url",
        "description",
        "event_types",
        "is_active",
        "signing_secret",
        "previous_secret_expires_at",
        "created_at",
    )
    readonly_fields = ("previous_secret_expires_at", "created_at")
    actions = ["rotate_secret", "send_test_event"]

    def get_readonly_fields(self, request, obj=None):
        # An endpoint stays with the partner it was made for.
        return (*self.readonly_fields, "partner") if obj is not None else self.readonly_fields

    @admin.display(description=_("event types"))
    def subscribed(self, endpoint):
        return ", ".join(endpoint.event_types) or _("all")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        actor = Actor.from_request(request)
        detail = {"endpoint_id": str(obj.pk)}
        if not change:
            detail["event_types"] = obj.event_types or ["*"]
            activity_record(
                action=ActivityAction.WEBHOOK_ENDPOINT_CREATED,
                actor=actor,
                partner=obj.partner,
                target=obj.url,
                detail=detail,
            )
        elif "signing_secret" in form.changed_data:
            activity_record(
                action=ActivityAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
                actor=actor,
                partner=obj.partner,
                target=obj.url,
                detail={**detail, "set_by_hand": True},
            )

    def delete_model(self, request, obj):
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_DELETED,
            actor=Actor.from_request(request),
            partner=obj.partner,
            target=obj.url,
            detail={"endpoint_id": str(obj.pk)},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    @admin.action(description=_("Rotate the signing secret (shown once)"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        """The new secrets on a page of their own, never in a message (which the message storage keeps)."""
        actor = Actor.from_request(request)
        rotated = []
        for endpoint in queryset.select_related("partner"):
            secret = endpoint.rotate_secret()
            endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at"])
            activity_record(
                action=ActivityAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
                actor=actor,
                partner=endpoint.partner,
                target=endpoint.url,
                detail={
                    "endpoint_id": str(endpoint.pk),
                    "previous_valid_until": endpoint.previous_secret_expires_at.isoformat(),
                },
            )
            rotated.append((endpoint, secret))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New signing secrets"),
            "rotated": rotated,
        }
        response = TemplateResponse(request, "admin/webhooks/webhookendpoint/secrets_rotated.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Send a test event (ping)"), permissions=["change"])
    def send_test_event(self, request, queryset):
        active = [endpoint for endpoint in queryset.select_related("partner") if endpoint.is_active]
        for endpoint in active:
            events.ping(endpoint=endpoint)
        if active:
            self.message_user(
                request,
                ngettext("%(count)d test event queued.", "%(count)d test events queued.", len(active))
                % {"count": len(active)},
                messages.SUCCESS,
            )
        if skipped := queryset.count() - len(active):
            self.message_user(
                request,
                ngettext(
                    "%(count)d endpoint skipped: it is disabled.",
                    "%(count)d endpoints skipped: they are disabled.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
