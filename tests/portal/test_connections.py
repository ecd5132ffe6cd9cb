import pytest

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections, sandbox_setting

pytestmark = pytest.mark.django_db


def test_connections_page_lists_every_connection(merchant_client, sandbox):
    response = merchant_client.get("/connections/")
    html = response.content.decode()
    assert response.status_code == 200
    for connection in sandbox_connections(DEMO_ACCOUNT):
        assert connection.name in html
        assert f"/connections/{connection.id}/settings/" in html
    assert "badge-" in html
    assert "Order window (UTC)" in html


def test_connections_page_never_shows_channel_secrets(merchant_client, sandbox):
    html = merchant_client.get("/connections/").content.decode()
    for connection in sandbox_connections(DEMO_ACCOUNT):
        for name in ("SolutionUserName", "SolutionPassword", "SolutionParameter", "ShopifyToken"):
            value = sandbox_setting(connection.id, name)
            if value:
                assert value not in html


def test_steady_state_page_view_costs_one_upstream_call(merchant_client, sandbox):
    merchant_client.get("/connections/")
    sandbox.reset()
    merchant_client.get("/connections/")
    assert sandbox.calls == [("GET", "API/UserConnections/List")]


def test_other_merchant_sees_only_its_own_connections(other_client, sandbox):
    html = other_client.get("/connections/").content.decode()
    for connection in sandbox_connections(DEMO_ACCOUNT):
        assert f"/connections/{connection.id}/settings/" not in html
    for connection in sandbox_connections("other@connex.test"):
        assert connection.name in html


@pytest.mark.parametrize("fault", ["503=1", "500=1", "502=1", "html=1", "malformed=1", "429=1,retry_after=0"])
def test_connex_down_shows_banner_and_last_known_data(merchant_client, sandbox, fault):
    names = [connection.name for connection in sandbox_connections(DEMO_ACCOUNT)]
    assert merchant_client.get("/connections/").status_code == 200
    with faults.injected(fault, account=DEMO_ACCOUNT):
        response = merchant_client.get("/connections/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Connex" in html and ("not answering" in html or "could not read" in html or "slow down" in html)
    assert "may be out of date" in html
    assert all(name in html for name in names)


def test_connex_down_with_nothing_known_is_a_clear_503(merchant_client, sandbox):
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.get("/connections/")
    assert response.status_code == 503
    assert "Connex is not answering right now" in response.content.decode()


def test_expired_token_is_renewed_transparently(merchant_client, sandbox):
    merchant_client.get("/connections/")
    with faults.injected("expire=1,next=1", account=DEMO_ACCOUNT):
        sandbox.reset()
        response = merchant_client.get("/connections/")
    assert response.status_code == 200
    assert 'role="alert"' not in response.content.decode()
    assert [path for _, path in sandbox.calls] == [
        "API/UserConnections/List",
        "api/account/login",
        "API/UserConnections/List",
    ]


def test_bad_connex_credentials_say_what_to_do(merchant_client, sandbox):
    from connexportal.accounts.models import ConnexAccount

    account = ConnexAccount.objects.get(username=DEMO_ACCOUNT)
    account.set_password("wrong-password")
    account.save()
    response = merchant_client.get("/connections/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Needs attention: reconnect." in html and 'action="/connect/"' in html
    assert "not answering" not in html


def test_htmx_refresh_renders_only_the_list(merchant_client, sandbox):
    response = merchant_client.get("/connections/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="connection-list")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="connection-list"')
    assert "<html" not in html


def test_pages_require_login(client, sandbox):
    for url in ("/connections/", "/products/", "/orders/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_staff_without_merchant_gets_a_clear_403(admin_client, sandbox):
    response = admin_client.get("/connections/")
    assert response.status_code == 403
    assert "not linked to a merchant" in response.content.decode()
