"""The partner console's webhooks: endpoints (URL, event types), secrets shown once and rotated,
a test event, the delivery log with status and response code, redelivery; all within the partner."""

from __future__ import annotations

import re

import httpx
import pytest
from django.urls import reverse

from connexportal.activity.models import ActivityEntry
from connexportal.webhooks import delivery
from connexportal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from tests.embed.webhooks import Recorder, endpoint_for, verify_request
from tests.partner.conftest import PARTNER_EMAIL, demo_partner, partner_client, rival, support_client  # noqa: F401
from tests.portal.conftest import sandbox  # noqa: F401

HOOK_URL = "http://localhost:8123/hooks"


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    # A local receiver, as in development; the address policy has tests of its own.
    settings.WEBHOOK_ALLOW_LOOPBACK = True


def shown_secret(response) -> str:
    return re.search(r'value="(whsec_[^"]+)"', response.content.decode())[1]


def add_endpoint(client, **fields):
    return client.post(reverse("partner:webhooks"), {"url": HOOK_URL, "description": "orders", **fields})


def send_pending(endpoint: WebhookEndpoint, answer: httpx.Response) -> tuple[Recorder, WebhookDelivery]:
    pending = WebhookDelivery.objects.get(endpoint=endpoint, state=DeliveryState.PENDING)
    recorder = Recorder([answer])
    with delivery.transport_override(recorder.transport):
        delivery.deliver.call(pending.pk)
    pending.refresh_from_db()
    return recorder, pending


def test_an_endpoint_is_added_with_its_event_types_and_its_secret_shown_once(partner_client, demo_partner):  # noqa: F811
    response = add_endpoint(partner_client, event_types=["sync_failed", "order_import.finished"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    endpoint = WebhookEndpoint.objects.get(partner=demo_partner, url=HOOK_URL)
    assert endpoint.url == HOOK_URL and endpoint.event_types == ["sync_failed", "order_import.finished"]
    assert endpoint.get_secret() == secret
    entry = ActivityEntry.objects.get(action="webhook_endpoint.created", partner=demo_partner, target=HOOK_URL)
    assert entry.actor_label == PARTNER_EMAIL and entry.channel == "console"

    listing = partner_client.get(reverse("partner:webhooks")).content.decode()
    assert HOOK_URL in listing and "sync_failed, order_import.finished" in listing
    assert secret not in listing and 'value="whsec_' not in listing


def test_an_endpoint_url_must_pass_the_webhook_url_policy(partner_client, demo_partner, settings):  # noqa: F811
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = add_endpoint(partner_client)
    assert response.status_code == 422
    assert 'class="error"' in response.content.decode()
    assert not WebhookEndpoint.objects.filter(partner=demo_partner, url=HOOK_URL).exists()


def test_rotation_shows_the_new_secret_once_and_signs_with_both_for_a_while(partner_client, demo_partner):  # noqa: F811
    old = shown_secret(add_endpoint(partner_client))
    endpoint = WebhookEndpoint.objects.get(partner=demo_partner, url=HOOK_URL)
    response = partner_client.post(reverse("partner:webhook-rotate", args=[endpoint.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = shown_secret(response)
    endpoint.refresh_from_db()
    assert new != old and endpoint.signing_secrets() == [new, old]
    assert ActivityEntry.objects.filter(action="webhook_endpoint.secret_rotated", actor_label=PARTNER_EMAIL).exists()


def test_a_test_event_goes_to_the_endpoint_and_the_log_shows_status_and_response(partner_client, demo_partner):  # noqa: F811
    secret = shown_secret(add_endpoint(partner_client))
    endpoint = WebhookEndpoint.objects.get(partner=demo_partner, url=HOOK_URL)
    response = partner_client.post(reverse("partner:webhook-test", args=[endpoint.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('partner:webhook-deliveries')}?endpoint={endpoint.pk}"

    recorder, sent = send_pending(endpoint, httpx.Response(503, text="busy, try later"))
    request = recorder.requests[0]
    assert verify_request(secret, request.headers, request.content)
    assert recorder.bodies()[0]["type"] == "ping"

    log = partner_client.get(response["Location"]).content.decode()
    assert "Test event (ping)" in log and "HTTP 503" in log and "Failed" in log

    redeliver = partner_client.post(
        reverse("partner:webhook-redeliver", args=[sent.pk]), {"next": response["Location"]}
    )
    assert redeliver.status_code == 302 and redeliver["Location"] == response["Location"]
    attempts = WebhookDelivery.objects.filter(event=sent.event, endpoint=endpoint).order_by("attempt")
    assert [attempt.attempt for attempt in attempts] == [1, 2]
    _recorder, second = send_pending(endpoint, httpx.Response(200, text="ok"))
    log = partner_client.get(response["Location"]).content.decode()
    assert second.state == DeliveryState.SUCCEEDED and "HTTP 200" in log and "Succeeded" in log


def test_an_endpoint_is_removed(partner_client, demo_partner):  # noqa: F811
    add_endpoint(partner_client)
    endpoint = WebhookEndpoint.objects.get(partner=demo_partner, url=HOOK_URL)
    assert partner_client.post(reverse("partner:webhook-delete", args=[endpoint.pk])).status_code == 302
    assert not WebhookEndpoint.objects.filter(partner=demo_partner, url=HOOK_URL).exists()
    assert ActivityEntry.objects.filter(action="webhook_endpoint.deleted", actor_label=PARTNER_EMAIL).exists()


def test_another_partners_endpoints_and_deliveries_are_404(partner_client, rival):  # noqa: F811
    theirs = endpoint_for(rival["partner"], "https://hooks.rival.example/x")
    from connexportal import events

    events.ping(endpoint=theirs)
    their_delivery = WebhookDelivery.objects.get(endpoint=theirs)
    for name in ("webhook-rotate", "webhook-test", "webhook-delete"):
        assert partner_client.post(reverse(f"partner:{name}", args=[theirs.pk])).status_code == 404, name
    assert partner_client.post(reverse("partner:webhook-rotate", args=["not-a-uuid"])).status_code == 404
    assert partner_client.post(reverse("partner:webhook-redeliver", args=[their_delivery.pk])).status_code == 404
    assert partner_client.get(reverse("partner:webhook-deliveries"), {"endpoint": theirs.pk}).status_code == 404
    log = partner_client.get(reverse("partner:webhook-deliveries")).content.decode()
    assert "rival.example" not in log
    assert "rival.example" not in partner_client.get(reverse("partner:webhooks")).content.decode()
    assert WebhookDelivery.objects.filter(endpoint=theirs).count() == 1


def test_webhooks_are_for_administrators(support_client):  # noqa: F811
    assert support_client.get(reverse("partner:webhooks")).status_code == 403
    assert support_client.get(reverse("partner:webhook-deliveries")).status_code == 403
