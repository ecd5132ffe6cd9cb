"""The order import job: batches of at most 100 through ``create_orders``, resumable without duplicates.

How a run goes (``run_order_import``, a django.tasks task):

- It first takes the import's lease (one worker at a time; renewed per batch), then
  works for at most SLICE seconds and queues itself again: a worker is never held
  for a whole 10,000-order import, and never sleeps.
- Before a batch is sent, its rows get the batch number and one more send attempt,
  and the import records ``sending_batch`` with the time (committed). After the
  call, the fates and the cleared marker are saved in one transaction. So a worker
  that dies mid-batch leaves the marker: the next run waits until SETTLE has passed
  since that send (an ambiguous answer may still land), then sends the batch's rows
  through ``create_orders(skip_existing=True)``, which finds the ones that landed
  instead of duplicating them.
- Every batch goes with ``skip_existing``: orders Connex already has are skipped. An
  order that a send of ours may have created and that a later look finds in Connex
  (a second attempt, or a resumed batch) counts as created by this import.
- A failure that a later try may cure (Connex unavailable, an unknown outcome) puts
  the order back in the queue for after SETTLE, up to MAX_ATTEMPTS sends; a refusal
  (Connex's validation) is final.
- Cancel is checked between batches; the orders not yet sent are marked cancelled.
- At the end: ``order_import.finished`` (activity, and the webhook through events.emit).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Min, Q
from django.tasks import task
from django.utils import timezone

from connexportal import events
from connexportal.activity.services import Actor, activity_record
from connexportal.connex import ConnexAuthError, ConnexError, ConnexRejected, routes
from connexportal.connex.keys import order_key
from connexportal.imports.models import ACTIVE_STATUSES, ImportStatus, OrderImport, OrderImportRow, RowFate
from connexportal.imports.services import refresh_counts
from connexportal.portal import upstream

logger = logging.getLogger(__name__)

BATCH_SIZE = routes.CREATE_ORDERS_MAX_BATCH
# Before orders whose send had an unknown outcome are sent again (Connex may commit late).
SETTLE = dt.timedelta(seconds=30)
LEASE = dt.timedelta(minutes=2)
SLICE_SECONDS = 60.0
MAX_ATTEMPTS = 5
# Extra keyword arguments for create_orders (its settle and lookup timing); tests make them instant.
CREATE_ORDERS_OPTIONS: dict[str, Any] = {}
# An active import nobody has worked on for this long has lost its worker.
STALE = dt.timedelta(minutes=5)

FINAL_EVENT_KEY = "order_import:{id}:finished"


class _Stop(Exception):
    """The run ends here: the import has ended, or another worker holds it."""


def order_import_enqueue(import_id: uuid.UUID | str, *, at: dt.datetime | None = None) -> None:
    runner = run_order_import.using(run_after=at) if at is not None else run_order_import
    runner.enqueue(import_id=str(import_id))


def order_imports_resume_stale(*, merchant_id: int | None = None) -> int:
    """Queue again every active import that has lost its worker (a crash, a restart); how many."""
    cutoff = timezone.now() - STALE
    stale = OrderImport.objects.filter(status__in=ACTIVE_STATUSES).filter(
        Q(lease_until__lt=cutoff) | Q(lease_until__isnull=True, created_at__lt=cutoff)
    )
    if merchant_id is not None:
        stale = stale.filter(merchant_id=merchant_id)
    queued = 0
    for import_id in stale.values_list("pk", flat=True):
        # At most once per STALE per import, however often pages poll.
        if cache.add(f"order-import:resume:{import_id}", 1, timeout=int(STALE.total_seconds())):
            logger.warning("order import %s lost its worker; queued again", import_id)
            order_import_enqueue(import_id)
            queued += 1
    return queued


@task()
def run_order_import(*, import_id: str) -> str:
    """One slice of an import's work (a worker task); queues the next slice itself."""
    holder = uuid.uuid4().hex
    if not _claim(import_id, holder):
        return "busy"
    try:
        return _Run(import_id, holder).run()
    except _Stop as stop:
        return str(stop)
    finally:
        OrderImport.objects.filter(pk=import_id, lease_holder=holder).update(
            lease_holder="", lease_until=timezone.now()
        )


def order_import_cancel_now(import_id: uuid.UUID | str, *, actor: Actor) -> bool:
    """End a cancelled import at once when no worker holds it and no batch is in flight;
    otherwise its worker ends it after the current batch. Whether it ended now."""
    holder = uuid.uuid4().hex
    if not _claim(str(import_id), holder):
        return False
    try:
        if OrderImport.objects.filter(pk=import_id, sending_batch__isnull=True).exists():
            order_import_finish(import_id, ImportStatus.CANCELLED, actor=actor)
            return True
        return False
    finally:
        OrderImport.objects.filter(pk=import_id, lease_holder=holder).update(
            lease_holder="", lease_until=timezone.now()
        )


