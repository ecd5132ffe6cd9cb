"""/activity/ in the browser: the merchant's own entries, paged over htmx, accessible, and fit for 360 px."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT, OTHER


def record_entries() -> None:
    from connexportal.accounts.models import User
    from connexportal.activity.services import Actor, activity_record

    mine = User.objects.get(email=MERCHANT.email)
    theirs = User.objects.get(email=OTHER.email)
    actor = Actor(kind="user", label=mine.email, channel="direct", user=mine)
    for number in range(26):
        activity_record(action="run_now.started", actor=actor, merchant=mine.merchant, target=f"Run {number:02d}")
    activity_record(
        action="settings.saved",
        actor=actor,
        merchant=mine.merchant,
        target="Amazon US",
        changes={"SummaryTransactionGroupBy": ("0", "2"), "SolutionPassword": ("old", "new")},
    )
    activity_record(action="settings.saved", actor=Actor.system(), merchant=theirs.merchant, target="NOT-MINE")


def scan(page: Page) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


def test_the_trail_lists_own_entries_pages_and_fits_a_phone(merchant_page: Page, merchant_console: ConsoleLog):
    page = merchant_page
    record_entries()

    page.goto("/connections/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()

    expect(page.get_by_role("heading", level=1, name="Activity")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(25)
    # Opening the portal also records entries of its own (the Connex login checked), so rows are found by text.
    saved = rows.filter(has_text="Amazon US")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("Settings saved")
    expect(saved).to_contain_text(MERCHANT.email)
    expect(saved).to_contain_text("SummaryTransactionGroupBy: 0 → 2")
    expect(saved).to_contain_text("SolutionPassword: •••• → ••••")
    expect(saved).not_to_contain_text("old")
    expect(page.locator("#results")).not_to_contain_text("NOT-MINE")
    expect(page.locator("nav.site-nav a[aria-current=page]")).to_have_text("Activity")
    scan(page)

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/activity/\?page=2$"))
    expect(rows.filter(has_text="Run 00")).to_have_count(1)
    expect(rows.filter(has_text="Amazon US")).to_have_count(0)

    page.set_viewport_size({"width": NARROW_WIDTH, "height": 740})
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= NARROW_WIDTH, f"/activity/ is {scroll_width}px wide at a {NARROW_WIDTH}px viewport"
    for wrapper in page.locator(".table-wrap:visible").all():
        box = wrapper.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW_WIDTH
    scan(page)
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []
