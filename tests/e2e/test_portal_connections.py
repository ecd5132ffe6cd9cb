import datetime as dt
import re

from playwright.sync_api import Page, expect

from connexportal.portal.formatting import format_datetime
from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import MERCHANT_ZONE, Demo, setting_value

CHANNELS = {"QuickBooks Online": "QuickBooks Online", "Amazon US": "Amazon", "Shopify Store": "Shopify", "eBay": "eBay"}


def card(page: Page, name: str):
    return page.locator("li.connection").filter(has=page.get_by_role("heading", name=name, exact=True))


def last_completed_sync(connection_id: int) -> dt.datetime:
    from connexportal.sandbox.models import TaskRun

    runs = TaskRun.objects.filter(task__connection_id=connection_id, status="Completed")
    return runs.latest("finished_utc").finished_utc


def order_window_text(connection_id: int) -> str:
    start, end = (
        dt.datetime.fromisoformat(setting_value(connection_id, name))
        for name in ("LastDownloadUtc", "LastDownloadUtcEnd")
    )
    return (
        f"{format_datetime(start, tz=dt.UTC, locale='en')} \N{EN DASH} {format_datetime(end, tz=dt.UTC, locale='en')}"
    )


def test_a_card_per_connection_with_channel_health_last_sync_and_order_window(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo
):
    page = merchant_page
    page.goto("/connections/")

    expect(page.locator("li.connection")).to_have_count(len(CHANNELS))
    for name, channel in CHANNELS.items():
        connection_id = portal_demo.connections[name]
        connection_card = card(page, name)
        expect(connection_card.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "href", f"/connections/{connection_id}/settings/"
        )
        expect(connection_card.locator(".connection-head p")).to_have_text(channel)
        expect(connection_card.locator(".facts div").filter(has_text="Order window")).to_contain_text(
            order_window_text(connection_id)
        )

    expect(card(page, "Amazon US").locator(".badge")).to_have_text("Healthy")
    expect(card(page, "Shopify Store").locator(".badge")).to_have_text("Healthy")
    # Its seeded 15-minute task is not run by the sandbox, so it turns overdue half an hour into the day.
    expect(card(page, "QuickBooks Online").locator(".badge")).to_have_text(re.compile(r"^(Healthy|Sync overdue)$"))
    ebay = card(page, "eBay")
    expect(ebay.locator(".badge")).to_have_text("Last sync failed")
    expect(ebay.locator(".notice-error")).to_contain_text("the connection is not paired")

    finished = last_completed_sync(portal_demo.connections["Amazon US"])
    last_sync = card(page, "Amazon US").locator(".facts div").filter(has_text="Last sync").locator("time")
    expect(last_sync).to_have_attribute("datetime", finished.isoformat().replace("+00:00", "Z"))
    expect(last_sync).to_have_attribute("title", format_datetime(finished, tz=MERCHANT_ZONE, locale="en"))
    # The seeded daily sync finished yesterday at 05:45 UTC: "N hours ago" until 05:45 UTC, then "yesterday".
    expect(last_sync).to_have_text(re.compile(r"^(\d+ hours? ago|yesterday)$"))

    # The other merchant's connections are theirs alone.
    for name, connection_id in portal_demo.other_connections.items():
        expect(page.locator(f'a[href="/connections/{connection_id}/settings/"]')).to_have_count(0)
        if name not in CHANNELS:
            expect(page.get_by_text(name)).to_have_count(0)
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []


def test_keyboard_skip_to_main_then_tab_to_a_connection_and_open_it(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    page.goto("/connections/")
    first_name = page.locator("li.connection h2 a").first.inner_text()

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Refresh")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=first_name, exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(re.escape(portal_demo.settings_path(first_name)) + "$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(first_name)


def test_keyboard_main_navigation_moves_focus_to_the_new_page(merchant_page: Page):
    page = merchant_page
    page.goto("/connections/")
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Products").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/products/$"))
    expect(nav.get_by_role("link", name="Products")).to_have_attribute("aria-current", "page")
    # Boosted navigation swaps the body in place: focus must land on the new content, not stay in the nav.
    expect(page.locator("main#main")).to_be_focused()
    expect(page.get_by_role("heading", level=1, name="Products")).to_be_visible()


def test_refresh_reloads_the_list_in_place(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    page.goto("/connections/")
    page.evaluate("document.querySelector('#connection-list').dataset.marker = 'before'")

    with page.expect_response(re.compile(r"/connections/$")) as refreshed:
        page.get_by_role("link", name="Refresh").click()

    assert refreshed.value.request.headers.get("hx-request") == "true"
    expect(page.locator("#connection-list")).not_to_have_attribute("data-marker", "before")
    expect(page.locator("li.connection")).to_have_count(len(portal_demo.connections))
    expect(page).to_have_url(re.compile(r"/connections/$"))
