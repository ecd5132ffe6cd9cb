"""A CSV order import from the browser: upload, follow the progress to the end, download the result."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser import ConsoleLog, axe_scan, describe_violations
from tests.e2e.portal import MERCHANT

CSV = (
    "OrderNumber,OrderDate,CustomerName,OrderTotal,TotalTax,OrderDetails.Sku,OrderDetails.Quantity\n"
    "E2E-1,2026-02-03T10:00:00Z,Ana,24.50,1.50,SKU-1,2\n"
    "E2E-2,2026-02-03,Ben,10,0,SKU-2,1\n"
    "E2E-3,2026-02-03,Cleo,$5,0,SKU-3,1\n"
)


def imported():
    from connexportal.sandbox.models import Order

    return Order.objects.filter(user__username=MERCHANT.connex_username, order_number__startswith="E2E-")


def run_the_job(page: Page) -> None:
    """What the worker does, run here: the page only watches."""
    from connexportal.imports.models import OrderImport
    from connexportal.imports.tasks import run_order_import

    import_id = page.url.rstrip("/").rsplit("/", 1)[1]
    for _ in range(10):
        run_order_import.call(import_id=import_id)
        if OrderImport.objects.get(pk=import_id).has_ended:
            return
    raise AssertionError("the import did not end")


def test_a_csv_import_with_a_bad_row_runs_to_completion(merchant_page: Page, merchant_console: ConsoleLog):
    page = merchant_page
    page.goto("/orders/")
    page.get_by_role("link", name="Import orders").click()
    expect(page).to_have_url(re.compile(r"/orders/import/$"))
    expect(page.get_by_role("link", name="Download the CSV template")).to_be_visible()
    assert not axe_scan(page), describe_violations(axe_scan(page))

    page.get_by_label("File (CSV or JSON)").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Check and import").click()

    expect(page).to_have_url(re.compile(r"/orders/import/[0-9a-f-]{36}/$"))
    problems = page.get_by_role("region", name="Problems by row")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody tr")).to_contain_text("3E2E-3OrderTotalMust be a number")
    assert not axe_scan(page), describe_violations(axe_scan(page))
    assert imported().count() == 0, "nothing is sent before the merchant chooses"

    page.get_by_role("button", name="Import the 2 valid rows only").click()
    status = page.locator("#progress [role=status]")
    expect(status).to_contain_text("Queued")
    run_the_job(page)
    # The page polls every 2 s and stops once the import has ended.
    expect(status).to_contain_text("Finished", timeout=10_000)
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-skipped")).to_have_text("1")
    expect(page.locator("#count-remaining")).to_have_text("0")
    expect(page.locator("#progress")).not_to_have_attribute("hx-trigger", "every 2s")
    assert imported().count() == 2

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the result (CSV: each row's fate)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,order_number,fate,reason"
    assert [line.split(",")[2] for line in lines[1:]] == ["created", "created", "skipped_invalid"]
    assert not axe_scan(page), describe_violations(axe_scan(page))
    page.set_viewport_size({"width": 360, "height": 740})
    assert not axe_scan(page), describe_violations(axe_scan(page))
    assert merchant_console.errors == []
