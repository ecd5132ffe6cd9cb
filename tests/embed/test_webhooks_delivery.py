"""Webhook delivery: signature, payload, retries and their schedule, the delivery log and its admin."""

from __future__ import annotations

import datetime as dt
import json
import logging
from email.utils import format_datetime

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from connexportal import events
from connexportal.accounts.models import Merchant, Partner, User
from connexportal.webhooks import delivery
from connexportal.webhooks.delivery import RETRY_DELAYS, deliver
from connexportal.webhooks.models import DeliveryState, EventType, WebhookDelivery, WebhookEvent
from tests.embed.webhooks import SECRET, Recorder, verify, verify_request

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.partner.example/connex"
DELIVER_PATH = "connexportal.webhooks.delivery.deliver"


@pytest.fixture(autouse=True)
def production_policy(settings):
    # The address rules themselves are tested in tests/webhooks/test_targets.py.
    settings.WEBHOOK_ALLOW_LOOPBACK = False


@pytest.fixture
def partner():
    partner = Partner(name="Acme Software", webhook_url=HOOK_URL)
    partner.set_webhook_secret(SECRET)
    partner.save()
    return partner


@pytest.fixture
def merchant(partner):
    return Merchant.objects.create(name="Trail & Co", partner=partner, external_id="acme-42")


@pytest.fixture
def event(merchant):
    return events.emit(
        EventType.SETTINGS_SAVED, merchant=merchant, data={"connection_id": 7, "changed_settings": ["A"]}
    )


def send(script, event_or_delivery):
    """Run the pending attempt's task (as the worker would) against a scripted partner."""
    recorder = Recorder(script)
    target = (
        event_or_delivery
        if isinstance(event_or_delivery, WebhookDelivery)
        else event_or_delivery.deliveries.get(state=DeliveryState.PENDING)
    )
    with delivery.transport_override(recorder.transport):
        state = deliver.call(target.pk)
    target.refresh_from_db()
    return recorder, target, state


def attempts(event):
    return list(event.deliveries.order_by("attempt"))


# --- signature and payload ---------------------------------------------------------------


