"""Lifecycle events and the log of their webhook deliveries (one row per attempt)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.models import Merchant, Partner


class EventType(models.TextChoices):
    SETTINGS_SAVED = "settings_saved", _("Settings saved")
    SYNC_STARTED = "sync_started", _("Sync started")
    SYNC_FINISHED = "sync_finished", _("Sync finished")
    SYNC_FAILED = "sync_failed", _("Sync failed")
    ORDER_IMPORT_FINISHED = "order_import.finished", _("Order import finished")


class WebhookEvent(models.Model):
    """Something that happened to a merchant, as its partner's webhook receives it.

    ``payload`` is frozen when the event happens, so every attempt sends the same body
    (only the timestamp and signature headers change between attempts).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=32, choices=EventType.choices)
    partner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_events",
        verbose_name=_("partner"),
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="webhook_events", verbose_name=_("merchant")
    )
    payload = models.JSONField(_("payload"))
    # One outcome per sync run however many watchers observe it: a second emit with the same key is dropped.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} · {self.merchant} · {self.id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # Not sent: the URL or an address its host resolved to is not allowed (webhooks/targets.py).
    REFUSED = "refused", _("Refused")


class WebhookDelivery(models.Model):
    """One attempt at POSTing an event to its partner's webhook.

    An attempt is sent at most once: the worker moves it from pending to sending with a
    compare-and-set before the request goes out. A failed attempt that will be retried
    has ``next_retry_at`` and a pending successor with ``attempt + 1``.
    """

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_deliveries", verbose_name=_("partner")
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    state = models.CharField(
        _("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING, db_index=True
    )
    url = models.URLField(_("URL"), max_length=2000, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    next_retry_at = models.DateTimeField(_("next retry at"), null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_at", "-attempt"]
        constraints = [models.UniqueConstraint(fields=["event", "attempt"], name="webhook_delivery_attempt_once")]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event.type} → {self.partner} (attempt {self.attempt}, {self.state})"
