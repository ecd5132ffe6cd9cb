"""Attack 1 of the trust review, replayed: another tenant names the victim's Connex username.

The victim (the demo merchant, Connex login qbotest@intuit.com) has a token cached. An attacker
with a partner API key, or staff in the admin, attaches the victim's username with a wrong
password to a merchant they control: by creating it, by PATCHing only the username, or in the
admin form. In every variant the attacker sees none of the victim's connections, products or
orders, and cannot run the victim's sync.
"""

from __future__ import annotations

import pytest
from django.test import Client

from connexportal.accounts.models import ConnexAccount, Merchant, PartnerApiKey, User
from connexportal.activity.models import ActivityEntry
from connexportal.portal import upstream
from connexportal.sandbox import faults
from tests.embed.api_helpers import Api, partner_with_key
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, sandbox_connections

VICTIM_CONNECTION_NAMES = ("Amazon US", "Shopify")


@pytest.fixture
def victim(merchant_client, sandbox):
    """The demo merchant, with its token in the cache and its connections listed."""
    page = merchant_client.get("/connections/")
    assert page.status_code == 200
    html = page.content.decode()
    names = [name for name in VICTIM_CONNECTION_NAMES if name in html]
    assert names, "the victim's page must show its connections for the test to mean anything"
    return names


@pytest.fixture
def attacker(sandbox):
    partner, key = partner_with_key("Mallory Software")
    return partner, Api(key)


def _login_as_user_of(merchant: Merchant) -> Client:
    user = User.objects.create_user(email=f"user-of-{merchant.external_id}@evil.test", merchant=merchant)
    client = Client()
    client.force_login(user)
    return client


def _assert_sees_nothing_of_the_victim(client: Client, names: list[str], sandbox) -> None:
    victim_connection = sandbox_connections(DEMO_ACCOUNT)[0].id
    for path in ("/connections/", "/products/", "/orders/", f"/connections/{victim_connection}/settings/"):
        response = client.get(path)
        for name in names:
            assert name not in response.content.decode(), f"{path} showed the victim's {name}"
    page = client.get(f"/connections/{victim_connection}/settings/")
    # Not found, Connex down, or the form to connect again: never the victim's settings.
    assert page.status_code in (404, 503) or 'action="/connect/"' in page.content.decode()
    sandbox.reset()
    client.post(f"/connections/{victim_connection}/run-now/")
    assert not [path for _method, path in sandbox.calls if "runnow" in path.lower()], "RunNow reached Connex"


def _victim_body(password: str = "guessed-wrong") -> dict:
    return {
        "external_id": "copycat",
        "name": "Copycat Ltd",
        "connex": {"environment": "sandbox", "username": DEMO_ACCOUNT, "password": password},
    }


def test_creating_a_merchant_with_the_victims_username_and_a_wrong_password_is_refused(victim, attacker, sandbox):
    _partner, api = attacker
    response = api.post("/merchants", _victim_body())

    assert response.status_code == 422
    problem = response.json()
    assert set(problem["errors"]) == {"connex.username", "connex.password"}
    assert not Merchant.objects.filter(external_id="copycat").exists()
    assert not ConnexAccount.objects.filter(username=DEMO_ACCOUNT, merchant__partner=attacker[0]).exists()


def test_when_connex_cannot_check_the_credentials_they_are_kept_unverified_and_open_nothing(victim, attacker, sandbox):
    _partner, api = attacker
    with faults.injected("503=1,path=login"):
        response = api.post("/merchants", _victim_body())
    assert response.status_code == 201, response.content
    assert response.json()["connex"] == {"environment": "sandbox", "username": DEMO_ACCOUNT, "verified": False}

    copycat = Merchant.objects.get(external_id="copycat")
    client = _login_as_user_of(copycat)
    _assert_sees_nothing_of_the_victim(client, victim, sandbox)
    copycat.connex_account.refresh_from_db()
    assert copycat.connex_account.verified_at is None, "a refused login must not verify the credentials"


