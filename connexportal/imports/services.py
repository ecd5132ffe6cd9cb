"""Order imports: create one from checked orders, start, cancel, read it back (tenancy first).

Every function takes the merchant; an import of another merchant is ``NotFound``, and
the connection must be one of the merchant's own (the portal's connection check), so
another merchant's connection is ``NotFound`` too.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from connexportal.accounts.models import Merchant
from connexportal.activity.services import Actor, activity_record
from connexportal.imports.models import (
    ImportSource,
    ImportStatus,
    OrderImport,
    OrderImportRow,
    RowFate,
)
from connexportal.imports.orders import CheckedOrders
from connexportal.portal import services as portal_services
from connexportal.portal.services import NotFound, UpstreamError

__all__ = [
    "NotFound",
    "NothingToImport",
    "UpstreamError",
    "order_import_cancel",
    "order_import_create",
    "order_import_get",
    "order_import_start",
]

_COUNTED = {
    RowFate.CREATED: "created",
    RowFate.ALREADY_EXISTED: "already_existed",
    RowFate.FAILED: "failed",
    RowFate.SKIPPED_INVALID: "skipped_invalid",
    RowFate.CANCELLED: "cancelled",
}
RESULT_COLUMNS = ("row", "order_number", "fate", "reason")


class NothingToImport(Exception):
    """No order in the file passed the check."""


def connection_require(*, merchant: Merchant, connection_id: int) -> None:
    """The connection must be one of the merchant's (NotFound otherwise; UpstreamError when Connex cannot tell)."""
    portal_services.connection_cached(merchant=merchant, connection_id=connection_id)


def order_import_create(
    *,
    merchant: Merchant,
    connection_id: int,
    checked: CheckedOrders,
    source: str,
    actor: Actor,
    file_name: str = "",
    start: bool,
) -> OrderImport:
    """Store the checked orders as an import (invalid ones as skipped_invalid); with ``start``, queue it.

    Without ``start`` it waits as a draft for ``order_import_start``.
    """
    connection_require(merchant=merchant, connection_id=connection_id)
    if not checked.valid:
        raise NothingToImport(_("No order in the file can be imported: every row has a problem."))
    with transaction.atomic():
        order_import = OrderImport.objects.create(
            merchant=merchant,
            connection_id=connection_id,
            source=ImportSource(source),
            file_name=file_name[:255],
            status=ImportStatus.DRAFT,
            started_by_kind=actor.kind,
            started_by_label=actor.label[:254],
            channel=actor.channel,
            total=len(checked.orders),
        )
        OrderImportRow.objects.bulk_create(
            (
                OrderImportRow(
                    order_import=order_import,
                    row_number=order.row,
                    order_number=order.order_number[:255],
                    payload=order.payload,
                    errors=[list(error) for error in order.errors],
                    fate=RowFate.PENDING if order.valid else RowFate.SKIPPED_INVALID,
                    reason=order.reason,
                )
                for order in checked.orders
            ),
            batch_size=1000,
        )
        refresh_counts(order_import)
        if start:
            _start(order_import, actor)
    return order_import


def order_import_start(*, merchant: Merchant, import_id: uuid.UUID, actor: Actor) -> OrderImport:
    """Queue a draft (its valid rows); an import already started is left as it is."""
    with transaction.atomic():
        order_import = order_import_get(merchant=merchant, import_id=import_id, drafts=True)
        claimed = OrderImport.objects.filter(pk=order_import.pk, status=ImportStatus.DRAFT).update(
            status=ImportStatus.QUEUED
        )
        order_import.refresh_from_db()
        if claimed:
            _start(order_import, actor)
    return order_import


def _start(order_import: OrderImport, actor: Actor) -> None:
    from connexportal.imports import tasks

    order_import.status = ImportStatus.QUEUED
    order_import.save(update_fields=["status"])
    activity_record(
        action="order_import.started",
        actor=actor,
        merchant=order_import.merchant,
        target=str(order_import.pk),
        detail={
            "connection_id": order_import.connection_id,
            "source": order_import.source,
            "orders": order_import.to_send,
            "skipped_invalid": order_import.skipped_invalid,
        },
    )
    transaction.on_commit(lambda: tasks.order_import_enqueue(order_import.pk))


def order_import_get(*, merchant: Merchant, import_id: uuid.UUID | str, drafts: bool = True) -> OrderImport:
    imports = OrderImport.objects.filter(merchant=merchant)
    if not drafts:
        imports = imports.exclude(status=ImportStatus.DRAFT)
    try:
        return imports.get(pk=import_id)
    except (OrderImport.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"order import {import_id}") from None


def order_import_cancel(*, merchant: Merchant, import_id: uuid.UUID, actor: Actor) -> OrderImport:
    """Ask a running import to stop after its current batch; a draft or queued one stops at once."""
    from connexportal.imports import tasks

    order_import = order_import_get(merchant=merchant, import_id=import_id)
    if order_import.has_ended:
        return order_import
    OrderImport.objects.filter(pk=order_import.pk).update(cancel_requested=True)
    tasks.order_import_cancel_now(order_import.pk, actor=actor)
    order_import.refresh_from_db()
    return order_import


def order_imports_recent(*, merchant: Merchant, limit: int = 10) -> list[OrderImport]:
    return list(OrderImport.objects.filter(merchant=merchant)[:limit])


def refresh_counts(order_import: OrderImport) -> None:
    """The import's counts, from its rows (one grouped query)."""
    counts = dict.fromkeys(_COUNTED.values(), 0)
    for fate, count in order_import.rows.values_list("fate").annotate(n=Count("pk")).values_list("fate", "n"):
        if fate in _COUNTED:
            counts[_COUNTED[RowFate(fate)]] = count
    for name, value in counts.items():
        setattr(order_import, name, value)
    OrderImport.objects.filter(pk=order_import.pk).update(**counts)


def failures(order_import: OrderImport) -> QuerySet[OrderImportRow]:
    """Rows that were not imported because of a problem: failed, or skipped as invalid."""
    return order_import.rows.filter(fate__in=(RowFate.FAILED, RowFate.SKIPPED_INVALID)).order_by("row_number")


def problem_rows(order_import: OrderImport) -> QuerySet[OrderImportRow]:
    return order_import.rows.filter(fate=RowFate.SKIPPED_INVALID).order_by("row_number")


def result_csv(order_import: OrderImport) -> Iterator[str]:
    """Each row's fate, as CSV lines (streamed: an import holds up to 10,000 rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(RESULT_COLUMNS)
    yield take()
    rows = order_import.rows.order_by("row_number").values_list("row_number", "order_number", "fate", "reason")
    for row_number, order_number, fate, reason in rows.iterator(chunk_size=1000):
        writer.writerow((row_number, _csv_safe(order_number), fate, _csv_safe(reason)))
        yield take()


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
