"""The activity trail: one row per thing someone (or something) did, never changed afterwards.

Rows are appended and then only read. The ORM paths that would rewrite or remove one
(``save()`` of a stored row, ``delete()``, ``QuerySet.update()``/``delete()``) raise
``AppendOnlyError``; the retention pruning has one named way in,
``ActivityEntry.objects.prune_older_than()``. References to users, keys, partners and merchants
fall to NULL when those are deleted (the names are copied into the row), which is the one
update Django itself makes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey


class AppendOnlyError(Exception):
    """Something tried to change or remove an activity entry outside the retention pruning."""


class ActivityAction(models.TextChoices):
    SETTINGS_SAVED = "settings.saved", _("Settings saved")
    RUN_NOW_STARTED = "run_now.started", _("Run now started")
    CONNECTION_PAIRED = "connection.paired", _("Channel paired again")
    ORDER_IMPORT_STARTED = "order_import.started", _("Order import started")
    ORDER_IMPORT_FINISHED = "order_import.finished", _("Order import finished")
    PRODUCT_CREATED = "product.created", _("Product added")
    CONNEX_CREDENTIALS_CHANGED = "connex_credentials.changed", _("Connex credentials changed")
    CONNEX_CREDENTIALS_VERIFIED = "connex_credentials.verified", _("Connex credentials verified")
    CONNEX_CREDENTIALS_REFUSED = "connex_credentials.refused", _("Connex credentials refused")
    MERCHANT_CREATED = "merchant.created", _("Merchant created")
    MERCHANT_CHANGED = "merchant.changed", _("Merchant changed")
    MERCHANT_DEACTIVATED = "merchant.deactivated", _("Merchant deactivated")
    MERCHANT_OPENED_AS = "merchant.opened_as", _("Opened as the merchant by the partner")
    API_KEY_ISSUED = "api_key.issued", _("API key issued")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    API_KEY_RESTORED = "api_key.restored", _("API key restored")
    PARTNER_CREATED = "partner.created", _("Partner created")
    PARTNER_CHANGED = "partner.changed", _("Partner changed")
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", _("Webhook endpoint added")
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", _("Webhook endpoint removed")
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated", _("Webhook signing secret rotated")
    LOGIN_FAILED = "login.failed", _("Login failed")
    LOGIN_LOCKED_OUT = "login.locked_out", _("Locked out after failed logins")


class ActorKind(models.TextChoices):
    USER = "user", _("Merchant user")
    STAFF = "staff", _("Staff")
    EMBEDDED = "embedded", _("Partner user (embedded)")
    PARTNER_USER = "partner_user", _("Partner console user")
    API_KEY = "api_key", _("Partner API key")
    SYSTEM = "system", _("System")
    ANONYMOUS = "anonymous", _("Anonymous")


class Channel(models.TextChoices):
    DIRECT = "direct", _("Portal")
    EMBEDDED = "embedded", _("Embedded portal")
    API = "api", _("Partner API")
    CONSOLE = "console", _("Partner console")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")


# Deleting what a row points at nulls these; every other column stays as written.
DETACHABLE_REFERENCES = frozenset(
    {"actor_user", "actor_user_id", "api_key", "api_key_id", "partner", "partner_id", "merchant", "merchant_id"}
)


class ActivityQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if kwargs and set(kwargs) <= DETACHABLE_REFERENCES and all(value is None for value in kwargs.values()):
            return super().update(**kwargs)
        raise AppendOnlyError("Activity entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Activity entries cannot be deleted; they expire by ACTIVITY_RETENTION_DAYS.")

    def prune_older_than(self, cutoff: dt.datetime) -> int:
        """Delete the entries created before ``cutoff``: the retention pruning, and nothing else, calls this."""
        deleted, _by_model = models.QuerySet.delete(self.filter(created_at__lt=cutoff))
        return deleted

    def for_merchant(self, merchant: Merchant) -> ActivityQuerySet:
        return self.filter(merchant=merchant)


class ActivityEntry(models.Model):
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True, editable=False)
    action = models.CharField(_("action"), max_length=64, choices=ActivityAction.choices)
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind.choices)
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    api_key = models.ForeignKey(
        PartnerApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("partner API key"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("partner")
    )
    partner_name = models.CharField(_("partner name"), max_length=120, blank=True)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("merchant")
    )
    merchant_name = models.CharField(_("merchant name"), max_length=200, blank=True)
    target = models.CharField(_("target"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="activity_merchant_recent"),
            models.Index(fields=["partner", "-created_at"], name="activity_partner_recent"),
        ]
        verbose_name = _("activity entry")
        verbose_name_plural = _("activity")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label or self.actor_kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Activity entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Activity entries cannot be deleted; they expire by ACTIVITY_RETENTION_DAYS.")

    @property
    def change_rows(self) -> list[tuple[str, object, object]]:
        """(field, old, new) in the order they were recorded."""
        return [(field, values.get("old"), values.get("new")) for field, values in self.changes.items()]
