"""The portal's actions emit lifecycle events, the run watcher reports each run's end once, and
the whole path runs through the real django-tasks-db backend and its worker to a real socket."""

from __future__ import annotations

import datetime as dt
import io
import json
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from connexportal.accounts.models import Partner
from connexportal.connex import routes
from connexportal.portal.tasks import WATCH_INTERVAL, watch_run
from connexportal.sandbox import faults
from connexportal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.embed.webhooks import SECRET, Receiver, endpoint_for
from tests.portal.conftest import (  # noqa: F401 - fixtures
    DEMO_ACCOUNT,
    merchant_client,
    sandbox,
    sandbox_connections,
    sandbox_setting,
)

WATCH_PATH = "connexportal.portal.tasks.watch_run"
DELIVER_PATH = "connexportal.webhooks.delivery.deliver"


@pytest.fixture
def partner(sandbox):  # noqa: F811 - the fixture imported above
    partner = Partner.objects.get(merchants__users__email="merchant@demo.test")
    endpoint_for(partner, "https://hooks.partner.example/connex")
    return partner


@pytest.fixture
def connection(sandbox):  # noqa: F811
    # Task type 0 is the orders download, the task Run now starts.
    return next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.scheduled_tasks.filter(task_type=0).exists())


def latest_run(connection):
    from connexportal.sandbox.models import TaskRun

    return TaskRun.objects.filter(task__connection=connection).order_by("-id").first()


def settings_form(client, connection, **overrides):
    form = client.get(f"/connections/{connection.id}/settings/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(overrides)
    return data


def watch_tasks():
    return DBTaskResult.objects.filter(task_path=WATCH_PATH).order_by("enqueued_at")


def events_of(event_type):
    return list(WebhookEvent.objects.filter(type=event_type).order_by("created_at"))


# --- what the portal's actions emit -------------------------------------------------------


@pytest.mark.django_db
def test_saving_settings_emits_settings_saved_with_names_only(merchant_client, partner, connection):  # noqa: F811
    secrets = [sandbox_setting(connection.id, name) for name in routes.SECRET_SETTINGS]
    data = settings_form(merchant_client, connection, LastDownloadUtc="2026-10-01T00:00", SummaryTransactionGroupBy="0")
    response = merchant_client.post(f"/connections/{connection.id}/settings/", data)
    assert response.status_code == 302
    (event,) = events_of("settings_saved")
    assert event.partner == partner
    assert event.payload["merchant"] == {"external_id": "demo-merchant-1", "name": "Demo Outdoor Supply"}
    assert event.payload["data"]["connection_id"] == connection.id
    changed = event.payload["data"]["changed_settings"]
    assert "LastDownloadUtc" in changed
    assert changed == sorted(changed)
    assert set(event.payload["data"]) == {"connection_id", "changed_settings"}
    stored = json.dumps(event.payload)
    assert "2026-10-01" not in stored
    assert not [value for value in secrets if value and value in stored]
    (attempt,) = event.deliveries.all()
    assert attempt.state == DeliveryState.PENDING
    assert DBTaskResult.objects.filter(task_path=DELIVER_PATH, args_kwargs__args=[attempt.pk]).exists()


@pytest.mark.django_db
def test_saving_nothing_emits_nothing(merchant_client, partner, connection):  # noqa: F811
    merchant_client.post(f"/connections/{connection.id}/settings/", settings_form(merchant_client, connection))
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_refused_save_emits_nothing(merchant_client, partner, connection):  # noqa: F811
    data = settings_form(merchant_client, connection, LastDownloadUtc="2026-10-01T00:00")
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.post(f"/connections/{connection.id}/settings/", data)
    assert response.status_code in (422, 503)
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_run_now_emits_sync_started_and_starts_a_watch(merchant_client, partner, connection, settings):  # noqa: F811
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    before = timezone.now()
    merchant_client.post(f"/connections/{connection.id}/run-now/")
    run = latest_run(connection)
    (event,) = events_of("sync_started")
    assert event.payload["data"] == {"connection_id": connection.id, "run_id": run.pk, "status": "Queued"}
    assert event.deliveries.get().state == DeliveryState.PENDING
    (watch,) = watch_tasks()
    kwargs = watch.args_kwargs["kwargs"]
    assert (kwargs["merchant_id"], kwargs["connection_id"], kwargs["run_id"]) == (
        event.merchant_id,
        connection.id,
        run.pk,
    )
    assert before + WATCH_INTERVAL <= watch.run_after <= timezone.now() + WATCH_INTERVAL
    assert dt.datetime.fromisoformat(kwargs["until"]) - watch.run_after > dt.timedelta(minutes=29)

    merchant_client.post(f"/connections/{connection.id}/run-now/")
    assert len(events_of("sync_started")) == 1, "the cooldown refused the second click; nothing new started"


@pytest.mark.django_db
def test_without_a_webhook_events_are_recorded_but_nothing_is_sent_or_watched(merchant_client, connection):  # noqa: F811
    merchant_client.post(f"/connections/{connection.id}/run-now/")
    (event,) = events_of("sync_started")
    assert not event.deliveries.exists()
    assert not DBTaskResult.objects.exists()


# --- the run watcher ----------------------------------------------------------------------


def watch_now(**kwargs):
    """Run the queued watch (as the worker would, without waiting for its run_after)."""
    task = watch_tasks().filter(status="READY").last()
    DBTaskResult.objects.filter(pk=task.pk).update(status="SUCCESSFUL")
    return watch_run.call(**(task.args_kwargs["kwargs"] | kwargs))


@pytest.mark.django_db
def test_watch_run_emits_sync_finished_exactly_once(merchant_client, partner, connection, settings):  # noqa: F811
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.post(f"/connections/{connection.id}/run-now/")
    assert watch_now() == "watching"
    assert watch_tasks().filter(status="READY").count() == 1
    assert not events_of("sync_finished") and not events_of("sync_failed")

    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 0
    # The browser's own poll sees the end too: that is the page's business, not the webhook's.
    page = merchant_client.get(f"/connections/{connection.id}/runs/?watch=1", HTTP_HX_REQUEST="true")
    assert "connex:sync_" in page["HX-Trigger"]
    assert not events_of("sync_finished") and not events_of("sync_failed")

    run = latest_run(connection)
    expected = "sync_finished" if run.status == "Completed" else "sync_failed"
    assert watch_now() == expected
    arguments = watch_tasks().last().args_kwargs["kwargs"]
    assert watch_run.call(**arguments) == expected, "a second watch of the same run"
    (event,) = events_of(expected)
    data = event.payload["data"]
    assert data["connection_id"] == connection.id
    assert data["run_id"] == run.pk
    assert data["status"] == run.status
    assert data["orders_downloaded"] == run.orders_downloaded
    assert data["orders_skipped"] == run.orders_skipped
    assert data["finished_at"].endswith("Z")
    assert event.deliveries.count() == 1
    assert watch_tasks().filter(status="READY").count() == 0


@pytest.mark.django_db
def test_watch_run_keeps_looking_through_connex_failures(merchant_client, partner, connection, settings):  # noqa: F811
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.post(f"/connections/{connection.id}/run-now/")
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        assert watch_now() == "watching"
    assert watch_tasks().filter(status="READY").count() == 1


@pytest.mark.django_db
def test_watch_run_gives_up_after_its_limit(merchant_client, partner, connection, settings):  # noqa: F811
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.post(f"/connections/{connection.id}/run-now/")
    assert watch_now(until=(timezone.now() - dt.timedelta(seconds=1)).isoformat()) == "gave up"
    assert watch_tasks().filter(status="READY").count() == 0
    assert not events_of("sync_finished") and not events_of("sync_failed")


# --- end to end: the real backend, the real worker, a real socket -------------------------


@pytest.fixture
def worker():
    """Run `manage.py db_worker --batch` in-process: every task that is due, then return."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def run() -> None:
        call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval=0", stdout=io.StringIO())

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.fixture
def loopback_webhooks(settings):
    # The Receiver listens on 127.0.0.1, a target allowed only in development.
    settings.WEBHOOK_ALLOW_LOOPBACK = True


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("loopback_webhooks")
def test_run_now_reaches_the_partner_through_the_worker(merchant_client, partner, connection, worker):  # noqa: F811
    with Receiver() as receiver:
        WebhookEndpoint.objects.filter(partner=partner).update(url=receiver.url)
        merchant_client.post(f"/connections/{connection.id}/run-now/")

        worker()
        assert [json.loads(body)["type"] for _, body in receiver.received] == ["sync_started"]
        assert DBTaskResult.objects.filter(task_path=WATCH_PATH, status="READY").count() == 1

        # The watch is due in WATCH_INTERVAL: move the clock of the queue instead of sleeping.
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        worker()

    run = latest_run(connection)
    outcome = "sync_finished" if run.status == "Completed" else "sync_failed"
    assert [json.loads(body)["type"] for _, body in receiver.received] == ["sync_started", outcome]
    for headers, body in receiver.received:
        # What a partner runs: the standardwebhooks package's own verify, on the bytes received.
        assert Webhook(SECRET).verify(body, headers) == json.loads(body)
        assert headers["webhook-id"] == json.loads(body)["id"]
        assert headers["content-type"] == "application/json"
    finished = json.loads(receiver.received[1][1])
    assert finished["data"]["run_id"] == run.pk
    assert finished["merchant"]["external_id"] == "demo-merchant-1"
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