def test_signature_verifies_with_the_documented_scheme_and_fails_otherwise(event):
    recorder, _, state = send([httpx.Response(204)], event)
    assert state == DeliveryState.SUCCEEDED
    request = recorder.requests[0]
    body, headers = request.content, request.headers
    timestamp = headers["Connex-Webhook-Timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 5
    assert headers["Connex-Webhook-Signature"].startswith("v1=")
    assert verify_request(SECRET, headers, body)
    assert not verify_request("not-the-secret", headers, body)
    assert not verify(SECRET, body.replace(b"acme-42", b"acme-43"), timestamp, headers["Connex-Webhook-Signature"])
    assert not verify(SECRET, body, str(int(timestamp) + 1), headers["Connex-Webhook-Signature"])
    assert not verify_request(SECRET, headers, body, now=int(timestamp) + 301)


def test_signing_is_hmac_sha256_over_timestamp_dot_body():
    # Known answer, computed outside the portal with Python's hmac module.
    assert delivery.sign("whsec_example", 1700000000, b'{"id":"evt"}') == (
        "v1=e6735b7e8ae5465e1f067cc7e3d6274911850651123b6f04880cb63f81387da5"
    )


def test_payload_and_headers(event, merchant, partner):
    recorder, _, _ = send([httpx.Response(200)], event)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == HOOK_URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Connex-Webhook-Id"] == str(event.pk)
    assert request.headers["User-Agent"].startswith("ConnexPortal-Webhooks/")
    body = json.loads(request.content)
    assert body == {
        "id": str(event.pk),
        "type": "settings_saved",
        "created_at": body["created_at"],
        "partner": "Acme Software",
        "merchant": {"external_id": "acme-42", "name": "Trail & Co"},
        "data": {"connection_id": 7, "changed_settings": ["A"]},
    }
    created = dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert body["created_at"].endswith("Z")
    assert abs(created - event.created_at) < dt.timedelta(milliseconds=1)


def test_every_attempt_sends_the_same_body_and_id_with_a_fresh_signature(event):
    first, _, _ = send([httpx.Response(503)], event)
    second, _, _ = send([httpx.Response(200)], event)
    assert first.requests[0].content == second.requests[0].content
    assert first.requests[0].headers["Connex-Webhook-Id"] == second.requests[0].headers["Connex-Webhook-Id"]
    assert verify_request(SECRET, second.requests[0].headers, second.requests[0].content)


def test_emit_queues_the_first_attempt_on_the_database_backend(event, partner):
    (only,) = attempts(event)
    assert (only.attempt, only.state, only.url, only.partner) == (1, DeliveryState.PENDING, HOOK_URL, partner)
    task = DBTaskResult.objects.get(task_path=DELIVER_PATH)
    assert task.args_kwargs == {"args": [only.pk], "kwargs": {}}
    assert DBTaskResult.objects.ready().filter(pk=task.pk).exists()


def test_no_webhook_url_records_the_event_without_a_delivery(merchant, partner):
    partner.webhook_url = ""
    partner.save()
    event = events.emit(EventType.SYNC_STARTED, merchant=merchant, data={"connection_id": 1, "run_id": 2})
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
    assert not event.deliveries.exists()
    assert not DBTaskResult.objects.exists()


def test_a_merchant_without_partner_gets_events_but_no_deliveries():
    merchant = Merchant.objects.create(name="Solo")
    event = events.emit(EventType.SETTINGS_SAVED, merchant=merchant, data={"connection_id": 1, "changed_settings": []})
    assert event.payload["partner"] is None
    assert event.payload["merchant"] == {"external_id": None, "name": "Solo"}
    assert not event.deliveries.exists()


def test_dedupe_key_emits_once(merchant):
    first = events.emit(EventType.SYNC_FINISHED, merchant=merchant, data={"run_id": 1}, dedupe_key="run:1")
    second = events.emit(EventType.SYNC_FAILED, merchant=merchant, data={"run_id": 1}, dedupe_key="run:1")
    assert first is not None and second is None
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


# --- retries -----------------------------------------------------------------------------


def assert_waited(failed: WebhookDelivery, expected: dt.timedelta):
    waited = failed.next_retry_at - failed.finished_at
    assert expected * 0.9 <= waited <= expected * 1.1, (failed.attempt, waited)


def test_503_is_retried_on_the_backoff_schedule_then_given_up(event):
    for _ in range(6):
        send([httpx.Response(503, text="down for maintenance")], event)
    rows = attempts(event)
    assert [row.attempt for row in rows] == [1, 2, 3, 4, 5, 6]
    assert all(row.state == DeliveryState.FAILED and row.status_code == 503 for row in rows)
    for row, expected in zip(rows, RETRY_DELAYS, strict=False):
        assert_waited(row, expected)
        successor = event.deliveries.get(attempt=row.attempt + 1)
        assert successor.scheduled_at == row.next_retry_at
        task = DBTaskResult.objects.get(task_path=DELIVER_PATH, args_kwargs__args=[successor.pk])
        assert task.run_after == successor.scheduled_at
    assert rows[-1].next_retry_at is None
    assert rows[0].response_excerpt == "down for maintenance"
    assert rows[0].error == "HTTP 503"


def test_a_retry_is_not_ready_for_the_worker_before_its_time(event):
    send([httpx.Response(502)], event)
    retry = event.deliveries.get(attempt=2)
    task = DBTaskResult.objects.get(args_kwargs__args=[retry.pk])
    assert not DBTaskResult.objects.ready().filter(pk=task.pk).exists()
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now() - dt.timedelta(seconds=1))
    assert DBTaskResult.objects.ready().filter(pk=task.pk).exists()


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.ConnectTimeout("connect timed out"), httpx.ConnectError("refused")],
    ids=["read-timeout", "connect-timeout", "connect-error"],
)
def test_timeouts_and_connect_errors_are_retried(event, failure):
    _, first, state = send([failure], event)
    assert state == DeliveryState.FAILED
    assert first.status_code is None
    assert type(failure).__name__ in first.error
    assert first.duration_ms is not None
    assert_waited(first, RETRY_DELAYS[0])
    assert event.deliveries.get(attempt=2).state == DeliveryState.PENDING


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_are_not_retried(event, status):
    _, first, _ = send([httpx.Response(status, json={"error": "bad event"})], event)
    assert first.state == DeliveryState.FAILED
    assert first.status_code == status
    assert first.next_retry_at is None
    assert "not retried" in first.error
    assert '"bad event"' in first.response_excerpt
    assert event.deliveries.count() == 1


