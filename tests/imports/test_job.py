"""The import job's fault paths, against the in-process sandbox: every count asserted."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from connexportal.activity.models import ActivityEntry
from connexportal.activity.services import Actor
from connexportal.imports import orders, services, tasks
from connexportal.imports.models import ImportStatus, OrderImport, OrderImportRow, RowFate
from connexportal.portal import upstream
from connexportal.sandbox import faults
from connexportal.webhooks.models import WebhookEvent
from tests.imports.conftest import createorders_calls, csv_bytes, order_rows, run_to_end, sandbox_orders
from tests.portal.conftest import DEMO_ACCOUNT

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_merchant(sandbox):
    from connexportal.accounts.models import Merchant

    return Merchant.objects.get(users__email="merchant@demo.test")


def start_import(merchant, connection_id, count, *, prefix="IMP", day=None):
    rows = order_rows(count, prefix=prefix, **({"day": day} if day else {}))
    checked = orders.check_orders(orders.read_csv(csv_bytes(rows)), connection_id=connection_id, flat=True)
    assert not checked.invalid
    return services.order_import_create(
        merchant=merchant,
        connection_id=connection_id,
        checked=checked,
        source="api",
        actor=Actor.system("test"),
        start=True,
    )


def duplicates(prefix="IMP") -> int:
    return sandbox_orders(prefix).values("order_number").annotate(n=Count("pk")).filter(n__gt=1).count()


def fates(order_import) -> dict[str, int]:
    return dict(order_import.rows.values_list("fate").annotate(n=Count("pk")).values_list("fate", "n"))


class FaultyCreateOrders(httpx.BaseTransport):
    """The sandbox, except that chosen createorders calls (1-based) misbehave in the exact way given."""

    def __init__(self, inner, *, commit_then_fail=(), commit_then_crash=()):
        self.inner = inner
        self.commit_then_fail = set(commit_then_fail)
        self.commit_then_crash = set(commit_then_crash)
        self.creates = 0

    def handle_request(self, request):
        if not request.url.path.endswith("createorders"):
            return self.inner.handle_request(request)
        self.creates += 1
        response = self.inner.handle_request(request)
        if self.creates in self.commit_then_crash:
            raise RuntimeError("the worker died while waiting for the answer")
        if self.creates in self.commit_then_fail:
            return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})
        return response


def test_a_worker_crash_mid_batch_resumes_after_the_settle_period_without_duplicates(
    demo_merchant, connection_id, sandbox
):
    order_import = start_import(demo_merchant, connection_id, 150)
    faulty = FaultyCreateOrders(sandbox, commit_then_crash={1})
    with upstream.transport_override(faulty), pytest.raises(RuntimeError):
        tasks.run_order_import.call(import_id=str(order_import.pk))
    order_import.refresh_from_db()
    assert order_import.sending_batch == 1
    assert sandbox_orders().count() == 100, "the batch landed; its answer was lost"
    assert fates(order_import) == {"pending": 150}
    # A killed process keeps its lease until it expires.
    OrderImport.objects.filter(pk=order_import.pk).update(lease_holder="dead", lease_until=timezone.now() + tasks.LEASE)
    assert tasks.run_order_import.call(import_id=str(order_import.pk)) == "busy"

    OrderImport.objects.filter(pk=order_import.pk).update(lease_until=timezone.now() - tasks.STALE)
    cache.clear()
    assert tasks.order_imports_resume_stale() == 1
    assert tasks.order_imports_resume_stale() == 0, "queued once, however often pages poll"
    creates_before = createorders_calls(sandbox)
    assert tasks.run_order_import.call(import_id=str(order_import.pk)) == "settling"
    assert createorders_calls(sandbox) == creates_before, "not resent before the settle period"

    OrderImport.objects.filter(pk=order_import.pk).update(sending_since=timezone.now() - tasks.SETTLE)
    assert run_to_end(order_import.pk) == ["finished"]
    order_import.refresh_from_db()
    assert (order_import.created, order_import.already_existed, order_import.failed) == (150, 0, 0)
    assert createorders_calls(sandbox) == creates_before + 1, "only the 50 never sent needed a createorders call"
    assert sandbox_orders().count() == 150
    assert duplicates() == 0
    assert OrderImportRow.objects.filter(attempts=2).count() == 100


def test_a_batch_that_committed_then_failed_is_found_not_resent(demo_merchant, connection_id, sandbox, no_settle):
    order_import = start_import(demo_merchant, connection_id, 120)
    with upstream.transport_override(FaultyCreateOrders(sandbox, commit_then_fail={1})):
        run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert order_import.status == ImportStatus.FINISHED
    assert order_import.created + order_import.already_existed == 120
    assert order_import.failed == 0
    assert sandbox_orders().count() == 120
    assert duplicates() == 0
    assert createorders_calls(sandbox) == 2


def test_a_batch_refused_before_processing_is_sent_again(demo_merchant, connection_id, sandbox, no_settle):
    order_import = start_import(demo_merchant, connection_id, 60)
    faults.configure("503=1,next=1,path=createorders", account=DEMO_ACCOUNT)
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert (order_import.created, order_import.already_existed, order_import.failed) == (60, 0, 0)
    assert createorders_calls(sandbox) == 2
    assert sandbox_orders().count() == 60


def test_connex_down_for_every_attempt_fails_the_orders_after_max_attempts(
    demo_merchant, connection_id, sandbox, no_settle
):
    order_import = start_import(demo_merchant, connection_id, 30)
    faults.configure("503=1,path=createorders", account=DEMO_ACCOUNT)
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert order_import.status == ImportStatus.FINISHED
    assert (order_import.created, order_import.failed) == (0, 30)
    assert OrderImportRow.objects.filter(attempts=tasks.MAX_ATTEMPTS).count() == 30
    assert sandbox_orders().count() == 0
    assert createorders_calls(sandbox) == 2 * tasks.MAX_ATTEMPTS, "each attempt: the send and one resend"


def test_an_order_connex_refuses_fails_alone(demo_merchant, connection_id, sandbox, no_settle):
    order_import = start_import(demo_merchant, connection_id, 5)
    # Longer than the 100 characters Connex stores: the check cannot know, Connex refuses it.
    row = OrderImportRow.objects.get(row_number=3)
    row.order_number = row.payload["orderNumber"] = "X" * 101
    row.save()
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert (order_import.created, order_import.failed) == (4, 1)
    refused = OrderImportRow.objects.get(fate=RowFate.FAILED)
    assert refused.row_number == 3
    assert "OrderNumber" in refused.reason
    assert sandbox_orders().count() == 4


def test_a_refused_login_fails_the_import_and_every_unsent_order(demo_merchant, connection_id, sandbox, monkeypatch):
    monkeypatch.setattr(tasks, "SLICE_SECONDS", 0)
    order_import = start_import(demo_merchant, connection_id, 150)
    assert tasks.run_order_import.call(import_id=str(order_import.pk)) == "continuing"
    account = demo_merchant.connex_account
    account.set_password("no-longer-right")
    account.save()
    cache.clear()
    assert run_to_end(order_import.pk) == ["failed"]
    order_import.refresh_from_db()
    assert order_import.error.startswith("Connex refused the login")
    assert (order_import.created, order_import.failed, order_import.remaining) == (100, 50, 0)
    unsent = OrderImportRow.objects.filter(fate=RowFate.FAILED)
    assert unsent.count() == 50
    assert unsent.filter(reason__startswith="not sent").count() == 50


def test_cancel_between_batches(demo_merchant, connection_id, sandbox, monkeypatch):
    monkeypatch.setattr(tasks, "SLICE_SECONDS", 0)
    order_import = start_import(demo_merchant, connection_id, 250)
    assert tasks.run_order_import.call(import_id=str(order_import.pk)) == "continuing"
    # A worker holds it: the cancel is a request, honoured before the next batch.
    OrderImport.objects.filter(pk=order_import.pk).update(
        lease_holder="other", lease_until=timezone.now() + tasks.LEASE
    )
    services.order_import_cancel(merchant=demo_merchant, import_id=order_import.pk, actor=Actor.system("test"))
    order_import.refresh_from_db()
    assert (order_import.status, order_import.cancel_requested) == (ImportStatus.RUNNING, True)
    OrderImport.objects.filter(pk=order_import.pk).update(lease_holder="", lease_until=timezone.now())
    assert run_to_end(order_import.pk) == ["cancelled"]
    order_import.refresh_from_db()
    assert (order_import.created, order_import.cancelled, order_import.remaining) == (100, 150, 0)
    assert sandbox_orders().count() == 100


def test_cancel_with_no_worker_on_it_ends_at_once(demo_merchant, connection_id, sandbox):
    order_import = start_import(demo_merchant, connection_id, 10)
    services.order_import_cancel(merchant=demo_merchant, import_id=order_import.pk, actor=Actor.system("test"))
    order_import.refresh_from_db()
    assert (order_import.status, order_import.cancelled) == (ImportStatus.CANCELLED, 10)
    assert createorders_calls(sandbox) == 0


def test_the_end_is_recorded_and_sent_to_the_webhook_once(demo_merchant, connection_id, sandbox, no_settle):
    order_import = start_import(demo_merchant, connection_id, 3)
    run_to_end(order_import.pk)
    tasks.order_import_finish(order_import.pk, ImportStatus.FINISHED)
    events = WebhookEvent.objects.filter(type="order_import.finished")
    assert events.count() == 1
    data = events.get().payload["data"]
    assert data == {
        "id": str(order_import.pk),
        "status": "finished",
        "connection_id": connection_id,
        "total": 3,
        "created": 3,
        "already_existed": 0,
        "failed": 0,
        "cancelled": 0,
        "error": "",
    }
    assert ActivityEntry.objects.filter(action="order_import.started", target=str(order_import.pk)).count() == 1
    assert ActivityEntry.objects.filter(action="order_import.finished", target=str(order_import.pk)).count() == 1


def test_one_worker_at_a_time(demo_merchant, connection_id, sandbox):
    order_import = start_import(demo_merchant, connection_id, 3)
    OrderImport.objects.filter(pk=order_import.pk).update(
        lease_holder="other", lease_until=timezone.now() + dt.timedelta(minutes=1)
    )
    assert tasks.run_order_import.call(import_id=str(order_import.pk)) == "busy"
    assert createorders_calls(sandbox) == 0
