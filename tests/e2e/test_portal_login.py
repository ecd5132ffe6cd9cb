import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tests.e2e.browser import DESKTOP_VIEWPORT, NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT

WIDTHS = [DESKTOP_VIEWPORT["width"], NARROW_WIDTH]
RESET_LINK = re.compile(r"https?://[^/\s]+(/password-reset/\S+/)")


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


def fits_and_is_accessible(page: Page, width: int) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at a {width}px viewport"


@pytest.mark.parametrize("width", WIDTHS)
def test_five_wrong_passwords_pause_logins_and_say_for_how_long(open_portal, width):
    page = open_portal(login=None)
    page.set_viewport_size({"width": width, "height": 740})
    console = ConsoleLog.attach(page)
    # An account of its own per width: a lockout would otherwise hold the other tests' logins.
    email = f"locked-{width}@demo.test"
    page.goto("/login/")
    for _ in range(4):
        log_in(page, email, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email address and password")

    log_in(page, email, "not-the-password")

    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed logins")
    expect(page.get_by_role("alert")).to_contain_text(f"Logging in as {email} from your address is paused")
    expect(page.get_by_role("alert")).to_contain_text("Try again in 15 minutes.")
    fits_and_is_accessible(page, width)
    # Chromium logs the 429 itself; nothing else may show.
    assert [error for error in console.errors if "429" not in error] == []
    assert console.csp_violations == []

    page.get_by_role("link", name="Back to log in").click()
    expect(page.get_by_label("Email")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_forgotten_password_is_reset_by_email(open_portal, portal_demo, width):
    from connexportal.accounts.models import User

    demo_user = User.objects.get(email=MERCHANT.email)
    email = f"reset-{width}@demo.test"
    User.objects.create_user(email=email, password="old-password-for-reset", merchant=demo_user.merchant)
    new_password = "a-new-password-for-reset"
    page = open_portal(login=None)
    page.set_viewport_size({"width": width, "height": 740})
    console = ConsoleLog.attach(page)

    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    expect(page.get_by_label("Email")).to_be_focused()
    fits_and_is_accessible(page, width)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    fits_and_is_accessible(page, width)
    [message] = [message for message in mail.outbox if message.to == [email]]
    page.goto(RESET_LINK.search(message.body).group(1))

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    fits_and_is_accessible(page, width)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password confirmation").fill(new_password)
    page.get_by_role("button", name="Save the new password").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Password changed")
    page.get_by_role("link", name="Log in", exact=True).click()
    log_in(page, email, new_password)
    expect(page).to_have_url(re.compile(r"/connections/$"))
    assert console.errors == []
    assert console.csp_violations == []
