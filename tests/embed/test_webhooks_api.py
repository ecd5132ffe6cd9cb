"""Partner API: webhook endpoints (list, create with the secret shown once, get, delete, test, rotate)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from django_tasks_db.models import DBTaskResult

from connexportal.activity.models import ActivityEntry
from connexportal.webhooks import delivery, targets
from connexportal.webhooks.delivery import deliver
from connexportal.webhooks.endpoints import MAX_ENDPOINTS_PER_PARTNER
from connexportal.webhooks.models import DeliveryState, WebhookEndpoint
from tests.embed.api_helpers import Api, partner_with_key, problem_type
from tests.embed.webhooks import Recorder, verify_request
from tests.webhooks.test_targets import FakeDNS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

HOST = "hooks.partner.example"
HOOK_URL = f"https://{HOST}/connex"
SECRET_PATTERN = r"whsec_[A-Za-z0-9+/]{43}="


@pytest.fixture(autouse=True)
def dns(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    fake = FakeDNS()
    fake.set(HOST, ["93.184.215.14"])
    monkeypatch.setattr(targets, "resolve", fake)
    return fake


def create(api, **body):
    return api.post("/webhook-endpoints", {"url": HOOK_URL, **body})


def test_create_answers_the_endpoint_with_its_secret_once(api, partner):
    response = create(api, description="Production", event_types=["sync_finished", "sync_failed"])
    assert response.status_code == 201
    body = response.json()
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert body == {
        "id": str(endpoint.pk),
        "url": HOOK_URL,
        "description": "Production",
        "event_types": ["sync_finished", "sync_failed"],
        "is_active": True,
        "previous_secret_expires_at": None,
        "created_at": body["created_at"],
        "secret": body["secret"],
    }
    assert re.fullmatch(SECRET_PATTERN, body["secret"])
    assert endpoint.get_secret() == body["secret"]
    assert body["secret"] not in endpoint.secret_encrypted
    assert response["Location"] == f"http://testserver/api/v1/webhook-endpoints/{endpoint.pk}"
    assert response["Cache-Control"] == "no-store"

    listed = api.get("/webhook-endpoints").json()
    fetched = api.get(f"/webhook-endpoints/{endpoint.pk}").json()
    assert listed == {"items": [fetched]}
    assert "secret" not in fetched
    assert body["secret"] not in str(listed) + str(fetched)
    entry = ActivityEntry.objects.get(action="webhook_endpoint.created")
    assert (entry.partner, entry.target, entry.channel) == (partner, HOOK_URL, "api")
    assert body["secret"] not in str(entry.detail)


def test_an_empty_subscription_means_every_type_and_duplicates_are_dropped(api):
    assert create(api).json()["event_types"] == []
    again = create(api, event_types=["ping", "sync_started", "sync_started"]).json()
    assert again["event_types"] == ["ping", "sync_started"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address."),
        ("https://10.0.0.1/hooks", "10.0.0.1 is a private address."),
        ("http://hooks.partner.example/connex", "Webhooks are only sent over https"),
        ("https://unknown.partner.example/hooks", "unknown.partner.example cannot be resolved (NXDOMAIN)."),
        ("not a url", "Enter a valid URL."),
    ],
    ids=["metadata", "private", "plain-http", "unresolved", "not-a-url"],
)
def test_create_refuses_urls_the_target_policy_refuses_with_a_field_error(api, url, message):
    response = api.post("/webhook-endpoints", {"url": url})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == problem_type("validation-error")
    assert problem["detail"] == "1 field is invalid; see errors."
    assert list(problem["errors"]) == ["url"]
    assert message in problem["errors"]["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_inside_is_refused_at_create(api, dns):
    dns.set(HOST, ["93.184.215.14", "192.168.0.10"])
    response = create(api)
    assert response.status_code == 422
    assert response.json()["errors"] == {"url": [f"{HOST} resolves to 192.168.0.10, a private address."]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": HOOK_URL, "event_types": ["order.shipped"]}, "event_types.0", "Input should be"),
        ({"url": HOOK_URL, "description": "a\nb"}, "description", "control characters"),
        ({"url": HOOK_URL, "secret": "whsec_mine"}, "secret", "Unknown field"),
        ({}, "url", "This field is required."),
    ],
    ids=["unknown-type", "control-characters", "secret-not-accepted", "missing-url"],
)
def test_create_validates_the_body(api, body, field, message):
    response = api.post("/webhook-endpoints", body)
    assert response.status_code == 422
    assert message in response.json()["errors"][field][0]


def test_a_partner_has_a_limited_number_of_endpoints(api, partner):
    for _ in range(MAX_ENDPOINTS_PER_PARTNER):
        assert create(api).status_code == 201
    response = create(api)
    assert response.status_code == 409
    assert response.json()["type"] == problem_type("webhook-endpoint-limit")
    assert WebhookEndpoint.objects.filter(partner=partner).count() == MAX_ENDPOINTS_PER_PARTNER


def test_another_partners_endpoints_are_not_found(api, partner):
    _other, other_key = partner_with_key("Partner B")
    theirs = create(Api(other_key)).json()["id"]
    assert api.get("/webhook-endpoints").json() == {"items": []}
    for method, path in [
        ("get", f"/webhook-endpoints/{theirs}"),
        ("delete", f"/webhook-endpoints/{theirs}"),
        ("post", f"/webhook-endpoints/{theirs}/test"),
        ("post", f"/webhook-endpoints/{theirs}/rotate-secret"),
        ("get", "/webhook-endpoints/not-a-uuid"),
        ("delete", f"/webhook-endpoints/{uuid.uuid4()}"),
    ]:
        response = api.send(method, path) if method != "get" else api.get(path)
        assert response.status_code == 404, (method, path)
        assert response.json()["type"] == problem_type("not-found")
    assert WebhookEndpoint.objects.filter(pk=theirs).exists()
    assert not DBTaskResult.objects.exists()


def test_delete_removes_the_endpoint_and_keeps_its_delivery_log(api, partner):
    endpoint_id = create(api).json()["id"]
    first = api.post(f"/webhook-endpoints/{endpoint_id}/test").json()
    response = api.send("delete", f"/webhook-endpoints/{endpoint_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/webhook-endpoints/{endpoint_id}").status_code == 404
    kept = delivery.WebhookDelivery.objects.get(pk=first["delivery_id"])
    assert (kept.endpoint, kept.url) == (None, HOOK_URL)
    recorder = Recorder([httpx.Response(200)])
    with delivery.transport_override(recorder.transport):
        deliver.call(kept.pk)
    kept.refresh_from_db()
    assert recorder.requests == []
    assert "endpoint was deleted" in kept.error
    entry = ActivityEntry.objects.get(action="webhook_endpoint.deleted")
    assert (entry.partner, entry.target, entry.detail["endpoint_id"]) == (partner, HOOK_URL, endpoint_id)


def test_test_queues_a_signed_ping_for_that_endpoint_only(api, partner):
    created = create(api, event_types=["sync_failed"]).json()
    other = create(api).json()
    response = api.post(f"/webhook-endpoints/{created['id']}/test")
    assert response.status_code == 202
    answer = response.json()
    attempt = delivery.WebhookDelivery.objects.get(pk=answer["delivery_id"])
    assert str(attempt.endpoint_id) == created["id"]
    assert str(attempt.event_id) == answer["event_id"]
    assert attempt.event.type == "ping"
    assert not delivery.WebhookDelivery.objects.filter(endpoint_id=other["id"]).exists()
    recorder = Recorder([httpx.Response(204)])
    with delivery.transport_override(recorder.transport):
        assert deliver.call(attempt.pk) == DeliveryState.SUCCEEDED
    (request,) = recorder.requests
    assert request.headers["webhook-id"] == answer["event_id"]
    assert verify_request(created["secret"], request.headers, request.content)


def test_a_disabled_endpoint_gets_no_test_event(api):
    created = create(api).json()
    WebhookEndpoint.objects.filter(pk=created["id"]).update(is_active=False)
    response = api.post(f"/webhook-endpoints/{created['id']}/test")
    assert response.status_code == 409
    assert response.json()["type"] == problem_type("webhook-endpoint-disabled")
    assert not delivery.WebhookDelivery.objects.exists()


def test_rotate_secret_answers_the_new_secret_once_and_signs_with_both(api, partner):
    created = create(api).json()
    response = api.post(f"/webhook-endpoints/{created['id']}/rotate-secret")
    assert response.status_code == 200
    rotated = response.json()
    assert re.fullmatch(SECRET_PATTERN, rotated["secret"])
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    assert "secret" not in api.get(f"/webhook-endpoints/{created['id']}").json()
    ping = api.post(f"/webhook-endpoints/{created['id']}/test").json()
    recorder = Recorder([httpx.Response(200)])
    with delivery.transport_override(recorder.transport):
        deliver.call(ping["delivery_id"])
    (request,) = recorder.requests
    assert verify_request(rotated["secret"], request.headers, request.content)
    assert verify_request(created["secret"], request.headers, request.content)
    entry = ActivityEntry.objects.get(action="webhook_endpoint.secret_rotated")
    assert entry.partner == partner
    assert rotated["secret"] not in str(entry.detail) and created["secret"] not in str(entry.detail)


def test_the_endpoints_need_the_key(client):
    anonymous = Api(None, client)
    assert anonymous.get("/webhook-endpoints").status_code == 401
    assert anonymous.post("/webhook-endpoints", {"url": HOOK_URL}).status_code == 401
    assert not WebhookEndpoint.objects.exists()
