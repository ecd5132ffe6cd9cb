import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import ConsoleLog

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_sends_visitors_to_its_login_page(page: Page, console: ConsoleLog):
    page.goto("/admin/")

    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    expect(page).to_have_title(re.compile(r"^Log in \|"))
    # By id: the username field's label follows the user model ("Username", "Email address").
    expect(page.locator("#id_username")).to_be_focused()
    expect(page.locator("#id_password")).to_be_visible()
    assert console.errors == []
    assert console.csp_violations == []


def test_admin_login_rejects_unknown_credentials(page: Page):
    page.goto("/admin/login/")
    page.locator("#id_username").fill("nobody@demo.test")
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".errornote")).to_contain_text(re.compile(r"Please enter the correct .+ and password"))
    expect(page).to_have_url(re.compile(r"/admin/login/$"))
