"""/products/new/ in the browser: adding a product at 1280 and 360 px, accessible, and the duplicate-SKU error."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import NARROW_WIDTH, ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import OTHER


def scan(page: Page) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


def stored(sku: str):
    from connexportal.sandbox.models import Product

    return Product.objects.filter(user__username=OTHER.connex_username, sku=sku).first()


@pytest.mark.parametrize("width", [1280, NARROW_WIDTH])
def test_adding_a_product_shows_it_in_the_list(open_portal: Callable[..., Page], width: int):
    page = open_portal(login=OTHER)
    page.set_viewport_size({"width": width, "height": 800})
    console = ConsoleLog.attach(page)
    sku = f"MUG-E2E-{width}"

    page.goto("/products/")
    page.get_by_role("link", name="Add a product").click()

    expect(page.get_by_role("heading", level=1, name="Add a product")).to_be_visible()
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"/products/new/ is {scroll_width}px wide at a {width}px viewport"
    scan(page)
    page.get_by_label("Connection").select_option(label="WooCommerce Shop")
    page.get_by_label("Name").fill("Trail Mug")
    page.get_by_label("SKU").fill(sku)
    page.get_by_label("Sales price").fill("14.50")
    page.get_by_label("Quantity on hand").fill("12")
    page.get_by_role("button", name="Add product").click()

    expect(page).to_have_url(re.compile(rf"/products/\?q={sku}$"))
    expect(page.get_by_text(f"Product added: Trail Mug ({sku}).")).to_be_visible()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr code")).to_have_text(sku)
    expect(page.get_by_label("Search name or SKU")).to_have_value(sku)
    assert stored(sku).name == "Trail Mug"
    scan(page)
    assert console.errors == []
    assert console.csp_violations == []


def test_a_duplicate_sku_is_marked_on_the_field_with_a_link_to_the_product(open_portal: Callable[..., Page]):
    from connexportal.sandbox.models import Product

    existing = Product.objects.filter(user__username=OTHER.connex_username).order_by("id").first()
    page = open_portal(login=OTHER)
    page.goto("/products/new/")

    page.get_by_label("Connection").select_option(label="WooCommerce Shop")
    page.get_by_label("Name").fill("Copy")
    page.get_by_label("SKU").fill(f" {existing.sku.lower()} ")
    page.get_by_role("button", name="Add product").click()

    sku = page.get_by_label("SKU")
    expect(sku).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_sku_error")).to_contain_text("You already have a product with this SKU")
    scan(page)
    page.get_by_role("link", name="See the product that has this SKU").click()

    expect(page.locator("#results tbody tr code")).to_have_text(existing.sku)
