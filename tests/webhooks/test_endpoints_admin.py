"""Webhook endpoints in the admin: inline on the partner, their own page, rotation shown once,
test events, redelivery; every change in the activity trail, never a secret's value."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from connexportal import events
from connexportal.accounts.models import Merchant, Partner, User
from connexportal.activity.models import ActivityEntry
from connexportal.webhooks.models import DeliveryState, EventType, WebhookDelivery, WebhookEndpoint
from tests.embed.webhooks import OTHER_SECRET, SECRET, endpoint_for

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.partner.example/connex"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    from connexportal.webhooks import targets

    monkeypatch.setattr(targets, "allowed_addresses", lambda host, port: [])


@pytest.fixture
def staff_client(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(User.objects.create_superuser("ops@connex.test", "pw-staff-example"))
    return client


def partner_form(**endpoint):
    data = {
        "name": "Acme",
        "primary_color": "#112233",
        "accent_color": "#445566",
        "theme": "light",
        "default_language": "en",
        "service_name": "Connex",
        "embed_chrome": "none",
        "embed_origins": "",
        "allow_run_now": "on",
        "is_active": "on",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
        "webhook_endpoints-TOTAL_FORMS": "1",
        "webhook_endpoints-INITIAL_FORMS": "0",
        "webhook_endpoints-MIN_NUM_FORMS": "0",
        "webhook_endpoints-MAX_NUM_FORMS": "1000",
        "webhook_endpoints-0-url": HOOK_URL,
        "webhook_endpoints-0-is_active": "on",
    }
    data.update({f"webhook_endpoints-0-{name}": value for name, value in endpoint.items()})
    return data


def test_an_endpoint_added_on_the_partner_page_gets_a_generated_secret(staff_client):
    response = staff_client.post("/admin/accounts/partner/add/", partner_form(event_types=["sync_finished"]))
    assert response.status_code == 302
    (endpoint,) = Partner.objects.get(name="Acme").webhook_endpoints.all()
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == (HOOK_URL, ["sync_finished"], True)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", endpoint.get_secret())
    entry = ActivityEntry.objects.get(action="webhook_endpoint.created")
    assert (entry.target, entry.channel, entry.actor_label) == (HOOK_URL, "admin", "ops@connex.test")


def test_a_secret_set_by_hand_is_stored_encrypted_and_never_recorded(staff_client):
    response = staff_client.post("/admin/accounts/partner/add/", partner_form(signing_secret=SECRET))
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.get_secret() == SECRET
    assert SECRET not in endpoint.secret_encrypted
    page = staff_client.get(f"/admin/accounts/partner/{endpoint.partner_id}/change/").content.decode()
    assert SECRET not in page
    changed = staff_client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"url": HOOK_URL, "description": "", "is_active": "on", "signing_secret": OTHER_SECRET},
    )
    assert changed.status_code == 302
    assert WebhookEndpoint.objects.get().signing_secrets() == [OTHER_SECRET]
    assert ActivityEntry.objects.filter(action="webhook_endpoint.secret_rotated").count() == 1
    trail = str(list(ActivityEntry.objects.values_list("changes", "detail", "target")))
    assert SECRET not in trail and OTHER_SECRET not in trail


def test_a_secret_that_is_not_whsec_base64_is_refused(staff_client):
    response = staff_client.post("/admin/accounts/partner/add/", partner_form(signing_secret="hunter2"))
    assert response.status_code == 200
    assert "whsec_ followed by the base64" in response.content.decode()
    assert not Partner.objects.exists()


def test_unknown_event_types_are_refused(staff_client):
    response = staff_client.post("/admin/accounts/partner/add/", partner_form(event_types=["order.shipped"]))
    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_rotation_shows_the_new_secret_once_on_its_own_page(staff_client):
    endpoint = endpoint_for(Partner.objects.create(name="Acme"), HOOK_URL)
    response = staff_client.post(
        "/admin/webhooks/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint.refresh_from_db()
    new_secret, old_secret = endpoint.signing_secrets()
    assert old_secret == SECRET
    assert new_secret in response.content.decode()
    assert new_secret not in staff_client.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert new_secret not in str(list(ActivityEntry.objects.values_list("changes", "detail")))


def test_send_a_test_event_queues_a_ping_for_active_endpoints(staff_client):
    partner = Partner.objects.create(name="Acme")
    active = endpoint_for(partner, HOOK_URL)
    disabled = endpoint_for(partner, "https://off.partner.example/", is_active=False)
    response = staff_client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "send_test_event", "_selected_action": [active.pk, disabled.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "1 test event queued." in html
    assert "1 endpoint skipped: it is disabled." in html
    (ping,) = WebhookDelivery.objects.all()
    assert (ping.endpoint, ping.event.type) == (active, EventType.PING)
    assert DBTaskResult.objects.ready().filter(args_kwargs__args=[ping.pk]).exists()


def test_redeliver_sends_a_delivered_event_again(staff_client):
    partner = Partner.objects.create(name="Acme")
    endpoint = endpoint_for(partner, HOOK_URL)
    merchant = Merchant.objects.create(name="Shop", partner=partner, external_id="shop-1")
    event = events.emit(EventType.SYNC_STARTED, merchant=merchant, data={"run_id": 1})
    WebhookDelivery.objects.filter(event=event).update(state=DeliveryState.SUCCEEDED)
    staff_client.post("/admin/webhooks/webhookevent/", {"action": "retry_now", "_selected_action": [event.pk]})
    assert event.deliveries.count() == 1
    response = staff_client.post(
        "/admin/webhooks/webhookevent/", {"action": "redeliver", "_selected_action": [event.pk]}, follow=True
    )
    assert "1 event queued to be sent now." in response.content.decode()
    assert list(event.deliveries.filter(endpoint=endpoint).values_list("attempt", "state").order_by("attempt")) == [
        (1, DeliveryState.SUCCEEDED),
        (2, DeliveryState.PENDING),
    ]


def test_deleting_an_endpoint_in_the_admin_is_recorded(staff_client):
    endpoint = endpoint_for(Partner.objects.create(name="Acme"), HOOK_URL)
    response = staff_client.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert ActivityEntry.objects.get(action="webhook_endpoint.deleted").target == HOOK_URL
