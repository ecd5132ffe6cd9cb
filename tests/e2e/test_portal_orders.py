import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from connexportal.portal.formatting import format_date, format_datetime, format_money
from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import MERCHANT, MERCHANT_ZONE, utc_today

MONEY = re.compile(r"^\$\d{1,3}(,\d{3})*\.\d{2}$")


def orders_between(start: dt.date, end: dt.date):
    """The merchant's orders Connex lists for whole UTC days ``start`` to ``end``."""
    from connexportal.sandbox.models import Order

    return Order.objects.filter(
        user__username=MERCHANT.connex_username,
        deleted=False,
        order_date__gte=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        order_date__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    )


def money(amount: Decimal) -> str:
    return format_money(amount, "USD", locale="en")


def summary_text(count: int, start: dt.date, end: dt.date) -> str:
    start_text, end_text = format_date(start, locale="en"), format_date(end, locale="en")
    return f"{count} order{'' if count == 1 else 's'} from {start_text} to {end_text}"


def order_numbers(page: Page) -> list[str]:
    return [
        text.split("·")[0].strip()
        for text in page.locator("#results > .table-wrap > table > tbody > tr summary").all_inner_texts()
    ]


def totals(page: Page) -> list[Decimal]:
    cells = page.locator("#results > .table-wrap > table > tbody > tr > td.num").all_inner_texts()
    return [Decimal(text.strip().lstrip("$").replace(",", "")) for text in cells]


def header_link(page: Page, name: str):
    return page.locator("#results thead th").filter(has_text=name).first.get_by_role("link")


def test_the_default_range_is_the_last_30_days(merchant_page: Page, merchant_console: ConsoleLog):
    page = merchant_page
    today = utc_today()
    start = today - dt.timedelta(days=30)
    expected = orders_between(start, today)

    page.goto("/orders/")

    expect(page.get_by_label("From", exact=True)).to_have_value(f"{start:%Y-%m-%d}")
    expect(page.get_by_label("To", exact=True)).to_have_value(f"{today:%Y-%m-%d}")
    expect(page.locator("#results .summary")).to_have_text(summary_text(expected.count(), start, today))
    newest = expected.order_by("-order_date").first()
    expect(page.locator("#results tbody tr").first).to_contain_text(
        format_datetime(newest.order_date, tz=MERCHANT_ZONE, locale="en")
    )
    expect(page.locator("#results tbody tr").first.locator("summary")).to_contain_text(newest.order_number)
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []


def test_a_new_range_is_listed_and_kept_in_the_url(merchant_page: Page):
    page = merchant_page
    today = utc_today()
    start, end = today - dt.timedelta(days=75), today - dt.timedelta(days=45)
    page.goto("/orders/")

    page.get_by_label("From", exact=True).fill(f"{start:%Y-%m-%d}")
    page.get_by_label("To", exact=True).fill(f"{end:%Y-%m-%d}")

    expect(page).to_have_url(re.compile(rf"/orders/\?(?=.*start={start:%Y-%m-%d})(?=.*end={end:%Y-%m-%d})"))
    expect(page.locator("#results .summary")).to_have_text(summary_text(orders_between(start, end).count(), start, end))
    page.reload()
    expect(page.get_by_label("From", exact=True)).to_have_value(f"{start:%Y-%m-%d}")
    expect(page.get_by_label("To", exact=True)).to_have_value(f"{end:%Y-%m-%d}")


def test_search_by_order_number(merchant_page: Page):
    page = merchant_page
    today = utc_today()
    start = today - dt.timedelta(days=30)
    wanted = orders_between(start, today).filter(order_number__startswith="111-").order_by("order_date").first()
    page.goto("/orders/")

    page.get_by_label("Order number or customer").fill(wanted.order_number)

    expect(page).to_have_url(re.compile(r"/orders/\?.*q=" + re.escape(wanted.order_number)))
    expect(page.locator("#results .summary")).to_have_text(summary_text(1, start, today))
    expect(page.locator("#results tbody summary").first).to_contain_text(wanted.order_number)
    assert order_numbers(page) == [wanted.order_number]


def test_sort_by_total_then_reverse(merchant_page: Page):
    page = merchant_page
    page.goto("/orders/")

    header_link(page, "Total").click()
    expect(page).to_have_url(re.compile(r"/orders/\?(?=.*sort=totalProductSales)(?=.*dir=asc)"))
    expect(page.locator("#results thead th").filter(has_text="Total").first).to_have_attribute("aria-sort", "ascending")
    ascending = totals(page)
    assert ascending == sorted(ascending) and len(set(ascending)) > 1

    header_link(page, "Total").click()
    expect(page).to_have_url(re.compile(r"/orders/\?(?=.*sort=totalProductSales)(?=.*dir=desc)"))
    expect(page.locator("#results thead th").filter(has_text="Total").first).to_have_attribute(
        "aria-sort", "descending"
    )
    descending = totals(page)
    assert descending == sorted(descending, reverse=True)
    assert descending[0] > ascending[0]


def test_line_items_open_by_keyboard_with_money_as_currency(merchant_page: Page):
    from connexportal.sandbox.models import OrderLine

    page = merchant_page
    today = utc_today()
    newest = orders_between(today - dt.timedelta(days=30), today).order_by("-order_date").first()
    lines = list(OrderLine.objects.filter(order=newest).order_by("position"))
    page.goto("/orders/")
    row = page.locator("#results tbody tr").first
    details = row.locator("details")
    expect(row.locator("td.num").last).to_have_text(money(newest.order_total))
    expect(details.locator("table.lines")).to_be_hidden()

    row.locator("summary").focus()
    page.keyboard.press("Enter")

    expect(details).to_have_attribute("open", "")
    line_rows = details.locator("table.lines tbody tr")
    expect(line_rows).to_have_count(len(lines))
    for line, line_row in zip(lines, line_rows.all(), strict=True):
        cells = line_row.locator("td")
        expect(cells.nth(0)).to_have_text(line.name)
        expect(cells.nth(1)).to_have_text(line.sku)
        expect(cells.nth(3)).to_have_text(money(line.price_excl_tax))
        expect(cells.nth(4)).to_have_text(money(line.price_excl_tax * line.quantity))
    order_totals = page.locator("#results > .table-wrap > table > tbody > tr > td.num").all_inner_texts()
    assert order_totals and all(MONEY.match(text.strip()) for text in order_totals), order_totals

    page.keyboard.press("Space")
    expect(details).not_to_have_attribute("open", "")
    expect(details.locator("table.lines")).to_be_hidden()
