"""The partner console in Chromium, as the demo partner's administrator: the dashboard's health,
a merchant's page and "open as merchant", adding and changing merchants, API keys, webhooks and
branding with its live preview; each page at 1280 and 360 px with axe clean."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser import DESKTOP_VIEWPORT, NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import Login

PARTNER = Login("partner@demo.test", "demo-partner", "")
PHONE = {"width": NARROW_WIDTH, "height": 740}
# Set to a folder to keep a screenshot of each page at each width (for looking at them, not for the tests).
SCREENSHOTS = os.environ.get("PARTNER_CONSOLE_SCREENSHOTS", "")


def check_both_widths(page: Page, name: str) -> None:
    """axe clean, nothing wider than the screen, at 1280 and at 360 px; back to 1280 after."""
    for viewport in (DESKTOP_VIEWPORT, PHONE):
        page.set_viewport_size(viewport)
        violations = axe_scan(page)
        assert violations == [], describe_violations(violations)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {viewport['width']} px"
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/{name}-{viewport['width']}.png", full_page=True)
    page.set_viewport_size(DESKTOP_VIEWPORT)


def test_login_leads_to_the_dashboard_whose_rows_fill_with_health(open_portal):
    page = open_portal(login=None)
    console = ConsoleLog.attach(page)
    page.goto("/login/")
    page.get_by_label("Email").fill(PARTNER.email)
    page.get_by_label("Password").fill(PARTNER.password)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/partner/$"))
    expect(page.get_by_role("heading", level=1, name="Merchants")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).not_to_contain_text("Checking…")
    demo = rows.filter(has_text="Demo Outdoor Supply")
    expect(demo.locator(".badge")).to_have_text(re.compile("Healthy|Failing|Needs reconnect|Never synced"))
    expect(demo.locator("td").nth(2)).to_contain_text(re.compile(r"\d"))
    check_both_widths(page, "dashboard")

    page.get_by_label("Search by name or external id").fill("demo-merchant-2")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Other Demo Books")
    expect(page).to_have_url(re.compile(r"q=demo-merchant-2"))
    assert console.errors == [] and console.csp_violations == []


def test_merchant_page_and_open_as_merchant_in_a_new_tab(open_portal):
    page = open_portal(login=PARTNER)
    console = ConsoleLog.attach(page)
    page.goto("/partner/")
    page.get_by_role("link", name="Demo Outdoor Supply").click()

    expect(page.get_by_role("heading", level=1, name="Demo Outdoor Supply")).to_be_visible()
    expect(page.get_by_role("heading", name="Connections")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
    check_both_widths(page, "merchant")

    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Open as merchant").click()
    tab = opened.value
    tab.wait_for_load_state()
    expect(tab).to_have_url(re.compile(r"/connections/$"))
    expect(tab.get_by_role("heading", level=1, name="Connections")).to_be_visible()
    expect(tab.locator(".connection").first).to_be_visible()
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    expect(tab.get_by_role("heading", level=1, name="Products")).to_be_visible()
    tab.close()

    page.reload()
    trail = page.locator("#activity tbody tr").filter(has_text="Opened as the merchant by the partner")
    expect(trail.first).to_contain_text(PARTNER.email)
    expect(trail.first).to_contain_text("Partner console")
    assert console.errors == [] and console.csp_violations == []


def test_add_edit_deactivate_and_reactivate_a_merchant(open_portal):
    page = open_portal(login=PARTNER)
    page.goto("/partner/")
    page.get_by_role("link", name="Add a merchant").click()
    page.get_by_label("External id").fill("acme-e2e")
    page.get_by_label("Name", exact=True).fill("Acme Outdoor")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_label("Currency").fill("eur")
    page.get_by_label("Connex environment").select_option("sandbox")
    page.get_by_label("Connex username").fill("qbotest@intuit.com")
    page.get_by_label("Connex password").fill("wrong-password")
    page.get_by_role("button", name="Add the merchant").click()
    expect(page.locator(".field.has-error")).to_contain_text("refused this username and password")
    check_both_widths(page, "merchant-new")

    page.get_by_label("Connex password").fill("connex-demo")
    page.get_by_role("button", name="Add the merchant").click()
    expect(page.get_by_role("heading", level=1, name="Acme Outdoor")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Merchant Acme Outdoor created.")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Acme Outdoor Co.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1, name="Acme Outdoor Co.")).to_be_visible()

    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".page-head .badge")).to_have_text("Deactivated")
    expect(page.get_by_role("button", name="Open as merchant")).to_have_count(0)
    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_role("button", name="Open as merchant")).to_be_visible()
    expect(page.locator("#activity")).to_contain_text("Merchant deactivated")


def test_api_keys_are_shown_once_and_revoked(open_portal):
    page = open_portal(login=PARTNER)
    page.goto("/partner/api-keys/")
    page.get_by_label("Name", exact=True).fill("production server")
    page.get_by_role("button", name="Issue the key").click()
    key = page.get_by_label("API key")
    expect(key).to_have_value(re.compile(r"^cxp_[0-9a-f]{12}_"))
    row = page.locator("tbody tr").filter(has_text="production server")
    expect(row).to_contain_text("Never")
    check_both_widths(page, "api-keys")

    page.goto("/partner/api-keys/")
    expect(page.get_by_label("API key")).to_have_count(0)
    page.get_by_role("button", name="Revoke production server").click()
    expect(page.locator(".messages")).to_contain_text("is revoked")
    expect(row).to_contain_text("Revoked")


def test_webhook_endpoint_secret_test_event_and_delivery_log(open_portal):
    page = open_portal(login=PARTNER)
    page.goto("/partner/webhooks/")
    page.get_by_label("URL").fill("http://localhost:9/hooks")
    page.get_by_label("Sync failed").check()
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
    card = page.locator(".cards > li").filter(has_text="http://localhost:9/hooks")
    expect(card).to_contain_text("sync_failed")
    check_both_widths(page, "webhooks")

    card.get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_role("heading", name="New signing secret")).to_be_visible()

    card.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("heading", level=1, name="Delivery log")).to_be_visible()
    expect(page.locator("#results tbody tr").first).to_contain_text("Test event (ping)")
    check_both_widths(page, "webhook-deliveries")


def test_branding_preview_follows_the_form_before_saving(open_portal):
    page = open_portal(login=PARTNER)
    console = ConsoleLog.attach(page)
    page.goto("/partner/branding/")
    preview = page.frame_locator("#branding-preview")
    expect(preview.get_by_role("heading", level=1, name="Connections")).to_be_visible()

    page.get_by_label("Theme").select_option("dark")
    page.get_by_label("Service name").fill("Acme Sync")
    page.get_by_label("Hide products").check()
    page.get_by_label("Primary colour").evaluate(
        "element => { element.value = '#aa3300'; element.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(preview.locator("html")).to_have_attribute("data-theme", "dark")
    expect(preview.locator("main")).to_contain_text("Acme Sync account")
    expect(preview.get_by_role("link", name="Products")).to_have_count(0)
    primary = preview.locator("body").evaluate(
        "body => getComputedStyle(body).getPropertyValue('--cx-color-primary').trim()"
    )
    assert primary == "#aa3300"
    check_both_widths(page, "branding")

    page.get_by_role("button", name="Save branding").click()
    expect(page.locator(".messages")).to_contain_text("Branding saved.")
    expect(page.get_by_label("Service name")).to_have_value("Acme Sync")
    assert console.errors == [] and console.csp_violations == []
