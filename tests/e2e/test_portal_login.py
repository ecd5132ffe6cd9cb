import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import MERCHANT


def log_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_logging_in_lands_on_the_connections_page(open_portal):
    page = open_portal(login=None)
    console = ConsoleLog.attach(page)
    page.goto("/login/")
    expect(page.get_by_label("Email")).to_be_focused()

    log_in(page, MERCHANT.email, MERCHANT.password)

    expect(page).to_have_url(re.compile(r"/connections/$"))
    expect(page.get_by_role("heading", level=1, name="Connections")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_text(MERCHANT.email)).to_be_visible()
    assert console.errors == []
    assert console.csp_violations == []


def test_a_wrong_password_says_so_and_keeps_the_email(open_portal):
    page = open_portal(login=None)
    page.goto("/login/")

    log_in(page, MERCHANT.email, "not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email address and password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_label("Email")).to_have_value(MERCHANT.email)
    expect(page.get_by_label("Password")).to_have_value("")


def test_logging_in_returns_to_the_page_asked_for(open_portal):
    page = open_portal(login=None)
    page.goto("/products/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/products/$"))

    log_in(page, MERCHANT.email, MERCHANT.password)

    expect(page).to_have_url(re.compile(r"/products/$"))
    expect(page.get_by_role("heading", level=1, name="Products")).to_be_visible()
