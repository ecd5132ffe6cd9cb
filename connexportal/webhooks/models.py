"""Partners' webhook endpoints, lifecycle events, and the log of their deliveries (one row per attempt)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connexportal.accounts import crypto
from connexportal.accounts.models import Merchant, Partner, validate_webhook_url

# Standard Webhooks secrets: "whsec_" and the base64 of the key's bytes (24 to 64 of them).
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
# After a rotation every event is signed with the new and the previous secret for this long, so a
# receiver can switch secrets without dropping a delivery.
SECRET_ROTATION_GRACE = dt.timedelta(hours=24)


class EventType(models.TextChoices):
    SETTINGS_SAVED = "settings_saved", _("Settings saved")
    SYNC_STARTED = "sync_started", _("Sync started")
    SYNC_FINISHED = "sync_finished", _("Sync finished")
    SYNC_FAILED = "sync_failed", _("Sync failed")
    ORDER_IMPORT_FINISHED = "order_import.finished", _("Order import finished")
    # A test event, sent to one endpoint when asked to, whatever it subscribes to.
    PING = "ping", _("Test event (ping)")


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes | None:
    """The key in a ``whsec_<base64>`` secret, or None when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        return None
    return key if SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES else None


def validate_secret(value: str) -> None:
    if secret_key_bytes(value) is None:
        raise ValidationError(
            _("A signing secret is whsec_ followed by the base64 of %(min)s to %(max)s random bytes."),
            code="webhook_secret",
            params={"min": SECRET_MIN_BYTES, "max": SECRET_MAX_BYTES},
        )


def validate_event_types(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("A list of event type names."), code="event_types")
    unknown = [item for item in value if item not in EventType.values]
    if unknown:
        raise ValidationError(
            _("Unknown event types: %(unknown)s. The types are: %(types)s."),
            code="event_types",
            params={"unknown": ", ".join(unknown), "types": ", ".join(EventType.values)},
        )


class WebhookEndpoint(models.Model):
    """Where a partner receives its events, and the secret they are signed with (Standard Webhooks).

    ``event_types`` empty means every type. A rotated secret keeps signing, beside the new one,
    until ``previous_secret_expires_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("partner")
    )
    url = models.URLField(
        _("URL"),
        max_length=2000,
        validators=[validate_webhook_url],
        help_text=_(
            "A public https URL. Its host must resolve to public addresses only; that is checked again "
            "before every delivery."
        ),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"),
        default=list,
        blank=True,
        validators=[validate_event_types],
        help_text=_("The event types sent here; empty for all of them."),
    )
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Nothing is sent to a disabled endpoint."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def set_secret(self, secret: str) -> None:
        validate_secret(secret)
        self.secret_encrypted = crypto.encrypt(secret)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def rotate_secret(self, *, now: dt.datetime | None = None) -> str:
        """A new secret (returned, the one time it is readable); the current one signs on for the grace period."""
        new = secret_generate()
        self.previous_secret_encrypted = self.secret_encrypted
        self.previous_secret_expires_at = (now or timezone.now()) + SECRET_ROTATION_GRACE
        self.set_secret(new)
        return new

    def signing_secrets(self, *, now: dt.datetime | None = None) -> list[str]:
        """The secrets every event is signed with now: the current one, and the previous during its grace period."""
        found = [self.get_secret()]
        expires = self.previous_secret_expires_at
        if self.previous_secret_encrypted and expires is not None and (now or timezone.now()) < expires:
            found.append(crypto.decrypt(self.previous_secret_encrypted))
        return found

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


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
    # None for a ping, which is about an endpoint rather than a merchant.
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_events",
        verbose_name=_("merchant"),
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
        return f"{self.type} · {self.merchant or self.partner} · {self.id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # Not sent: the URL or an address its host resolved to is not allowed (webhooks/targets.py).
    REFUSED = "refused", _("Refused")


class WebhookDelivery(models.Model):
    """One attempt at POSTing an event to one of its partner's endpoints.

    Each (event, endpoint) pair is a chain of attempts. An attempt is sent at most once: the
    worker moves it from pending to sending with a compare-and-set before the request goes
    out. A failed attempt that will be retried has ``next_retry_at`` and a pending successor
    with ``attempt + 1``. A deleted endpoint leaves its log (``endpoint`` None, ``url`` kept).
    """

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="webhook_deliveries", verbose_name=_("partner")
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("endpoint"),
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
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint", "attempt"], name="webhook_delivery_attempt_once")
        ]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event.type} → {self.partner} (attempt {self.attempt}, {self.state})"
