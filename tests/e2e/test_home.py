import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_essentials(page: Page, console: ConsoleLog, live_server):
    with page.expect_response(re.compile(r"/static/.*htmx[^/]*\.js$")) as htmx_response:
        page.goto("/")

    expect(page).to_have_title("Connex Portal")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert htmx_response.value.url.startswith(f"{live_server.url}/static/")
    assert htmx_response.value.status == 200
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.")
    # The base template's htmx-config meta keeps htmx within a CSP without 'unsafe-eval'.
    assert page.evaluate("htmx.config.allowEval") is False
    assert console.errors == []
    assert console.csp_violations == []


def test_skip_link_is_first_and_moves_focus_to_main(page: Page):
    page.goto("/")
    skip_link = page.locator("a.skip-link")
    assert skip_link.bounding_box()["y"] < 0, "the skip link should be off screen until focused"

    page.keyboard.press("Tab")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_have_text("Skip to main content")
    assert skip_link.bounding_box()["y"] >= 0, "the focused skip link should be on screen"

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()


def test_home_page_fits_a_narrow_phone(narrow_page: Page):
    narrow_page.goto("/")
    scroll_width = narrow_page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= NARROW_WIDTH, f"page is {scroll_width}px wide at a {NARROW_WIDTH}px viewport"


def test_home_page_has_no_serious_accessibility_violations(page: Page):
    page.goto("/")
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


def test_logged_out_home_page_leads_to_the_login_page(page: Page, narrow_page: Page):
    for visitor in (page, narrow_page):
        visitor.goto("/")
        login = visitor.get_by_role("link", name="Log in")
        expect(login).to_be_visible()
        login.click()
        expect(visitor).to_have_url(re.compile(r"/login/$"))
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Log in")
        visitor.go_back()
        violations = axe_scan(visitor)
        assert violations == [], describe_violations(violations)
