"""Connect and reconnect the Connex account, and pair a channel again, in Chromium at 1280 and 360 px."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from tests.e2e.browser import NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT, Demo, setting_value

DEMO_PASSWORD = "connex-demo"
NARROW = {"width": NARROW_WIDTH, "height": 800}


def _merchant():
    from connexportal.accounts.models import User

    return User.objects.select_related("merchant__partner").get(email=MERCHANT.email).merchant


def _connex_account():
    from connexportal.accounts.models import ConnexAccount

    return ConnexAccount.objects.filter(merchant=_merchant()).first()


def _set_sandbox_password(password: str) -> None:
    from connexportal.sandbox.models import AccessToken, ConnexUser

    user = ConnexUser.objects.get(username=MERCHANT.connex_username)
    user.set_password(password)
    user.save()
    AccessToken.objects.filter(user=user).delete()
    cache.clear()


@pytest.fixture
def restore_account():
    """The demo merchant's Connex login as the rest of the module expects it, whatever a test did."""
    yield
    from connexportal.accounts.models import ConnexAccount

    _set_sandbox_password(DEMO_PASSWORD)
    merchant = _merchant()
    merchant.partner.allow_credential_editing = True
    merchant.partner.save()
    account = ConnexAccount.objects.filter(merchant=merchant).first() or ConnexAccount(merchant=merchant)
    account.environment, account.username = "sandbox", MERCHANT.connex_username
    account.set_password(DEMO_PASSWORD)
    account.save()
    cache.clear()


def _assert_accessible(page: Page) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


def _assert_fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", ["desktop", "narrow"])
def test_a_merchant_without_an_account_connects_it_and_sees_the_connections(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo, restore_account, viewport: str
):
    from connexportal.sandbox import faults

    page = merchant_page
    if viewport == "narrow":
        page.set_viewport_size(NARROW)
    _connex_account().delete()
    page.goto("/connections/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect your Connex account")
    expect(page.get_by_text("Sign in with your Connex username and password")).to_be_visible()
    _assert_accessible(page)
    _assert_fits(page)

    page.get_by_label("Username").fill(MERCHANT.connex_username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text("did not accept this username and password")
    assert _connex_account() is None
    expect(page.get_by_label("Password")).to_have_value("")
    _assert_accessible(page)

    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with faults.injected("latency_ms=800,path=login"):
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_text("Checking with Connex…")).to_be_visible()
        expect(page.get_by_role("button", name="Connect")).to_be_disabled()
        expect(page.get_by_role("heading", level=1)).to_have_text("Connections", timeout=10_000)
    expect(page.get_by_text("Connected to Connex.")).to_be_visible()
    expect(page.get_by_role("link", name="Amazon US", exact=True)).to_be_visible()
    assert page.evaluate("location.pathname") == "/connections/"
    assert _connex_account().verified_at is not None
    _assert_accessible(page)
    _assert_fits(page)
    # Chromium logs every 4xx answer, so also the 422 that carries the refused login; nothing else may show.
    assert [error for error in merchant_console.errors if "status of 422 (Unprocessable Content)" not in error] == []
    assert merchant_console.csp_violations == []


def test_a_login_connex_refuses_later_says_needs_attention_and_reconnects(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo, restore_account
):
    page = merchant_page
    _set_sandbox_password("changed-in-connex")
    for path in ("/products/", "/orders/", portal_demo.settings_path("Amazon US"), "/connections/"):
        page.goto(path)
        expect(page.get_by_text("Needs attention: reconnect.")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Reconnect your Connex account")
        expect(page.get_by_text("not answering")).to_have_count(0)
    _assert_accessible(page)

    page.get_by_label("Username").fill(MERCHANT.connex_username)
    page.get_by_label("Password").fill("changed-in-connex")
    page.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_text("Connected to Connex.")).to_be_visible()
    expect(page.get_by_role("link", name="Amazon US", exact=True)).to_be_visible()
    page.get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    assert merchant_console.errors == []


def test_a_partner_that_provisions_logins_itself_switches_the_form_off(
    merchant_page: Page, portal_demo: Demo, restore_account
):
    merchant = _merchant()
    merchant.partner.allow_credential_editing = False
    merchant.partner.save()
    _set_sandbox_password("changed-in-connex")
    page = merchant_page
    page.set_viewport_size(NARROW)
    page.goto("/connections/")
    expect(page.get_by_text("Needs attention: reconnect.")).to_be_visible()
    expect(page.get_by_text("Your provider manages this connection; contact them.")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
    _assert_accessible(page)
    _assert_fits(page)


@pytest.mark.parametrize("viewport", ["desktop", "narrow"])
def test_pair_again_then_run_now_syncs_the_ebay_connection(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo, viewport: str
):
    from connexportal.sandbox.models import ConnectionSetting

    page = merchant_page
    if viewport == "narrow":
        page.set_viewport_size(NARROW)
    ebay = portal_demo.connections["eBay"]
    ConnectionSetting.objects.filter(connection_id=ebay, name__in=("SolutionUserName", "SolutionPassword")).update(
        value=""
    )
    cache.clear()
    page.goto("/connections/")
    card = page.locator("li.connection", has=page.get_by_role("link", name="eBay", exact=True))
    expect(card).to_contain_text("Needs attention: eBay must be paired again")
    card.get_by_role("link", name="Pair again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pair eBay again")
    expect(page.get_by_label("eBay token")).to_have_value("")
    _assert_accessible(page)
    _assert_fits(page)

    page.get_by_label("eBay user ID").fill("demo-ebay-seller")
    page.get_by_label("eBay token").fill("v^1.1#i^1#token")
    page.get_by_role("button", name="Pair again").click()
    expect(page.get_by_text("Paired: the new eBay values were sent to Connex.")).to_be_visible()
    assert setting_value(ebay, "SolutionUserName") == "demo-ebay-seller"
    assert "demo-ebay-seller" not in page.content() and "token" not in page.locator("main").inner_text()
    _assert_accessible(page)

    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#run-status")).to_contain_text("Last sync: Completed", timeout=15_000)
    expect(page.locator("#run-status")).not_to_contain_text("not paired")
    _assert_fits(page)
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []
