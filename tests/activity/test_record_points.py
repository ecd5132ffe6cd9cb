"""Each place that changes something leaves the right entry: the portal pages, the admin, the login form."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey, User
from connexportal.activity.models import ActivityEntry
from connexportal.activity.services import Actor, activity_record
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections, sandbox_setting

pytestmark = pytest.mark.django_db


def only_entry(**filters) -> ActivityEntry:
    found = list(ActivityEntry.objects.filter(**filters))
    assert len(found) == 1, found
    return found[0]


# --- The portal ----------------------------------------------------------------------------


@pytest.fixture
def connection(sandbox):
    # Task type 0 is the orders download: Run now needs one.
    return next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.scheduled_tasks.filter(task_type=0).exists())


def test_saving_settings_records_old_and_new_values(merchant_client, connection):
    url = f"/connections/{connection.id}/settings/"
    form = merchant_client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    old_start = sandbox_setting(connection.id, "LastDownloadUtc")
    data.update({"LastDownloadUtc": "2026-10-01T00:00"})

    response = merchant_client.post(url, data, REMOTE_ADDR="192.0.2.10")

    assert response.status_code == 302
    entry = only_entry(action="settings.saved")
    user = User.objects.get(email="merchant@demo.test")
    assert entry.merchant == user.merchant
    assert (entry.actor_kind, entry.actor_label, entry.actor_user, entry.channel) == (
        "user",
        "merchant@demo.test",
        user,
        "direct",
    )
    assert entry.ip == "192.0.2.10"
    assert entry.detail == {"connection_id": connection.id}
    assert entry.target
    assert list(entry.changes) == ["LastDownloadUtc"]
    assert entry.changes["LastDownloadUtc"]["old"] == old_start
    assert entry.changes["LastDownloadUtc"]["new"] == sandbox_setting(connection.id, "LastDownloadUtc")
    assert entry.changes["LastDownloadUtc"]["new"].startswith("2026-10-01T00:00")


def test_an_unchanged_save_records_nothing(merchant_client, connection):
    url = f"/connections/{connection.id}/settings/"
    form = merchant_client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    merchant_client.post(url, data)
    assert not ActivityEntry.objects.filter(action="settings.saved").exists()


def test_run_now_is_recorded_once_per_accepted_press(merchant_client, connection, settings):
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.get(f"/connections/{connection.id}/settings/")

    started = merchant_client.post(f"/connections/{connection.id}/run-now/")
    cooled = merchant_client.post(f"/connections/{connection.id}/run-now/")

    assert (started.status_code, cooled.status_code) == (302, 302)
    entry = only_entry(action="run_now.started")
    assert entry.actor_label == "merchant@demo.test"
    assert entry.detail["connection_id"] == connection.id
    assert entry.detail["run_id"] is not None
    assert entry.detail["status"] == "Queued"
    assert entry.target


# --- The admin -----------------------------------------------------------------------------


@pytest.fixture
def staff_client(db):
    staff = User.objects.create_superuser("ops@connex.test", "pw-long-enough-1")
    client = Client()
    client.force_login(staff)
    return client


PARTNER_FORM = {
    "name": "Acme",
    "primary_color": "#112233",
    "accent_color": "#445566",
    "theme": "light",
    "default_language": "en",
    "service_name": "Connex",
    "embed_chrome": "none",
    "embed_origins": "https://app.acme.test",
    "allow_run_now": "on",
    "is_active": "on",
    "api_keys-TOTAL_FORMS": "0",
    "api_keys-INITIAL_FORMS": "0",
    "api_keys-MIN_NUM_FORMS": "0",
    "api_keys-MAX_NUM_FORMS": "1000",
    "webhook_endpoints-TOTAL_FORMS": "0",
    "webhook_endpoints-INITIAL_FORMS": "0",
    "webhook_endpoints-MIN_NUM_FORMS": "0",
    "webhook_endpoints-MAX_NUM_FORMS": "1000",
}


def test_partner_changes_in_the_admin_record_old_and_new(staff_client):
    assert staff_client.post("/admin/accounts/partner/add/", PARTNER_FORM).status_code == 302
    partner = Partner.objects.get(name="Acme")
    changed = {
        **PARTNER_FORM,
        "embed_origins": "https://app.acme.test\nhttps://new.acme.test",
        "theme": "dark",
    }
    response = staff_client.post(f"/admin/accounts/partner/{partner.pk}/change/", changed, REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 302
    created = only_entry(action="partner.created")
    assert created.changes["name"] == {"old": None, "new": "Acme"}
    entry = only_entry(action="partner.changed")
    assert (entry.actor_kind, entry.actor_label, entry.channel, entry.ip) == (
        "staff",
        "ops@connex.test",
        "admin",
        "192.0.2.7",
    )
    assert entry.partner == partner
    assert entry.merchant is None
    assert entry.changes == {
        "theme": {"old": "light", "new": "dark"},
        "embed_origins": {"old": "https://app.acme.test", "new": "https://app.acme.test\nhttps://new.acme.test"},
    }


def test_issuing_and_revoking_keys_in_the_admin_is_recorded(staff_client):
    partner = Partner.objects.create(name="Acme")
    response = staff_client.post(
        "/admin/accounts/partner/", {"action": "issue_api_key", "_selected_action": [partner.pk]}
    )
    assert response.status_code == 200
    key = PartnerApiKey.objects.get(partner=partner)
    issued = only_entry(action="api_key.issued")
    assert (issued.partner, issued.actor_label, issued.channel) == (partner, "ops@connex.test", "admin")
    assert issued.target == f"{key.name} (cxp_{key.prefix}…)"

    revoke = {
        **PARTNER_FORM,
        "embed_origins": "",
        "api_keys-TOTAL_FORMS": "1",
        "api_keys-INITIAL_FORMS": "1",
        "api_keys-0-id": str(key.pk),
        "api_keys-0-partner": str(partner.pk),
        "api_keys-0-revoked_at_0": "2026-01-02",
        "api_keys-0-revoked_at_1": "03:04:05",
    }
    assert staff_client.post(f"/admin/accounts/partner/{partner.pk}/change/", revoke).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    revoked = only_entry(action="api_key.revoked")
    assert revoked.target == issued.target
    assert revoked.changes["revoked_at"]["old"] is None
    assert revoked.changes["revoked_at"]["new"].startswith("2026-01-02T03:04:05")


def test_merchant_changes_in_the_admin_are_recorded(staff_client):
    partner = Partner.objects.create(name="Acme")
    merchant = Merchant.objects.create(partner=partner, name="Shop", external_id="shop-1")
    data = {
        "partner": str(partner.pk),
        "external_id": "shop-1",
        "name": "Shop",
        "timezone": "UTC",
        "currency": "EUR",
        "connex_account-TOTAL_FORMS": "0",
        "connex_account-INITIAL_FORMS": "0",
        "connex_account-MIN_NUM_FORMS": "0",
        "connex_account-MAX_NUM_FORMS": "1",
        "users-TOTAL_FORMS": "0",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
    }
    response = staff_client.post(f"/admin/accounts/merchant/{merchant.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only_entry(action="merchant.deactivated")
    assert entry.merchant == merchant
    assert entry.changes == {"currency": {"old": "USD", "new": "EUR"}, "is_active": {"old": True, "new": False}}
    assert entry.actor_kind == "staff"


def test_create_partner_records_the_partner_and_its_key_as_the_system(db):
    call_command("create_partner", "Beta", "--embed-origin", "https://beta.test", stdout=io.StringIO())

    created = only_entry(action="partner.created")
    issued = only_entry(action="api_key.issued")
    assert (created.actor_kind, created.actor_label, created.channel) == ("system", "create_partner", "system")
    assert created.changes["embed_origins"] == {"old": None, "new": "https://beta.test"}
    assert issued.partner == created.partner


# --- Logins --------------------------------------------------------------------------------


def test_a_failed_login_records_the_address_tried_never_the_password(client, db):
    partner = Partner.objects.create(name="Acme")
    merchant = Merchant.objects.create(partner=partner, name="Shop")
    User.objects.create_user("owner@shop.test", "pw-long-enough-1", merchant=merchant)

    response = client.post(
        "/login/", {"username": "Owner@Shop.test", "password": "wrong-password-123"}, REMOTE_ADDR="198.51.100.4"
    )

    assert response.status_code == 200
    entry = only_entry(action="login.failed")
    assert (entry.actor_kind, entry.target, entry.ip, entry.merchant) == (
        "anonymous",
        "owner@shop.test",
        "198.51.100.4",
        merchant,
    )
    stored = str(ActivityEntry.objects.values_list("actor_label", "target", "changes", "detail"))
    assert "wrong-password-123" not in stored


def test_the_admin_shows_entries_read_only_with_old_and_new(staff_client):
    partner = Partner.objects.create(name="Acme")
    merchant = Merchant.objects.create(partner=partner, name="Shop", external_id="shop-1")
    entry = activity_record(
        action="merchant.changed", actor=Actor.system(), merchant=merchant, changes={"currency": ("USD", "<b>EUR</b>")}
    )

    listing = staff_client.get("/admin/activity/activityentry/", {"merchant__id__exact": merchant.pk})
    detail = staff_client.get(f"/admin/activity/activityentry/{entry.pk}/change/")

    assert listing.status_code == 200
    assert "Merchant changed" in listing.content.decode()
    assert 'name="action"' not in listing.content.decode()
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "<td>USD</td><td>&lt;b&gt;EUR&lt;/b&gt;</td>" in html
    assert 'name="_save"' not in html
    assert staff_client.get("/admin/activity/activityentry/add/").status_code == 403
    assert staff_client.post(f"/admin/activity/activityentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ActivityEntry.objects.filter(pk=entry.pk).exists()


def test_a_lockout_is_recorded_with_the_address_axes_counted(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    User.objects.create_user("owner@shop.test", "pw-long-enough-1")
    headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.50"}
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "owner@shop.test", "password": "wrong-password-123"}, **headers)

    entry = only_entry(action="login.locked_out")
    assert (entry.target, entry.ip) == ("owner@shop.test", "203.0.113.50")
    failures = ActivityEntry.objects.filter(action="login.failed")
    assert failures.count() == settings.AXES_FAILURE_LIMIT
    assert set(failures.values_list("ip", flat=True)) == {"203.0.113.50"}
