"""activity_record: who, what, where; secrets masked whatever the caller passes; rows never change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey, User
from connexportal.activity.models import ActivityEntry, AppendOnlyError
from connexportal.activity.services import MASK, Actor, activity_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    partner = Partner.objects.create(name="Acme Partner")
    return Merchant.objects.create(partner=partner, name="Shop One", external_id="shop-1")


def test_a_merchant_users_change_records_who_what_and_where(merchant):
    user = User.objects.create_user("owner@shop.test", "pw", merchant=merchant)
    request = RequestFactory().post("/connections/1/settings/", REMOTE_ADDR="203.0.113.9")
    request.user = user

    entry = activity_record(
        action="settings.saved",
        actor=Actor.from_request(request),
        merchant=merchant,
        target="Connection 1",
        changes={"DaysToDownload": (3, 7)},
    )

    entry.refresh_from_db()
    assert (entry.action, entry.actor_kind, entry.actor_label, entry.channel) == (
        "settings.saved",
        "user",
        "owner@shop.test",
        "direct",
    )
    assert entry.actor_user == user
    assert entry.ip == "203.0.113.9"
    assert entry.partner == merchant.partner
    assert (entry.partner_name, entry.merchant_name) == ("Acme Partner", "Shop One")
    assert entry.changes == {"DaysToDownload": {"old": 3, "new": 7}}
    assert entry.get_action_display() == "Settings saved"


def test_staff_embedded_api_and_anonymous_actors():
    partner = Partner.objects.create(name="P")
    key, _plaintext = PartnerApiKey.issue(partner, name="backend")
    factory = RequestFactory()

    api_request = factory.get("/api/v1/merchants", REMOTE_ADDR="198.51.100.1")
    api_request.partner_api_key = key
    api_actor = Actor.from_request(api_request)
    assert (api_actor.kind, api_actor.channel, api_actor.api_key, api_actor.partner) == ("api_key", "api", key, partner)
    assert api_actor.label == f"backend (cxp_{key.prefix}…)"

    embedded = factory.get("/connections/", REMOTE_ADDR="198.51.100.2")
    embedded.embed_session = type("Session", (), {"user_email": "clerk@partner.test", "partner": partner})()
    embedded_actor = Actor.from_request(embedded)
    assert (embedded_actor.kind, embedded_actor.label, embedded_actor.channel) == (
        "embedded",
        "clerk@partner.test",
        "embedded",
    )

    staff_request = factory.get("/admin/")
    staff_request.user = User.objects.create_user("ops@connex.test", "pw", is_staff=True)
    assert Actor.from_request(staff_request).kind == "staff"

    anonymous = factory.post("/accounts/login/", REMOTE_ADDR="not an address")
    anonymous_actor = Actor.from_request(anonymous)
    assert (anonymous_actor.kind, anonymous_actor.ip) == ("anonymous", None)

    system = Actor.system("retention")
    assert (system.kind, system.label, system.channel, system.ip) == ("system", "retention", "system", None)


def test_secrets_are_masked_whatever_the_caller_passes(merchant):
    entry = activity_record(
        action="settings.saved",
        actor=Actor.system(),
        merchant=merchant,
        changes={
            "SolutionPassword": ("old-pass", "new-pass"),
            "SolutionUserName": ("", "seller@example.com"),
            "SolutionParameter": ("refresh-token-1", "refresh-token-2"),
            "webhook_secret": ("whsec_a", "whsec_b"),
            "OrderStatus": ("Paid", "Shipped"),
        },
        detail={"api_token": "tok_123", "nested": {"password": "hunter2", "ok": 1}, "reason": "manual"},
    )

    entry.refresh_from_db()
    stored = str(entry.changes) + str(entry.detail)
    for secret in ("old-pass", "new-pass", "seller@example.com", "refresh-token", "whsec_", "tok_123", "hunter2"):
        assert secret not in stored
    assert entry.changes["SolutionPassword"] == {"old": MASK, "new": MASK}
    assert entry.changes["SolutionUserName"] == {"old": "", "new": MASK}
    assert entry.changes["OrderStatus"] == {"old": "Paid", "new": "Shipped"}
    assert entry.detail == {"api_token": MASK, "nested": {"password": MASK, "ok": 1}, "reason": "manual"}


def test_values_are_stored_as_json_and_long_text_is_cut(merchant):
    when = dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC)
    entry = activity_record(
        action="merchant.changed",
        actor=Actor.system(),
        merchant=merchant,
        changes={"since": (None, when), "note": ("", "x" * 2000)},
    )
    entry.refresh_from_db()
    assert entry.changes["since"] == {"old": None, "new": "2025-01-02T03:04:00+00:00"}
    assert len(entry.changes["note"]["new"]) == 501


def test_unknown_actions_are_refused(merchant):
    with pytest.raises(ValueError):
        activity_record(action="settings.deleted", actor=Actor.system(), merchant=merchant)
    assert not ActivityEntry.objects.exists()


def test_entries_cannot_be_changed_or_deleted(merchant):
    entry = activity_record(action="run_now.started", actor=Actor.system(), merchant=merchant, target="Shopify")

    entry.target = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ActivityEntry.objects.filter(pk=entry.pk).update(target="rewritten")
    with pytest.raises(AppendOnlyError):
        ActivityEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        ActivityEntry.objects.filter(pk=entry.pk).update(merchant=None, target="")

    entry.refresh_from_db()
    assert entry.target == "Shopify"


def test_entries_outlive_what_they_name(merchant):
    partner = merchant.partner
    key, _plaintext = PartnerApiKey.issue(partner)
    request = RequestFactory().post("/api/v1/merchants")
    request.partner_api_key = key
    entry = activity_record(action="merchant.created", actor=Actor.from_request(request), merchant=merchant)

    merchant.delete()
    key.delete()

    entry.refresh_from_db()
    assert (entry.merchant, entry.api_key) == (None, None)
    assert (entry.merchant_name, entry.partner_name) == ("Shop One", "Acme Partner")
    assert entry.actor_label.startswith("default (cxp_")


def test_only_pruning_removes_entries(merchant):
    old = activity_record(action="run_now.started", actor=Actor.system(), merchant=merchant)
    recent = activity_record(action="run_now.started", actor=Actor.system(), merchant=merchant)
    cutoff = timezone.now()
    # Backdated in SQL: the ORM path that would do it is the one being refused.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ActivityEntry._meta.db_table} SET created_at = %s WHERE id = %s",
            [cutoff - dt.timedelta(days=2), old.pk],
        )

    assert ActivityEntry.objects.prune_older_than(cutoff - dt.timedelta(days=1)) == 1
    assert list(ActivityEntry.objects.values_list("pk", flat=True)) == [recent.pk]
