"""Connex down (the sandbox answering 503 to every request of the merchant's account): clear words, never a 500."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from tests.e2e.browser import DESKTOP_VIEWPORT, NARROW_WIDTH, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT, Demo, setting_value

DOWN = "Connex is not answering right now"
# The notice over last known data: when it was fetched, in words the browser keeps current (here, moments ago).
STALE = re.compile(r"Showing what Connex last told us\. It may be out of date\. Last updated: (now|\d+ minutes? ago)")


@contextmanager
def connex_down() -> Iterator[None]:
    from connexportal.sandbox import faults

    with faults.injected("503=1", account=MERCHANT.connex_username):
        yield


def test_connections_keep_the_last_known_data_marked_stale(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    page.goto("/connections/")
    expect(page.locator("li.connection")).to_have_count(len(portal_demo.connections))
    expect(page.get_by_role("alert")).to_have_count(0)

    with connex_down():
        response = page.goto("/connections/")

        assert response.status == 200
        banner = page.get_by_role("alert")
        expect(banner).to_contain_text(f"{DOWN}, so we could not load your connections.")
        expect(banner).to_contain_text(STALE)
        expect(page.locator("ul.cards")).to_have_class(re.compile(r"\bstale\b"))
        expect(page.locator("li.connection")).to_have_count(len(portal_demo.connections))

    page.get_by_role("link", name="Refresh").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("ul.cards")).not_to_have_class(re.compile(r"\bstale\b"))


def test_connections_without_known_data_say_connex_is_down(merchant_page: Page):
    page = merchant_page
    # Nothing known yet: as after a restart with an empty cache. Sessions live in the database.
    cache.clear()

    with connex_down():
        response = page.goto("/connections/")

    assert response.status == 503
    expect(page.get_by_role("heading", level=1, name="Connections")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(f"{DOWN}, so we could not load your connections.")
    expect(page.locator("li.connection")).to_have_count(0)
    expect(page.get_by_text("No connections yet")).to_have_count(0)


def test_a_failed_save_keeps_what_was_typed_and_says_why(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    connection_id = portal_demo.connections["Shopify Store"]
    before = setting_value(connection_id, "LastDownloadUtc")
    page.goto(portal_demo.settings_path("Shopify Store"))
    start_input = page.get_by_label("Order download from (UTC)")
    end_input = page.get_by_label("Order download to (UTC)")
    start_input.fill("2026-01-05T08:15")
    end_input.fill("2026-01-06T17:45")

    with connex_down():
        page.get_by_role("button", name="Save settings").click()
        alert = page.locator("#settings-form").get_by_role("alert")
        expect(alert).to_contain_text(f"{DOWN}, so we could not save the settings.")

    expect(alert).to_contain_text("Your changes are still in the form above; nothing was lost.")
    expect(page.get_by_label("Order download from (UTC)")).to_have_value("2026-01-05T08:15")
    expect(page.get_by_label("Order download to (UTC)")).to_have_value("2026-01-06T17:45")
    expect(page.get_by_text("Settings saved.")).to_have_count(0)
    assert setting_value(connection_id, "LastDownloadUtc") == before


def test_a_failed_run_now_says_why_and_can_be_tried_again(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    page.goto(portal_demo.settings_path("eBay"))

    with connex_down():
        page.get_by_role("button", name="Run now").click()
        expect(page.locator("#run-state")).to_contain_text(f"{DOWN}, so we could not start a sync.")

    expect(page.get_by_role("button", name="Run now")).to_be_enabled()


@pytest.mark.parametrize(
    ("path", "what"), [("/products/?sort=sku&dir=desc", "your products"), ("/orders/?start=2000-01-01", "your orders")]
)
def test_products_and_orders_keep_the_last_known_page_marked_stale(merchant_page: Page, path: str, what: str):
    page = merchant_page
    results = page.locator("#results")
    rows = results.locator(".table-wrap > table > tbody > tr")
    page.goto(path)
    expect(rows).to_have_count(25)
    shown = rows.all_text_contents()

    with connex_down():
        response = page.goto(path)

        assert response.status == 200
        notice = results.get_by_role("alert")
        expect(notice).to_contain_text(f"{DOWN}, so we could not load {what}.")
        expect(notice).to_contain_text(STALE)
        expect(notice.locator("time[data-relative]")).to_have_attribute("title", re.compile(r"\d{4}"))
        expect(results.locator(".table-wrap")).to_have_class(re.compile(r"\bstale\b"))
        expect(rows).to_have_text(shown)
        for width in (DESKTOP_VIEWPORT["width"], NARROW_WIDTH):
            page.set_viewport_size({"width": width, "height": DESKTOP_VIEWPORT["height"]})
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            violations = axe_scan(page)
            assert not violations, describe_violations(violations)

        # The next page was never seen: the error alone, in place of the list.
        results.get_by_role("link", name="Next").click()
        expect(notice).to_contain_text(f"{DOWN}, so we could not load {what}.")
        expect(notice).not_to_contain_text("last told us")
        expect(rows).to_have_count(0)

    notice.get_by_role("link", name="Try again").click()
    expect(notice).to_have_count(0)
    expect(rows).to_have_count(25)


def test_products_and_orders_say_connex_is_down(merchant_page: Page):
    page = merchant_page
    with connex_down():
        for path, what in (("/products/", "your products"), ("/orders/", "your orders")):
            response = page.goto(path)
            assert response.status == 503
            expect(page.locator("#results").get_by_role("alert")).to_contain_text(
                f"{DOWN}, so we could not load {what}."
            )
            expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", path)