def test_patching_only_the_username_to_the_victims_is_refused(victim, attacker, sandbox):
    _partner, api = attacker
    created = api.post(
        "/merchants",
        {
            "external_id": "copycat",
            "name": "Copycat Ltd",
            "connex": {"environment": "sandbox", "username": OTHER_ACCOUNT, "password": "connex-other"},
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["connex"]["verified"] is True

    response = api.send("patch", "/merchants/copycat", {"connex": {"username": DEMO_ACCOUNT}})

    assert response.status_code == 422
    account = ConnexAccount.objects.get(merchant__external_id="copycat")
    assert account.username == OTHER_ACCOUNT and account.get_password() == "connex-other"
    refused = ActivityEntry.objects.filter(merchant__external_id="copycat", action="connex_credentials.refused")
    assert refused.count() == 1
    assert "connex-other" not in str(refused.get().detail)
    _assert_sees_nothing_of_the_victim(_login_as_user_of(account.merchant), victim, sandbox)


def test_the_admin_form_refuses_the_victims_username_with_another_password(victim, attacker, sandbox):
    partner, _api = attacker
    copycat = Merchant.objects.create(partner=partner, external_id="copycat", name="Copycat Ltd")
    account = ConnexAccount(merchant=copycat, environment="sandbox", username=OTHER_ACCOUNT)
    account.set_password("connex-other")
    account.save()
    staff = User.objects.create_superuser(email="staff@portal.test", password="x")
    admin = Client()
    admin.force_login(staff)

    page = admin.post(
        f"/admin/accounts/merchant/{copycat.pk}/change/",
        {
            "name": copycat.name,
            "partner": partner.pk,
            "external_id": "copycat",
            "timezone": "UTC",
            "currency": "USD",
            "is_active": "on",
            "connex_account-TOTAL_FORMS": "1",
            "connex_account-INITIAL_FORMS": "1",
            "connex_account-MIN_NUM_FORMS": "0",
            "connex_account-MAX_NUM_FORMS": "1",
            "connex_account-0-id": account.pk,
            "connex_account-0-merchant": copycat.pk,
            "connex_account-0-environment": "sandbox",
            "connex_account-0-username": DEMO_ACCOUNT,
            "connex_account-0-password": "",
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
            "users-MIN_NUM_FORMS": "0",
            "users-MAX_NUM_FORMS": "1000",
        },
    )

    assert page.status_code == 200, "the form must come back with an error, not save"
    assert "Connex refused this username and password" in page.content.decode()
    account.refresh_from_db()
    assert account.username == OTHER_ACCOUNT
    _assert_sees_nothing_of_the_victim(_login_as_user_of(copycat), victim, sandbox)


def test_a_changed_password_drops_the_old_token_and_new_credentials_share_no_cached_views(victim, sandbox):
    demo = Merchant.objects.select_related("connex_account").get(connex_account__username=DEMO_ACCOUNT)
    old_key = upstream.credentials_key(demo.connex_account)
    assert upstream.TOKEN_STORE.get(old_key) is not None

    _key, plaintext = PartnerApiKey.issue(demo.partner)
    response = Api(plaintext).send(
        "patch", f"/merchants/{demo.external_id}", {"connex": {"password": "connex-demo-rotated"}}
    )

    # The sandbox refuses the new password: nothing changes, and the old token stays usable.
    assert response.status_code == 422
    assert upstream.TOKEN_STORE.get(old_key) is not None

    with faults.injected("503=1,path=login"):
        response = Api(plaintext).send(
            "patch", f"/merchants/{demo.external_id}", {"connex": {"password": "connex-demo-rotated"}}
        )
    assert response.status_code == 200, response.content
    assert upstream.TOKEN_STORE.get(old_key) is None, "the old credentials' token must be dropped"
    demo.connex_account.refresh_from_db()
    assert upstream.credentials_key(demo.connex_account) != old_key


def test_unverified_credentials_are_verified_by_their_first_successful_use(merchant_client, sandbox):
    account = ConnexAccount.objects.get(username=DEMO_ACCOUNT)
    ConnexAccount.objects.filter(pk=account.pk).update(verified_at=None)
    with faults.injected("503=1,path=login"):
        assert "Amazon US" not in merchant_client.get("/connections/").content.decode()
    account.refresh_from_db()
    assert account.verified_at is None

    assert "Amazon US" in merchant_client.get("/connections/").content.decode()
    account.refresh_from_db()
    assert account.verified_at is not None
    entry = ActivityEntry.objects.get(action="connex_credentials.verified", merchant=account.merchant)
    assert entry.actor_kind == "system"
