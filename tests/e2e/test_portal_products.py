import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect

from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import MERCHANT, SEEDED_PRODUCTS

SEARCH = "SHP-"  # the SKU prefix of the Shopify connection's products


def merchant_products():
    from connexportal.sandbox.models import Product

    return Product.objects.filter(user__username=MERCHANT.connex_username)


def query(page: Page) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}


def sku_cells(page: Page):
    return page.locator("#results tbody tr td:nth-child(2) code")


def skus(page: Page) -> list[str]:
    return [text.strip() for text in sku_cells(page).all_inner_texts()]


def expect_skus(page: Page, expected: list[str]) -> None:
    expect(sku_cells(page)).to_have_text(expected)


def wait_for_url_query(page: Page, /, **expected: str) -> None:
    """Wait until the address bar carries ``expected`` (htmx pushes the URL once the swap is done)."""
    pattern = "".join(f"(?=.*[?&]{name}={re.escape(value)}(&|$))" for name, value in expected.items())
    expect(page).to_have_url(re.compile(r"/products/" + pattern + r"\?"))


def test_paging_and_page_size_are_in_the_url(merchant_page: Page, merchant_console: ConsoleLog):
    page = merchant_page
    page.goto("/products/")
    results = page.locator("#results")
    expect(results.locator(".summary")).to_contain_text(f"{SEEDED_PRODUCTS} products")
    expect(results.locator(".pager")).to_contain_text(f"1\N{EN DASH}25 of {SEEDED_PRODUCTS}")
    expect(results.locator("tbody tr")).to_have_count(25)
    first_page = skus(page)

    results.get_by_role("link", name="Next").click()

    wait_for_url_query(page, page="2")
    expect(results.locator(".pager")).to_contain_text(f"26\N{EN DASH}50 of {SEEDED_PRODUCTS}")
    expect(results.locator(".pager")).to_contain_text("Page 2 of 5")
    assert not set(skus(page)) & set(first_page)

    page.get_by_label("Per page").select_option("50")

    wait_for_url_query(page, size="50")
    assert "page" not in query(page), "a new page size starts again at page 1"
    expect(results.locator(".pager")).to_contain_text(f"1\N{EN DASH}50 of {SEEDED_PRODUCTS}")
    expect(results.locator(".pager")).to_contain_text("Page 1 of 3")
    expect(results.locator("tbody tr")).to_have_count(50)
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []


def test_search_waits_for_typing_to_pause_then_filters(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    searches = []
    page.on("request", lambda request: searches.append(request.url) if "/products/?" in request.url else None)
    expected = sorted(merchant_products().filter(sku__icontains=SEARCH).values_list("sku", flat=True))

    with page.expect_response(lambda response: "/products/?" in response.url):
        page.get_by_label("Search name or SKU").press_sequentially(SEARCH, delay=60)

    wait_for_url_query(page, q=SEARCH)
    expect(page.locator("#results .summary")).to_contain_text(f"{len(expected)} products")
    assert sorted(skus(page)) == expected
    assert len(searches) == 1, f"typing {SEARCH!r} should cost one request, not {searches}"


def test_a_column_header_sorts_and_a_second_click_reverses(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    by_sku = list(merchant_products().order_by("sku", "id").values_list("sku", flat=True))
    header = page.locator("#results thead th").filter(has_text="SKU")

    header.get_by_role("link").click()
    wait_for_url_query(page, sort="sku", dir="asc")
    expect(page.locator("#results thead th").filter(has_text="SKU")).to_have_attribute("aria-sort", "ascending")
    assert skus(page) == by_sku[:25]

    page.locator("#results thead th").filter(has_text="SKU").get_by_role("link").click()
    wait_for_url_query(page, sort="sku", dir="desc")
    expect(page.locator("#results thead th").filter(has_text="SKU")).to_have_attribute("aria-sort", "descending")
    assert skus(page) == by_sku[::-1][:25]
    expect(page.locator("#results thead th").filter(has_text="Name")).not_to_have_attribute(
        "aria-sort", re.compile(".")
    )


def test_unknown_skus_only(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    unknown = merchant_products().filter(has_unknown_sku=True).count()
    assert 0 < unknown < 25, "the seed should have a page's worth of unknown SKUs"
    # Connex counts all of them, whatever the search: the page says so, and the count does not follow the search.
    expect(page.locator("#results .unknown-count")).to_have_text(f"{unknown} unknown SKUs among all your products")
    page.get_by_label("Search name or SKU").fill("zzz-no-such-product")
    wait_for_url_query(page, q="zzz-no-such-product")
    expect(page.locator("#results .unknown-count")).to_have_text(f"{unknown} unknown SKUs among all your products")
    page.goto("/products/")

    page.get_by_label("Unknown SKUs only").check()

    wait_for_url_query(page, unknown="1")
    expect(page.locator("#results .summary")).to_contain_text(f"{unknown} products")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(unknown)
    expect(rows.filter(has_not=page.locator(".badge", has_text="Unknown SKU"))).to_have_count(0)


def test_searching_keeps_the_sort_chosen_by_header(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    page.locator("#results thead th").filter(has_text="SKU").get_by_role("link").click()
    wait_for_url_query(page, sort="sku", dir="asc")
    page.locator("#results thead th").filter(has_text="SKU").get_by_role("link").click()
    wait_for_url_query(page, sort="sku", dir="desc")

    page.get_by_label("Search name or SKU").fill(SEARCH)

    wait_for_url_query(page, q=SEARCH)
    wait_for_url_query(page, sort="sku", dir="desc")
    expect(page.locator("#results thead th").filter(has_text="SKU")).to_have_attribute("aria-sort", "descending")
    assert skus(page) == sorted(skus(page), reverse=True)


def test_back_forward_and_reload_restore_the_state(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    unfiltered = skus(page)

    page.get_by_label("Search name or SKU").fill(SEARCH)
    wait_for_url_query(page, q=SEARCH)
    expect(page.locator("#results .summary")).not_to_contain_text(f"{SEEDED_PRODUCTS} products")
    searched = skus(page)
    page.locator("#results thead th").filter(has_text="Price").get_by_role("link").click()
    wait_for_url_query(page, q=SEARCH, sort="salesPrice", dir="asc")
    searched_by_price = skus(page)
    assert searched_by_price != searched

    # Each expect_skus waits for the table of that state, so the checks after it see the restored page.
    page.go_back()
    expect_skus(page, searched)
    expect(page).to_have_url(re.compile(r"/products/\?(?!.*sort=salesPrice).*q=SHP-"))
    expect(page.get_by_label("Search name or SKU")).to_have_value(SEARCH)

    page.go_back()
    expect_skus(page, unfiltered)
    expect(page).to_have_url(re.compile(r"/products/$"))
    expect(page.get_by_label("Search name or SKU")).to_have_value("")

    page.go_forward()
    expect_skus(page, searched)
    page.go_forward()
    expect_skus(page, searched_by_price)
    wait_for_url_query(page, q=SEARCH, sort="salesPrice", dir="asc")
    expect(page.get_by_label("Search name or SKU")).to_have_value(SEARCH)
    expect(page.locator("#results thead th").filter(has_text="Price")).to_have_attribute("aria-sort", "ascending")

    page.reload()
    expect_skus(page, searched_by_price)
    wait_for_url_query(page, q=SEARCH, sort="salesPrice", dir="asc")
    expect(page.get_by_label("Search name or SKU")).to_have_value(SEARCH)
