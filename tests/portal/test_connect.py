"""Connect and reconnect the merchant's Connex account from the portal; pair a channel again."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, sandbox_connections, sandbox_setting

PAGES = ("/connections/", "/products/", "/orders/", "/products/new/")


def _merchant(email="merchant@demo.test"):
    from connexportal.accounts.models import User

    return User.objects.select_related("merchant").get(email=email).merchant


def _drop_account(merchant):
    from connexportal.accounts.models import ConnexAccount

    ConnexAccount.objects.filter(merchant=merchant).delete()


def _activity(merchant, action):
    from connexportal.activity.models import ActivityEntry

    return list(ActivityEntry.objects.filter(merchant=merchant, action=action).order_by("id"))


def _change_sandbox_password(username, password):
    from connexportal.sandbox.models import AccessToken, ConnexUser

    user = ConnexUser.objects.get(username=username)
    user.set_password(password)
    user.save()
    AccessToken.objects.filter(user=user).delete()
    cache.clear()


def _ebay(username=DEMO_ACCOUNT):
    return next(connection for connection in sandbox_connections(username) if connection.connection_type == 3)


# --- Connect ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_a_merchant_without_an_account_sees_the_connect_form(merchant_client, url):
    _drop_account(_merchant())
    response = merchant_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Connect your Connex account" in html
    assert 'name="username"' in html and 'name="password"' in html
    assert "not answering" not in html


def test_a_connection_page_without_an_account_leads_to_the_form(merchant_client):
    connection_id = sandbox_connections(DEMO_ACCOUNT)[0].id
    _drop_account(_merchant())
    response = merchant_client.get(f"/connections/{connection_id}/settings/")
    assert response.status_code == 200
    assert "Connect your Connex account" in response.content.decode()


def test_wrong_credentials_say_so_and_save_nothing(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    merchant = _merchant()
    _drop_account(merchant)
    response = merchant_client.post("/connect/", {"username": DEMO_ACCOUNT, "password": "not-it"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "did not accept this username and password, so nothing was saved" in html
    assert "not-it" not in html
    assert not ConnexAccount.objects.filter(merchant=merchant).exists()
    [refused] = _activity(merchant, "connex_credentials.refused")
    assert refused.detail == {"environment": "sandbox", "username": DEMO_ACCOUNT}


def test_right_credentials_are_saved_verified_and_the_connections_appear(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    merchant = _merchant()
    _drop_account(merchant)
    response = merchant_client.post("/connect/", {"username": f" {DEMO_ACCOUNT} ", "password": "connex-demo"})
    assert response.status_code == 302
    assert response["Location"] == "/connections/"
    account = ConnexAccount.objects.get(merchant=merchant)
    assert (account.environment, account.username, account.get_password()) == ("sandbox", DEMO_ACCOUNT, "connex-demo")
    assert account.verified_at is not None
    page = merchant_client.get("/connections/").content.decode()
    assert "Connected to Connex" in page
    assert "Amazon US" in page and "Shopify Store" in page
    [changed] = _activity(merchant, "connex_credentials.changed")
    assert changed.changes["password"] != {"old": "", "new": "connex-demo"}


def test_connecting_with_htmx_shows_the_connections_in_the_same_response(merchant_client, sandbox):
    _drop_account(_merchant())
    response = merchant_client.post(
        "/connect/",
        {"username": DEMO_ACCOUNT, "password": "connex-demo"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="connect-panel",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "body"
    assert response["HX-Push-Url"] == "/connections/"
    assert "Connected to Connex" in html and "Amazon US" in html


def test_htmx_errors_render_the_panel_only(merchant_client, sandbox):
    _drop_account(_merchant())
    response = merchant_client.post(
        "/connect/", {"username": "", "password": ""}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="connect-panel"
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="connect-panel"')
    assert "This field is required." in html


def test_connex_down_at_save_saves_unverified_and_says_so(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    merchant = _merchant()
    _drop_account(merchant)
    with faults.injected("503=1,path=login"):
        response = merchant_client.post("/connect/", {"username": DEMO_ACCOUNT, "password": "connex-demo"}, follow=True)
        html = response.content.decode()
    assert "could not be reached to check this login just now" in html
    account = ConnexAccount.objects.get(merchant=merchant)
    assert account.verified_at is None
    # Once Connex answers, the first page proves the login and shows the connections.
    page = merchant_client.get("/connections/")
    assert page.status_code == 200
    assert "Amazon US" in page.content.decode()
    account.refresh_from_db()
    assert account.verified_at is not None


def test_the_environment_is_never_taken_from_the_form(merchant_client, sandbox, settings):
    from connexportal.accounts.models import ConnexAccount

    merchant = _merchant()
    _drop_account(merchant)
    merchant_client.post("/connect/", {"username": DEMO_ACCOUNT, "password": "connex-demo", "environment": "staging"})
    assert ConnexAccount.objects.get(merchant=merchant).environment == "sandbox"


def test_default_environment_without_a_partner(db, settings):
    from connexportal.accounts.models import Merchant
    from connexportal.portal.connect import NoEnvironment, connect_environment

    merchant = Merchant.objects.create(name="Alone")
    settings.CONNEX_SANDBOX = False
    settings.CONNEX_ENVIRONMENTS = {"staging": "https://s.example", "sandbox": "http://sb.example"}
    assert connect_environment(merchant) == "staging"
    settings.CONNEX_SANDBOX = True
    assert connect_environment(merchant) == "sandbox"
    settings.CONNEX_ENVIRONMENTS = {"production": "https://p.example", "sandbox": "http://sb.example"}
    assert connect_environment(merchant) == "production"
    settings.CONNEX_ENVIRONMENTS = {}
    with pytest.raises(NoEnvironment):
        connect_environment(merchant)


def test_default_environment_follows_the_partners_other_merchants(sandbox, settings):
    from connexportal.portal.connect import connect_environment

    merchant = _merchant()
    _drop_account(merchant)
    settings.CONNEX_ENVIRONMENTS = {"production": "https://p.example", "sandbox": "http://testserver/sandbox"}
    assert connect_environment(merchant) == "sandbox"


# --- Refused later -----------------------------------------------------------------------


def test_a_refused_login_shows_needs_attention_on_every_page(merchant_client, sandbox):
    connection_id = sandbox_connections(DEMO_ACCOUNT)[0].id
    merchant_client.get("/connections/")
    _change_sandbox_password(DEMO_ACCOUNT, "changed-in-connex")
    for url in (*PAGES, f"/connections/{connection_id}/settings/"):
        response = merchant_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "Needs attention: reconnect." in html, url
        assert "Reconnect your Connex account" in html, url
        assert "not answering" not in html and "could not reach" not in html.lower(), url


def test_a_refused_login_on_a_settings_save_leads_to_the_form(merchant_client, sandbox):
    connection_id = sandbox_connections(DEMO_ACCOUNT)[1].id
    merchant_client.get(f"/connections/{connection_id}/settings/")
    _change_sandbox_password(DEMO_ACCOUNT, "changed-in-connex")
    response = merchant_client.post(
        f"/connections/{connection_id}/settings/",
        {"SummaryTransactionGroupBy": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="settings-form",
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "body"
    assert "Needs attention: reconnect." in response.content.decode()


def test_reconnecting_with_the_new_password_brings_the_connections_back(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    _change_sandbox_password(DEMO_ACCOUNT, "changed-in-connex")
    assert "Needs attention: reconnect." in merchant_client.get("/connections/").content.decode()
    response = merchant_client.post(
        "/connect/", {"username": DEMO_ACCOUNT, "password": "changed-in-connex"}, follow=True
    )
    html = response.content.decode()
    assert "Amazon US" in html and "Needs attention: reconnect" not in html
    assert ConnexAccount.objects.get(merchant=_merchant()).get_password() == "changed-in-connex"


def test_a_stored_password_connex_refuses_leads_to_the_form(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    account = ConnexAccount.objects.get(username=DEMO_ACCOUNT)
    account.set_password("wrong-password")
    account.save()
    response = merchant_client.get("/connections/")
    assert response.status_code == 200
    assert "Needs attention: reconnect." in response.content.decode()


# --- The partner's switch and its service name -------------------------------------------


def test_editing_switched_off_shows_no_form_and_refuses_the_post(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    merchant = _merchant()
    merchant.partner.allow_credential_editing = False
    merchant.partner.save()
    _drop_account(merchant)
    html = merchant_client.get("/connections/").content.decode()
    assert "Your provider manages this connection; contact them." in html
    assert 'name="password"' not in html
    response = merchant_client.post("/connect/", {"username": DEMO_ACCOUNT, "password": "connex-demo"})
    assert response.status_code == 403
    assert not ConnexAccount.objects.filter(merchant=merchant).exists()


def test_the_partners_service_name_replaces_connex(merchant_client, sandbox):
    merchant = _merchant()
    merchant.partner.service_name = "SyncHub"
    merchant.partner.save()
    _drop_account(merchant)
    html = merchant_client.get("/connect/").content.decode()
    assert "Connect your SyncHub account" in html
    assert "Connex" not in html.split("<main", 1)[1]
    response = merchant_client.post("/connect/", {"username": DEMO_ACCOUNT, "password": "nope"})
    assert "SyncHub did not accept" in response.content.decode()


def test_a_working_account_can_change_its_login(merchant_client, sandbox):
    html = merchant_client.get("/connect/").content.decode()
    assert "Your Connex login" in html
    assert "connex-demo" not in html and DEMO_ACCOUNT not in html.split("<main", 1)[1]


# --- Pair again --------------------------------------------------------------------------


def test_the_unpaired_ebay_connection_offers_pair_again(merchant_client, sandbox):
    ebay = _ebay()
    html = merchant_client.get("/connections/").content.decode()
    assert f'href="/connections/{ebay.id}/pair/"' in html
    settings_page = merchant_client.get(f"/connections/{ebay.id}/settings/").content.decode()
    assert f'href="/connections/{ebay.id}/pair/"' in settings_page


def test_the_pair_form_is_labelled_for_the_channel_and_shows_no_stored_value(merchant_client, sandbox):
    from connexportal.sandbox.models import ConnectionSetting

    amazon = next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.connection_type == 1)
    stored = list(ConnectionSetting.objects.filter(connection=amazon).values_list("value", flat=True))
    html = merchant_client.get(f"/connections/{amazon.id}/pair/").content.decode()
    assert "Amazon seller ID" in html and "Amazon refresh token" in html and "Amazon marketplace ID" in html
    for value in stored:
        if value.startswith("sandbox-"):
            assert value not in html
    ebay_html = merchant_client.get(f"/connections/{_ebay().id}/pair/").content.decode()
    assert "eBay user ID" in ebay_html and "eBay token" in ebay_html
    assert 'name="parameter"' not in ebay_html


def test_pair_again_sends_only_the_pairing_settings_then_run_now_succeeds(merchant_client, sandbox):
    from connexportal.sandbox.models import ConnectionSetting

    ebay = _ebay()
    merchant_client.get("/connections/")
    before = {row.name: row.value for row in ConnectionSetting.objects.filter(connection=ebay)}
    sandbox.reset()
    response = merchant_client.post(
        f"/connections/{ebay.id}/pair/", {"login": "my-ebay-user", "secret": "v^1.1#token"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Paired: the new eBay values were sent to Connex." in html
    assert "my-ebay-user" not in html and "v^1.1#token" not in html
    assert f'action="/connections/{ebay.id}/run-now/"' in html
    assert ("POST", "API/Settings/Update") in sandbox.calls
    after = {row.name: row.value for row in ConnectionSetting.objects.filter(connection=ebay)}
    assert after["SolutionUserName"] == "my-ebay-user" and after["SolutionPassword"] == "v^1.1#token"
    assert {name: value for name, value in after.items() if name not in ("SolutionUserName", "SolutionPassword")} == {
        name: value for name, value in before.items() if name not in ("SolutionUserName", "SolutionPassword")
    }
    [paired] = _activity(_merchant(), "connection.paired")
    assert paired.target == "eBay"
    assert set(paired.changes) == {"SolutionUserName", "SolutionPassword"}
    assert "my-ebay-user" not in str(paired.changes) and "token" not in str(paired.changes["SolutionPassword"])
    merchant_client.post(f"/connections/{ebay.id}/run-now/")
    merchant_client.get(f"/connections/{ebay.id}/runs/")
    run = merchant_client.get(f"/connections/{ebay.id}/runs/").content.decode()
    assert "not paired" not in run
    assert "Last sync: Completed" in run
    listing = merchant_client.get("/connections/").content.decode()
    assert f'href="/connections/{ebay.id}/pair/"' not in listing


def test_pair_again_requires_the_values(merchant_client, sandbox):
    ebay = _ebay()
    response = merchant_client.post(f"/connections/{ebay.id}/pair/", {"login": "only-this"})
    assert response.status_code == 422
    assert "only-this" not in response.content.decode()
    assert sandbox_setting(ebay.id, "SolutionUserName") == ""


def test_pair_again_when_connex_fails_says_nothing_was_paired(merchant_client, sandbox):
    ebay = _ebay()
    merchant_client.get("/connections/")
    with faults.injected("503=1,path=settings/update"):
        response = merchant_client.post(f"/connections/{ebay.id}/pair/", {"login": "u", "secret": "s"})
    assert response.status_code == 503
    assert "Nothing was paired" in response.content.decode()
    assert sandbox_setting(ebay.id, "SolutionUserName") == ""


def test_quickbooks_is_not_paired_from_the_portal(merchant_client, sandbox):
    quickbooks = next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.connection_type == 4)
    assert merchant_client.get(f"/connections/{quickbooks.id}/pair/").status_code == 404
    assert merchant_client.post(f"/connections/{quickbooks.id}/pair/", {"login": "u", "secret": "s"}).status_code == 404


def test_another_merchants_connection_cannot_be_paired(other_client, sandbox):
    ebay = _ebay()
    other_client.get("/connections/")
    assert other_client.get(f"/connections/{ebay.id}/pair/").status_code == 404
    response = other_client.post(f"/connections/{ebay.id}/pair/", {"login": "x", "secret": "y"})
    assert response.status_code == 404
    assert sandbox_setting(ebay.id, "SolutionUserName") == ""
    woo = sandbox_connections(OTHER_ACCOUNT)[0]
    assert other_client.get(f"/connections/{woo.id}/pair/").status_code == 200


def test_a_pairing_service_call_rejects_other_settings(sandbox):
    from connexportal.activity.services import Actor
    from connexportal.portal.connect import connection_pair

    with pytest.raises(ValueError):
        connection_pair(
            merchant=_merchant(),
            connection_id=_ebay().id,
            values={"LastDownloadUtc": "2024-01-01T00:00:00"},
            actor=Actor.system(),
        )