def _claim(import_id: str, holder: str) -> bool:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_holder="")
    return bool(
        OrderImport.objects.filter(pk=import_id).filter(free).update(lease_holder=holder, lease_until=now + LEASE)
    )


class _Run:
    def __init__(self, import_id: str, holder: str) -> None:
        self.import_id = import_id
        self.holder = holder
        self.deadline = time.monotonic() + SLICE_SECONDS

    def run(self) -> str:
        order_import = OrderImport.objects.select_related("merchant__connex_account", "merchant__partner").get(
            pk=self.import_id
        )
        if order_import.status not in ACTIVE_STATUSES:
            return order_import.status
        if order_import.status == ImportStatus.QUEUED:
            order_import.status, order_import.started_at = ImportStatus.RUNNING, timezone.now()
            order_import.save(update_fields=["status", "started_at"])
        self.order_import = order_import
        client = self._client()
        if client is None:
            return "waiting for Connex"
        while True:
            self._renew()
            order_import.refresh_from_db(fields=["cancel_requested", "sending_batch", "sending_since", "batches"])
            if order_import.sending_batch is not None:
                resend_at = order_import.sending_since + SETTLE
                if timezone.now() < resend_at:
                    order_import_enqueue(self.import_id, at=resend_at)
                    return "settling"
                number = order_import.sending_batch
                rows = list(order_import.rows.filter(batch=number, fate=RowFate.PENDING))
                self._mark_sending(rows, number)
            elif order_import.cancel_requested:
                order_import_finish(self.import_id, ImportStatus.CANCELLED)
                return ImportStatus.CANCELLED
            else:
                now = timezone.now()
                pending = order_import.rows.filter(fate=RowFate.PENDING)
                rows = list(pending.filter(Q(retry_after__isnull=True) | Q(retry_after__lte=now))[:BATCH_SIZE])
                if not rows:
                    later = pending.aggregate(at=Min("retry_after"))["at"]
                    if later is not None:
                        order_import_enqueue(self.import_id, at=later)
                        return "waiting to retry"
                    order_import_finish(self.import_id, ImportStatus.FINISHED)
                    return ImportStatus.FINISHED
                number = order_import.batches + 1
                self._mark_sending(rows, number)
            if rows:
                self._send(client, rows)
            else:
                OrderImport.objects.filter(pk=self.import_id).update(sending_batch=None, sending_since=None)
            if time.monotonic() > self.deadline:
                order_import_enqueue(self.import_id)
                return "continuing"

    def _client(self) -> Any:
        order_import = self.order_import
        try:
            client = upstream.client_for(getattr(order_import.merchant, "connex_account", None), background=True)
            if order_import.reporting_user_id is None:
                connection = next(
                    (found for found in client.list_connections() if found.id == order_import.connection_id), None
                )
                if connection is None or connection.deleted:
                    self._fail("the connection no longer exists in Connex")
                if connection.reporting_user_id is None:
                    self._fail("Connex did not say which ReportingUserId the orders need")
                order_import.reporting_user_id = connection.reporting_user_id
                order_import.save(update_fields=["reporting_user_id"])
        except upstream.AccountNotConfigured as exc:
            self._fail(str(exc))
        except ConnexAuthError as exc:
            self._fail(f"Connex refused the login: {exc.message}")
        except ConnexError as exc:
            logger.warning("order import %s: Connex unavailable at start: %s", self.import_id, exc)
            order_import_enqueue(self.import_id, at=timezone.now() + SETTLE)
            return None
        return client

    def _fail(self, why: str) -> None:
        order_import_finish(self.import_id, ImportStatus.FAILED, error=why)
        raise _Stop(ImportStatus.FAILED)

    def _renew(self) -> None:
        now = timezone.now()
        if not OrderImport.objects.filter(pk=self.import_id, lease_holder=self.holder).update(lease_until=now + LEASE):
            raise _Stop("lease lost")

    def _mark_sending(self, rows: list[OrderImportRow], number: int) -> None:
        """Commit, before the call, that these rows are being sent: a crash after this resends them
        only after SETTLE and only through a lookup (skip_existing)."""
        now = timezone.now()
        with transaction.atomic():
            OrderImportRow.objects.filter(pk__in=[row.pk for row in rows]).update(
                batch=number, attempts=F("attempts") + 1, retry_after=None
            )
            OrderImport.objects.filter(pk=self.import_id).update(
                sending_batch=number, sending_since=now, batches=max(number, self.order_import.batches)
            )
        for row in rows:
            row.batch, row.attempts, row.retry_after = number, row.attempts + 1, None

    def _send(self, client: Any, rows: list[OrderImportRow]) -> None:
        order_import = self.order_import
        orders = [
            {
                **row.payload,
                "reportingUserId": str(order_import.reporting_user_id),
                "userConnectionId": order_import.connection_id,
            }
            for row in rows
        ]
        try:
            result = client.create_orders(orders, skip_existing=True, **CREATE_ORDERS_OPTIONS)
        except ConnexAuthError as exc:
            partial = getattr(exc, "partial_result", None)
            if partial is not None:
                self._record(rows, partial, final=True)
            order_import_finish(self.import_id, ImportStatus.FAILED, error=f"Connex refused the login: {exc.message}")
            raise _Stop(ImportStatus.FAILED) from None
        self._record(rows, result)

    def _record(self, rows: list[OrderImportRow], result: Any, *, final: bool = False) -> None:
        """Each row's fate from the result; the batch marker is cleared in the same transaction."""
        by_key = {order_key(row.order_number): row for row in rows}
        now = timezone.now()
        decided: set[int] = set()
        for number in result.created:
            row = by_key.get(order_key(number))
            if row is not None:
                row.fate, row.reason = RowFate.CREATED, ""
                decided.add(row.pk)
        for number in result.already_existed:
            row = by_key.get(order_key(number))
            if row is None:
                continue
            if row.attempts > 1:
                # Found after an earlier send of ours whose outcome was unknown: that send created it.
                row.fate, row.reason = RowFate.CREATED, "landed after an earlier attempt; found by a later lookup"
            else:
                row.fate, row.reason = RowFate.ALREADY_EXISTED, ""
            decided.add(row.pk)
        # Connex refuses a whole batch for one bad order; when it names the bad ones, the others are
        # innocent and go again (without them) in a later batch.
        named = any(failure.field_errors for failure in result.failed)
        for failure in result.failed:
            row = by_key.get(order_key(failure.order_number))
            if row is None:
                continue
            decided.add(row.pk)
            refused = bool(failure.field_errors) or (isinstance(failure.error, ConnexRejected) and not named)
            if refused or final or row.attempts >= MAX_ATTEMPTS:
                row.fate, row.reason = RowFate.FAILED, failure.reason
            else:
                row.fate, row.reason, row.retry_after = RowFate.PENDING, failure.reason, now + SETTLE
        for row in rows:
            if row.pk not in decided and not final:
                # Not reported at all: treat as an unknown outcome and look again later.
                row.retry_after = now + SETTLE
        with transaction.atomic():
            OrderImportRow.objects.bulk_update(rows, ["fate", "reason", "retry_after"])
            OrderImport.objects.filter(pk=self.import_id).update(sending_batch=None, sending_since=None)
            refresh_counts(self.order_import)


def order_import_finish(
    import_id: uuid.UUID | str, status: ImportStatus, *, error: str = "", actor: Actor | None = None
) -> None:
    """End the import: rows never sent get their fate, then the activity entry and the webhook event."""
    with transaction.atomic():
        order_import = OrderImport.objects.select_related("merchant__partner").get(pk=import_id)
        if order_import.has_ended:
            return
        pending = order_import.rows.filter(fate=RowFate.PENDING)
        in_flight = order_import.sending_batch
        if status == ImportStatus.CANCELLED:
            pending.update(fate=RowFate.CANCELLED, reason="not sent: the import was cancelled")
        elif status == ImportStatus.FAILED:
            if in_flight is not None:
                pending.filter(batch=in_flight).update(
                    fate=RowFate.FAILED, reason=f"outcome unknown (check Connex before sending again): {error}"
                )
            pending.update(fate=RowFate.FAILED, reason=f"not sent: {error}")
        order_import.status = status
        order_import.error = error
        order_import.finished_at = timezone.now()
        order_import.sending_batch = order_import.sending_since = None
        order_import.save(update_fields=["status", "error", "finished_at", "sending_batch", "sending_since"])
        refresh_counts(order_import)
        data = event_data(order_import)
        activity_record(
            action="order_import.finished",
            actor=actor or Actor.system(),
            merchant=order_import.merchant,
            target=str(order_import.pk),
            detail=data,
        )
        events.emit(
            events.EventType.ORDER_IMPORT_FINISHED,
            merchant=order_import.merchant,
            data=data,
            dedupe_key=FINAL_EVENT_KEY.format(id=order_import.pk),
        )


def event_data(order_import: OrderImport) -> dict[str, Any]:
    return {
        "id": str(order_import.pk),
        "status": order_import.status,
        "connection_id": order_import.connection_id,
        "total": order_import.total,
        "created": order_import.created,
        "already_existed": order_import.already_existed,
        "failed": order_import.failed + order_import.skipped_invalid,
        "cancelled": order_import.cancelled,
        "error": order_import.error,
    }
