"""Order imports: one row per import, one row per order in it (its payload and its fate).

The rows are the record: counts, the result CSV and the API's failures all come from
them, and the job resumes from them after a crash (see tasks.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.models import Merchant


class ImportSource(models.TextChoices):
    CSV = "csv", _("CSV file")
    JSON = "json", _("JSON file")
    API = "api", _("Partner API")


class ImportStatus(models.TextChoices):
    # A file checked in the portal waits as a draft until the merchant starts it; the API never makes drafts.
    DRAFT = "draft", _("Checked, not started")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (ImportStatus.QUEUED, ImportStatus.RUNNING)
ENDED_STATUSES = (ImportStatus.FINISHED, ImportStatus.FAILED, ImportStatus.CANCELLED)


class RowFate(models.TextChoices):
    PENDING = "pending", _("Not sent yet")
    CREATED = "created", _("Created")
    ALREADY_EXISTED = "already_existed", _("Already in Connex")
    FAILED = "failed", _("Failed")
    SKIPPED_INVALID = "skipped_invalid", _("Skipped: invalid")
    CANCELLED = "cancelled", _("Not sent: cancelled")


class OrderImport(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="order_imports", verbose_name=_("merchant")
    )
    connection_id = models.PositiveBigIntegerField(_("connection id"))
    source = models.CharField(_("source"), max_length=8, choices=ImportSource.choices)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    error = models.TextField(_("why it failed"), blank=True)
    # Who started it (activity Actor fields).
    started_by_kind = models.CharField(_("started by (kind)"), max_length=16)
    started_by_label = models.CharField(_("started by"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=16)
    # Counts per fate, refreshed from the rows after every batch.
    total = models.PositiveIntegerField(_("orders"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    already_existed = models.PositiveIntegerField(_("already in Connex"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped_invalid = models.PositiveIntegerField(_("skipped (invalid)"), default=0)
    cancelled = models.PositiveIntegerField(_("not sent (cancelled)"), default=0)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    # The batch in flight: set (with when) before create_orders is called, cleared once its fates are saved.
    sending_batch = models.PositiveIntegerField(_("batch being sent"), null=True, blank=True)
    sending_since = models.DateTimeField(_("sent at"), null=True, blank=True)
    batches = models.PositiveIntegerField(_("batches sent"), default=0)
    # The account's ReportingUserId, looked up once by the job (every order carries it).
    reporting_user_id = models.UUIDField(null=True, blank=True)
    # One worker at a time: a task holds the import until lease_until (renewed per batch); on
    # release lease_until is set to the moment, so an active import whose lease_until is long
    # past has lost its worker (see tasks.order_imports_resume_stale).
    lease_holder = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "-created_at"]), models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"order import {self.pk}"

    @property
    def remaining(self) -> int:
        done = self.created + self.already_existed + self.failed + self.skipped_invalid + self.cancelled
        return max(0, self.total - done)

    @property
    def done(self) -> int:
        """Orders to send whose fate is decided."""
        return self.created + self.already_existed + self.failed + self.cancelled

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def has_ended(self) -> bool:
        return self.status in ENDED_STATUSES

    @property
    def to_send(self) -> int:
        return self.total - self.skipped_invalid


class OrderImportRow(models.Model):
    order_import = models.ForeignKey(OrderImport, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"))
    order_number = models.CharField(_("order number"), max_length=255, blank=True)
    # The order as checked (the spec's camelCase keys), without the two ids the job fills in.
    payload = models.JSONField(null=True, blank=True)
    # [[column, message], ...] for a row that failed the check.
    errors = models.JSONField(default=list, blank=True)
    fate = models.CharField(_("fate"), max_length=16, choices=RowFate.choices, default=RowFate.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    batch = models.PositiveIntegerField(_("batch"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("times sent"), default=0)
    # A row whose send failed in a way worth retrying waits until then (after Connex has settled).
    retry_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["row_number"]
        constraints = [models.UniqueConstraint(fields=["order_import", "row_number"], name="import_row_unique")]
        indexes = [
            models.Index(fields=["order_import", "fate", "row_number"]),
            models.Index(fields=["order_import", "batch"]),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number} ({self.order_number})"