def test_errors_a_retry_cannot_fix_are_not_retried(event):
    _, first, _ = send([httpx.UnsupportedProtocol("Request URL has an unsupported protocol")], event)
    assert first.state == DeliveryState.FAILED
    assert "UnsupportedProtocol" in first.error
    assert first.next_retry_at is None
    assert event.deliveries.count() == 1


def test_redirects_are_not_followed(event):
    recorder, first, _ = send([httpx.Response(302, headers={"Location": "https://elsewhere.example/"})], event)
    assert len(recorder.requests) == 1
    assert first.state == DeliveryState.FAILED
    assert "redirects are not followed" in first.error
    assert event.deliveries.count() == 1


def test_retry_after_seconds_is_honoured(event):
    _, first, _ = send([httpx.Response(429, headers={"Retry-After": "120"})], event)
    waited = first.next_retry_at - first.finished_at
    assert dt.timedelta(seconds=120) <= waited < dt.timedelta(seconds=121)


def test_retry_after_http_date_is_honoured(event):
    later = timezone.now() + dt.timedelta(minutes=10)
    _, first, _ = send([httpx.Response(503, headers={"Retry-After": format_datetime(later, usegmt=True)})], event)
    assert abs((first.next_retry_at - later).total_seconds()) < 2


def test_retry_after_shorter_than_the_backoff_does_not_shorten_it(event):
    _, first, _ = send([httpx.Response(429, headers={"Retry-After": "1"})], event)
    assert_waited(first, RETRY_DELAYS[0])


def test_an_absurd_retry_after_is_capped(event):
    _, first, _ = send([httpx.Response(429, headers={"Retry-After": str(30 * 24 * 3600)})], event)
    waited = first.next_retry_at - first.finished_at
    assert dt.timedelta(hours=6) <= waited < dt.timedelta(hours=6, seconds=1)


# --- the delivery log --------------------------------------------------------------------


def test_success_is_logged_with_status_excerpt_and_duration(event, partner):
    _, first, _ = send([httpx.Response(200, text="x" * 10_000)], event)
    assert first.state == DeliveryState.SUCCEEDED
    assert first.partner == partner
    assert first.url == HOOK_URL
    assert first.status_code == 200
    assert first.response_excerpt == "x" * delivery.EXCERPT_CHARS
    assert first.error == ""
    assert first.duration_ms >= 0
    assert first.started_at <= first.finished_at
    assert first.next_retry_at is None


def test_an_attempt_is_sent_at_most_once(event):
    (first,) = attempts(event)
    recorder, _, state = send([httpx.Response(500)], first)
    again, _, state_again = send([httpx.Response(200)], first)
    assert state == DeliveryState.FAILED
    assert state_again == "not pending"
    assert len(recorder.requests) == 1
    assert again.requests == []


def test_an_attempt_claimed_by_another_worker_is_not_sent(event):
    (first,) = attempts(event)
    WebhookDelivery.objects.filter(pk=first.pk).update(state=DeliveryState.SENDING, started_at=timezone.now())
    recorder, _, state = send([httpx.Response(200)], first)
    assert state == "not pending"
    assert recorder.requests == []


def test_the_secret_is_never_logged_or_stored_in_the_log(event, caplog):
    caplog.set_level(logging.DEBUG)
    send([httpx.Response(500, text="nope")], event)
    send([httpx.Response(200)], event)
    assert "webhook succeeded" in caplog.text
    assert SECRET not in caplog.text
    for row in WebhookDelivery.objects.all():
        assert SECRET not in json.dumps([row.url, row.response_excerpt, row.error])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook_url": ""}, "no webhook URL"),
        ({"webhook_secret_encrypted": ""}, "no webhook signing secret"),
        ({"is_active": False}, "inactive"),
    ],
    ids=["url-removed", "no-secret", "inactive"],
)
def test_unsendable_partners_fail_without_a_request(event, partner, change, message):
    Partner.objects.filter(pk=partner.pk).update(**change)
    recorder, first, _ = send([httpx.Response(200)], event)
    assert recorder.requests == []
    assert first.state == DeliveryState.FAILED
    assert message in first.error
    assert first.next_retry_at is None


@pytest.mark.parametrize("url", ["http://hooks.partner.example/connex", "http://localhost:8001/hooks"])
def test_plain_http_is_refused_without_a_request(event, partner, url):
    Partner.objects.filter(pk=partner.pk).update(webhook_url=url)
    recorder, first, _ = send([httpx.Response(200)], event)
    assert recorder.requests == []
    assert first.state == DeliveryState.REFUSED
    assert "only sent over https" in first.error
    assert first.next_retry_at is None
    assert event.deliveries.count() == 1


def test_localhost_may_use_plain_http_when_loopback_targets_are_allowed(event, partner, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    Partner.objects.filter(pk=partner.pk).update(webhook_url="http://localhost:8001/hooks")
    recorder, first, _ = send([httpx.Response(200)], event)
    assert str(recorder.requests[0].url) == "http://localhost:8001/hooks"
    assert first.state == DeliveryState.SUCCEEDED


# --- admin -------------------------------------------------------------------------------


@pytest.fixture
def staff_client(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(User.objects.create_superuser("staff@example.test", "pw-staff-example"))
    return client


def test_admin_delivery_log_lists_filters_and_shows_attempts(staff_client, event, partner):
    send([httpx.Response(503, text="busy")], event)
    base = "/admin/webhooks/webhookdelivery/"
    page = staff_client.get(base)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Retry now" in html
    assert "Trail &amp; Co" in html
    failed = staff_client.get(f"{base}?state__exact=failed&partner__id__exact={partner.pk}")
    assert failed.status_code == 200
    assert failed.context["cl"].result_count == 1
    pending = staff_client.get(f"{base}?state__exact=pending")
    assert pending.context["cl"].result_count == 1
    detail = staff_client.get(f"{base}{event.deliveries.get(attempt=1).pk}/change/")
    assert detail.status_code == 200
    assert "busy" in detail.content.decode()
    assert staff_client.get(f"{base}add/").status_code == 403


def test_admin_event_pages_render(staff_client, event):
    assert staff_client.get("/admin/webhooks/webhookevent/").status_code == 200
    detail = staff_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert "changed_settings" in detail.content.decode()


def test_admin_retry_now_after_a_final_failure_sends_a_new_attempt(staff_client, event):
    send([httpx.Response(400)], event)
    (failed,) = attempts(event)
    response = staff_client.post(
        "/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [failed.pk]}, follow=True
    )
    assert "1 event queued to be sent now." in response.content.decode()
    retry = event.deliveries.get(attempt=2)
    assert retry.state == DeliveryState.PENDING
    assert DBTaskResult.objects.ready().filter(args_kwargs__args=[retry.pk]).exists()
    _, retry, _ = send([httpx.Response(200)], retry)
    assert retry.state == DeliveryState.SUCCEEDED


def test_admin_retry_now_brings_a_waiting_retry_forward(staff_client, event):
    send([httpx.Response(503)], event)
    waiting = event.deliveries.get(attempt=2)
    assert waiting.scheduled_at > timezone.now()
    staff_client.post("/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [waiting.pk]})
    waiting.refresh_from_db()
    assert waiting.scheduled_at <= timezone.now()
    assert event.deliveries.count() == 2
    assert DBTaskResult.objects.ready().filter(args_kwargs__args=[waiting.pk]).count() == 1
    _, sent, _ = send([httpx.Response(200)], waiting)
    assert sent.state == DeliveryState.SUCCEEDED
    # The retry's original, later task finds the attempt already sent.
    recorder, _, state = send([httpx.Response(200)], waiting)
    assert state == "not pending"
    assert recorder.requests == []


def test_admin_retry_now_skips_delivered_events(staff_client, event):
    send([httpx.Response(200)], event)
    response = staff_client.post(
        "/admin/webhooks/webhookevent/", {"action": "retry_now", "_selected_action": [event.pk]}, follow=True
    )
    assert "1 event skipped" in response.content.decode()
    assert event.deliveries.count() == 1


def test_retry_now_recovers_an_attempt_whose_worker_died_mid_send(event):
    (first,) = attempts(event)
    WebhookDelivery.objects.filter(pk=first.pk).update(
        state=DeliveryState.SENDING, started_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert delivery.delivery_retry_now(event=event) is False
    WebhookDelivery.objects.filter(pk=first.pk).update(started_at=timezone.now() - dt.timedelta(minutes=10))
    assert delivery.delivery_retry_now(event=event) is True
    first.refresh_from_db()
    assert first.state == DeliveryState.FAILED
    assert "worker stopped" in first.error
    assert event.deliveries.get(attempt=2).state == DeliveryState.PENDING


def test_retry_now_needs_the_change_permission(event, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer@example.test", "pw-viewer-example", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/webhooks/webhookdelivery/")
    assert page.status_code == 200
    assert "Retry now" not in page.content.decode()
