"""Webhook delivery: Standard Webhooks signatures, payload, endpoints and subscriptions, secret
rotation, retries and their schedule, the delivery log and its admin."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from email.utils import format_datetime

import httpx
import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from connexportal import events
from connexportal.accounts.models import Merchant, Partner, User
from connexportal.webhooks import delivery
from connexportal.webhooks.delivery import RETRY_DELAYS, deliver
from connexportal.webhooks.models import (
    SECRET_ROTATION_GRACE,
    DeliveryState,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.embed.webhooks import OTHER_SECRET, SECRET, Receiver, Recorder, endpoint_for, verify_request

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.partner.example/connex"
DELIVER_PATH = "connexportal.webhooks.delivery.deliver"


@pytest.fixture(autouse=True)
def production_policy(settings):
    # The address rules themselves are tested in tests/webhooks/test_targets.py.
    settings.WEBHOOK_ALLOW_LOOPBACK = False


@pytest.fixture
def partner():
    return Partner.objects.create(name="Acme Software")


@pytest.fixture
def endpoint(partner):
    return endpoint_for(partner, HOOK_URL)


@pytest.fixture
def merchant(partner):
    return Merchant.objects.create(name="Trail & Co", partner=partner, external_id="acme-42")


@pytest.fixture
def event(merchant, endpoint):
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


def test_signature_verifies_with_the_standardwebhooks_package_and_fails_otherwise(event):
    recorder, _, state = send([httpx.Response(204)], event)
    assert state == DeliveryState.SUCCEEDED
    request = recorder.requests[0]
    body, headers = request.content, dict(request.headers)
    timestamp = headers["webhook-timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 5
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)
    assert not verify_request(OTHER_SECRET, headers, body)
    assert not verify_request(SECRET, headers, body.replace(b"acme-42", b"acme-43"))
    assert not verify_request(SECRET, {**headers, "webhook-timestamp": str(int(timestamp) + 1)}, body)
    assert not verify_request(SECRET, {**headers, "webhook-id": "another-id"}, body)
    with time_machine.travel(dt.datetime.fromtimestamp(int(timestamp) + 301, tz=dt.UTC)):
        assert not verify_request(SECRET, headers, body)


def test_signing_is_base64_hmac_sha256_over_id_dot_timestamp_dot_body():
    # Known answer, computed outside the portal with Python's hmac module:
    # base64(HMAC-SHA256(key=b"test-signing-key-32-bytes-long!!", b'msg_1.1700000000.{"id":"evt"}')).
    headers = delivery.signature_headers(msg_id="msg_1", timestamp=1700000000, body=b'{"id":"evt"}', secrets=[SECRET])
    assert headers == {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,+J0yjVqqJkPEFslZsjV9UQa9S7xaRWY/W7w5X9oOf0Y=",
    }


def test_payload_and_headers(event, merchant, partner):
    recorder, _, _ = send([httpx.Response(200)], event)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == HOOK_URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("ConnexPortal-Webhooks/")
    assert {name for name in request.headers if name.startswith("webhook-")} == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert request.headers["webhook-id"] == str(event.pk)
    assert request.headers["webhook-timestamp"].isdigit()
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", request.headers["webhook-signature"])
    assert not any(name.lower().startswith("connex-webhook") for name in request.headers)
    body = json.loads(request.content)
    assert body == {
        "id": str(event.pk),
        "type": "settings_saved",
        "created_at": body["created_at"],
        "timestamp": body["created_at"],
        "partner": "Acme Software",
        "merchant": {"external_id": "acme-42", "name": "Trail & Co"},
        "data": {"connection_id": 7, "changed_settings": ["A"]},
    }
    created = dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert body["created_at"].endswith("Z")
    assert abs(created - event.created_at) < dt.timedelta(milliseconds=1)


def test_every_attempt_sends_the_same_body_and_id_with_a_fresh_signature(event):
    first, _, _ = send([httpx.Response(503)], event)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=30)):
        second, _, _ = send([httpx.Response(200)], event)
        assert verify_request(SECRET, second.requests[0].headers, second.requests[0].content)
    first_headers, second_headers = first.requests[0].headers, second.requests[0].headers
    assert first.requests[0].content == second.requests[0].content
    assert first_headers["webhook-id"] == second_headers["webhook-id"] == str(event.pk)
    assert int(second_headers["webhook-timestamp"]) > int(first_headers["webhook-timestamp"])
    assert second_headers["webhook-signature"] != first_headers["webhook-signature"]


def test_emit_queues_the_first_attempt_on_the_database_backend(event, partner, endpoint):
    (only,) = attempts(event)
    assert (only.attempt, only.state, only.url, only.partner, only.endpoint) == (
        1,
        DeliveryState.PENDING,
        HOOK_URL,
        partner,
        endpoint,
    )
    task = DBTaskResult.objects.get(task_path=DELIVER_PATH)
    assert task.args_kwargs == {"args": [only.pk], "kwargs": {}}
    assert DBTaskResult.objects.ready().filter(pk=task.pk).exists()


def test_no_endpoint_records_the_event_without_a_delivery(merchant, partner):
    assert not events.webhooks_enabled(merchant)
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


def test_dedupe_key_emits_once(merchant, endpoint):
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
        (lambda partner, endpoint: endpoint.delete(), "endpoint was deleted"),
        (lambda partner, endpoint: WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False), "disabled"),
        (
            lambda partner, endpoint: WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted="garbage"),
            "cannot be decrypted",
        ),
        (lambda partner, endpoint: Partner.objects.filter(pk=partner.pk).update(is_active=False), "inactive"),
    ],
    ids=["endpoint-deleted", "endpoint-disabled", "secret-unreadable", "partner-inactive"],
)
def test_unsendable_attempts_fail_without_a_request(event, partner, endpoint, change, message):
    change(partner, endpoint)
    recorder, first, _ = send([httpx.Response(200)], event)
    assert recorder.requests == []
    assert first.state == DeliveryState.FAILED
    assert message in first.error
    assert first.next_retry_at is None
    assert event.deliveries.count() == 1


def test_an_endpoint_deleted_while_sending_gets_no_retry(event, endpoint):
    def delete_then_fail(request):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
        return httpx.Response(503)

    _, first, _ = send([delete_then_fail], event)
    assert first.state == DeliveryState.FAILED
    assert first.endpoint is None
    assert first.next_retry_at is None
    assert event.deliveries.count() == 1


@pytest.mark.parametrize("url", ["http://hooks.partner.example/connex", "http://localhost:8001/hooks"])
def test_plain_http_is_refused_without_a_request(event, endpoint, url):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    recorder, first, _ = send([httpx.Response(200)], event)
    assert recorder.requests == []
    assert first.state == DeliveryState.REFUSED
    assert "only sent over https" in first.error
    assert first.next_retry_at is None
    assert event.deliveries.count() == 1


def test_localhost_may_use_plain_http_when_loopback_targets_are_allowed(event, endpoint, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://localhost:8001/hooks")
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


def test_retry_now_recovers_an_attempt_whose_worker_died_mid_send(event, endpoint):
    (first,) = attempts(event)
    WebhookDelivery.objects.filter(pk=first.pk).update(
        state=DeliveryState.SENDING, started_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert delivery.delivery_retry_now(event=event, endpoint=endpoint) is False
    WebhookDelivery.objects.filter(pk=first.pk).update(started_at=timezone.now() - dt.timedelta(minutes=10))
    assert delivery.delivery_retry_now(event=event, endpoint=endpoint) is True
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


# --- endpoints: fan-out, subscriptions, rotation, ping -----------------------------------


def test_each_subscribed_endpoint_gets_its_own_chain_with_the_same_webhook_id(merchant, partner, endpoint):
    finished_only = endpoint_for(partner, "https://ops.partner.example/hooks", event_types=["sync_finished"])
    endpoint_for(partner, "https://off.partner.example/hooks", is_active=False)
    saved = events.emit(EventType.SETTINGS_SAVED, merchant=merchant, data={"connection_id": 1, "changed_settings": []})
    finished = events.emit(EventType.SYNC_FINISHED, merchant=merchant, data={"run_id": 3})
    assert [row.endpoint for row in saved.deliveries.all()] == [endpoint]
    assert {row.endpoint for row in finished.deliveries.all()} == {endpoint, finished_only}
    sent = []
    for row in finished.deliveries.all():
        recorder, _, state = send([httpx.Response(200)], row)
        assert state == DeliveryState.SUCCEEDED
        sent.append(recorder.requests[0])
    assert {str(request.url) for request in sent} == {HOOK_URL, "https://ops.partner.example/hooks"}
    assert {request.headers["webhook-id"] for request in sent} == {str(finished.pk)}


def test_a_failing_endpoint_retries_alone(merchant, partner, endpoint):
    other = endpoint_for(partner, "https://ops.partner.example/hooks")
    event = events.emit(EventType.SYNC_STARTED, merchant=merchant, data={"run_id": 1})
    send([httpx.Response(503)], event.deliveries.get(endpoint=endpoint))
    send([httpx.Response(200)], event.deliveries.get(endpoint=other))
    rows = event.deliveries.order_by("endpoint__url", "attempt")
    assert [(row.endpoint, row.attempt, row.state) for row in rows] == [
        (endpoint, 1, DeliveryState.FAILED),
        (endpoint, 2, DeliveryState.PENDING),
        (other, 1, DeliveryState.SUCCEEDED),
    ]


def test_rotation_signs_with_both_secrets_for_the_grace_period_then_the_new_one_only(event, endpoint):
    new_secret = endpoint.rotate_secret()
    endpoint.save()
    assert new_secret != SECRET and new_secret.startswith("whsec_")
    recorder, _, _ = send([httpx.Response(503)], event)
    request = recorder.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify_request(new_secret, request.headers, request.content)
    assert verify_request(SECRET, request.headers, request.content)

    retry = event.deliveries.get(attempt=2)
    with time_machine.travel(timezone.now() + SECRET_ROTATION_GRACE + dt.timedelta(seconds=1)):
        recorder, _, _ = send([httpx.Response(200)], retry)
        request = recorder.requests[0]
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        assert verify_request(new_secret, request.headers, request.content)
        assert not verify_request(SECRET, request.headers, request.content)


def test_a_secret_is_encrypted_at_rest_and_generated_as_whsec_base64(endpoint):
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert SECRET not in stored.secret_encrypted
    assert stored.get_secret() == SECRET
    secret = stored.rotate_secret()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert secret not in stored.secret_encrypted and SECRET not in stored.previous_secret_encrypted


def test_ping_goes_to_its_endpoint_only_whatever_it_subscribes_to(partner, endpoint):
    quiet = endpoint_for(partner, "https://quiet.partner.example/hooks", event_types=["sync_failed"])
    first = events.ping(endpoint=quiet)
    assert [row.endpoint for row in first.event.deliveries.all()] == [quiet]
    recorder, _, state = send([httpx.Response(200)], first)
    assert state == DeliveryState.SUCCEEDED
    body = json.loads(recorder.requests[0].content)
    assert body == {
        "id": str(first.event_id),
        "type": "ping",
        "created_at": body["created_at"],
        "timestamp": body["created_at"],
        "partner": "Acme Software",
        "merchant": None,
        "data": {"endpoint_id": str(quiet.pk)},
    }
    assert verify_request(SECRET, recorder.requests[0].headers, recorder.requests[0].content)


def test_redeliver_sends_a_delivered_event_again_with_the_same_id(event, endpoint):
    first, _, _ = send([httpx.Response(200)], event)
    assert delivery.delivery_retry_now(event=event, endpoint=endpoint) is False
    assert delivery.delivery_retry_now(event=event, endpoint=endpoint, redeliver=True) is True
    again, second, _ = send([httpx.Response(200)], event)
    assert second.attempt == 2
    assert again.requests[0].headers["webhook-id"] == first.requests[0].headers["webhook-id"]


@pytest.mark.django_db(transaction=True)
def test_a_real_delivery_verifies_with_the_standardwebhooks_package(settings, merchant, partner):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with Receiver() as receiver:
        hook = endpoint_for(partner, receiver.url)
        event = events.emit(EventType.SYNC_STARTED, merchant=merchant, data={"connection_id": 2, "run_id": 9})
        deliver.call(event.deliveries.get().pk)
    ((headers, body),) = receiver.received
    assert Webhook(SECRET).verify(body, headers) == event.payload
    assert {name: value for name, value in headers.items() if name.startswith("webhook-")} == {
        "webhook-id": str(event.pk),
        "webhook-timestamp": headers["webhook-timestamp"],
        "webhook-signature": Webhook(SECRET).sign(
            str(event.pk), dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=dt.UTC), body.decode()
        ),
    }
    assert hook.deliveries.get().state == DeliveryState.SUCCEEDED
