"""The partner API records merchant changes with the key as actor, and serves a merchant's activity."""

from __future__ import annotations

import pytest

from connexportal.accounts.models import Merchant, PartnerApiKey
from connexportal.activity.models import ActivityEntry
from connexportal.activity.services import Actor, activity_record
from tests.embed.api_helpers import Api, merchant_for, partner_with_key, problem_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def entries(**filters) -> list[ActivityEntry]:
    return list(ActivityEntry.objects.filter(**filters).order_by("id"))


def test_create_change_and_deactivate_are_recorded_with_the_key_as_actor(api, partner):
    key = PartnerApiKey.objects.get(partner=partner)
    created = api.post(
        "/merchants",
        {"external_id": "acme-001", "name": "Acme", "timezone": "UTC", "currency": "USD"},
        headers={"Idempotency-Key": "create-acme"},
    )
    replayed = api.post(
        "/merchants",
        {"external_id": "acme-001", "name": "Acme", "timezone": "UTC", "currency": "USD"},
        headers={"Idempotency-Key": "create-acme"},
    )
    assert (created.status_code, replayed.status_code) == (201, 201)
    assert (
        api.patch("/merchants/acme-001", {"name": "Acme Co", "currency": "CAD", "timezone": "UTC"}).status_code == 200
    )
    assert api.patch("/merchants/acme-001", {"is_active": False}).status_code == 200
    assert api.patch("/merchants/acme-001", {"is_active": True}).status_code == 200
    assert api.post("/merchants/acme-001/deactivate").status_code == 200
    assert api.post("/merchants/acme-001/deactivate").status_code == 200

    merchant = Merchant.objects.get(external_id="acme-001")
    recorded = entries(merchant=merchant)
    assert [entry.action for entry in recorded] == [
        "merchant.created",
        "merchant.changed",
        "merchant.deactivated",
        "merchant.changed",
        "merchant.deactivated",
    ]
    for entry in recorded:
        assert (entry.actor_kind, entry.channel, entry.api_key, entry.partner) == ("api_key", "api", key, partner)
        assert entry.actor_label == f"default (cxp_{key.prefix}…)"
        assert entry.ip == "127.0.0.1"
        assert entry.target == "acme-001"
    assert recorded[0].changes["name"] == {"old": None, "new": "Acme"}
    # Only what changed: the time zone was sent unchanged.
    assert recorded[1].changes == {"name": {"old": "Acme", "new": "Acme Co"}, "currency": {"old": "USD", "new": "CAD"}}
    assert recorded[2].changes == {"is_active": {"old": True, "new": False}}
    assert recorded[4].changes == {"is_active": {"old": True, "new": False}}


def test_a_merchants_activity_is_paged_newest_first(api, partner):
    merchant = merchant_for(partner, "acme-001", with_account=False)
    other = merchant_for(partner, "acme-002", with_account=False)
    for number in range(5):
        activity_record(
            action="settings.saved",
            actor=Actor.system(),
            merchant=merchant,
            target=f"connection {number}",
            changes={"SummaryTransactionGroupBy": (str(number), str(number + 1)), "SolutionPassword": ("a", "b")},
        )
    activity_record(action="run_now.started", actor=Actor.system(), merchant=other, target="OTHER")
    activity_record(action="login.failed", actor=Actor.system(), merchant=merchant, target="LOGIN")

    first = api.get("/merchants/acme-001/activity", page_size=2, headers={"Accept-Language": "fr"})
    last = api.get("/merchants/acme-001/activity", page=3, page_size=2)

    assert first.status_code == 200, first.content
    body = first.json()
    assert body["pagination"] == {"page": 1, "page_size": 2, "total_items": 5, "total_pages": 3}
    assert [item["target"] for item in body["items"]] == ["connection 4", "connection 3"]
    assert body["items"][0]["action"] == "settings.saved"
    assert body["items"][0]["action_label"] == "Settings saved"
    assert body["items"][0]["actor"] == {"kind": "system", "label": "system"}
    assert body["items"][0]["channel"] == "system"
    assert body["items"][0]["changes"] == {
        "SummaryTransactionGroupBy": {"old": "4", "new": "5"},
        "SolutionPassword": {"old": "••••", "new": "••••"},
    }
    assert body["links"]["next"] == "http://testserver/api/v1/merchants/acme-001/activity?page=2&page_size=2"
    assert body["links"]["prev"] is None
    assert [item["target"] for item in last.json()["items"]] == ["connection 0"]
    assert last.json()["links"]["next"] is None


def test_another_partners_merchant_is_not_found(api):
    theirs = merchant_for(partner_with_key("Partner B")[0], "theirs", with_account=False)
    activity_record(action="run_now.started", actor=Actor.system(), merchant=theirs)

    response = api.get("/merchants/theirs/activity")

    assert response.status_code == 404
    assert response.json()["type"] == problem_type("not-found")
    assert "run_now" not in response.content.decode()


def test_a_bad_page_is_a_validation_problem(api, partner):
    merchant_for(partner, "acme-001", with_account=False)
    response = api.get("/merchants/acme-001/activity", page=0)
    assert response.status_code == 422
    assert "page" in response.json()["errors"]


def test_the_activity_needs_a_key():
    assert Api(None).get("/merchants/acme-001/activity").status_code == 401
