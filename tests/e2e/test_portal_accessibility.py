"""Every merchant page: no serious axe-core violations, no console errors or CSP reports, and it fits 360 px."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT, Demo


def show_form_errors_and_preview(page: Page) -> None:
    """The settings page at its busiest: a window preview, then the errors of a rejected save."""
    page.get_by_label("Order download from (UTC)").fill("2000-01-01T00:00")
    expect(page.locator("#window-preview")).to_contain_text("This window spans")
    page.get_by_label("Order download to (UTC)").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#id_LastDownloadUtcEnd_error")).to_be_visible()


def open_line_items(page: Page) -> None:
    page.locator("#results details summary").first.click()
    expect(page.locator("#results details[open] table.lines")).to_be_visible()


PAGES: dict[str, tuple[str | None, Callable[[Page], None] | None]] = {
    "login": ("/login/", None),
    "connections": ("/connections/", None),
    # The demo's connection ids are only known once it is seeded.
    "settings": (None, show_form_errors_and_preview),
    "products": ("/products/", None),
    "orders": ("/orders/", open_line_items),
}


def scan(page: Page) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


@pytest.mark.parametrize("name", PAGES)
def test_page_is_accessible_quiet_and_fits_a_narrow_phone(open_portal, portal_demo: Demo, name: str):
    path, interact = PAGES[name]
    page = open_portal(login=None if name == "login" else MERCHANT)
    console = ConsoleLog.attach(page)
    page.goto(path or portal_demo.settings_path("Amazon US"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    scan(page)
    if interact is not None:
        interact(page)
        scan(page)
    # Chromium logs every 4xx answer, so also the 422 that carries a form's errors; nothing else may show.
    assert [error for error in console.errors if "status of 422 (Unprocessable Content)" not in error] == []
    assert console.csp_violations == []

    page.set_viewport_size({"width": NARROW_WIDTH, "height": 740})
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= NARROW_WIDTH, f"{name} is {scroll_width}px wide at a {NARROW_WIDTH}px viewport"
    # Wide tables scroll inside their own wrapper, which stays on screen.
    for wrapper in page.locator(".table-wrap:visible").all():
        box = wrapper.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW_WIDTH, f"a table runs off the {name} page"
