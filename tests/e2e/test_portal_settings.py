import datetime as dt

from playwright.sync_api import Page, expect

from connexportal.portal.formatting import format_datetime
from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import MERCHANT_ZONE, Demo, setting_value, utc_today

CONNECTION = "Shopify Store"
# Settings the page does not edit, or must never show; each must keep its value through a save.
UNTOUCHED = (
    "SolutionUserName",
    "SolutionPassword",
    "SolutionParameter",
    "LastProductDownloadUtc",
    "LastProductDownloadUtcEnd",
    "LastProductUploadUtc",
    "LastProductUploadUtcEnd",
    "SummaryTransactionGroupBy",
    "ShopifyToken",
    "Stores",
    "OrderStatuses",
)


def field_value(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def days_ago(days: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(utc_today() - dt.timedelta(days=days), dt.time(hour, minute), tzinfo=dt.UTC)


def orders_held(connection_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """What Connex counts in a window: whole UTC days, both ends included."""
    from connexportal.sandbox.models import Order

    return Order.objects.filter(
        connection_id=connection_id,
        deleted=False,
        order_date__gte=start.replace(hour=0, minute=0),
        order_date__lt=end.replace(hour=0, minute=0) + dt.timedelta(days=1),
    ).count()


def order_window_inputs(page: Page):
    return page.get_by_label("Order download from (UTC)"), page.get_by_label("Order download to (UTC)")


def test_changing_the_order_window_previews_its_length_and_the_orders_connex_holds(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo
):
    page = merchant_page
    page.goto(portal_demo.settings_path(CONNECTION))
    start_input, end_input = order_window_inputs(page)
    start, end = days_ago(10), days_ago(3, 23, 59)
    held = orders_held(portal_demo.connections[CONNECTION], start, end)
    assert held > 1, "the seed should put several orders in the window"

    start_input.fill(field_value(start))
    end_input.fill(field_value(end))

    preview = page.locator("#window-preview")
    expect(preview).to_contain_text(f"This window spans 7 days 23 h 59 min. Connex already holds {held} orders in it.")
    local_start, local_end = (format_datetime(moment, tz=MERCHANT_ZONE, locale="en") for moment in (start, end))
    expect(preview).to_contain_text(f"Your time: {local_start} \N{EN DASH} {local_end}")
    expect(preview).to_have_attribute("aria-live", "polite")

    later_start = days_ago(5)
    held_later = orders_held(portal_demo.connections[CONNECTION], later_start, end)
    start_input.fill(field_value(later_start))
    # "order" or "orders": the count decides.
    expect(preview).to_contain_text(f"This window spans 2 days 23 h 59 min. Connex already holds {held_later} order")
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []


def test_an_end_before_the_start_is_a_field_error_and_keeps_what_was_typed(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    connection_id = portal_demo.connections[CONNECTION]
    before = setting_value(connection_id, "LastDownloadUtcEnd")
    page.goto(portal_demo.settings_path(CONNECTION))
    start_input, end_input = order_window_inputs(page)
    start, end = days_ago(2, 12), days_ago(4, 6, 30)

    start_input.fill(field_value(start))
    end_input.fill(field_value(end))
    expect(page.locator("#window-preview")).to_contain_text("The end must be on or after the start.")
    page.get_by_role("button", name="Save settings").click()

    start_input, end_input = order_window_inputs(page)
    expect(page.locator("#id_LastDownloadUtcEnd_error")).to_have_text("The end must be on or after the start.")
    expect(end_input).to_have_attribute("aria-invalid", "true")
    expect(end_input).to_have_attribute("aria-describedby", "id_LastDownloadUtcEnd_error")
    expect(start_input).to_have_value(field_value(start))
    expect(end_input).to_have_value(field_value(end))
    expect(page.get_by_text("Settings saved.")).to_have_count(0)
    assert setting_value(connection_id, "LastDownloadUtcEnd") == before


def test_saving_keeps_the_new_window_and_every_other_setting(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo
):
    page = merchant_page
    connection_id = portal_demo.connections[CONNECTION]
    untouched = {name: setting_value(connection_id, name) for name in UNTOUCHED}
    assert untouched["SolutionPassword"], "the seeded connection should be paired"
    page.goto(portal_demo.settings_path(CONNECTION))
    start_input, end_input = order_window_inputs(page)
    start, end = days_ago(5, 8), days_ago(4, 20, 30)

    start_input.fill(field_value(start))
    end_input.fill(field_value(end))
    page.get_by_role("button", name="Save settings").click()

    saved = page.locator("#settings-form").get_by_role("status")
    expect(saved).to_contain_text("Settings saved.")
    expect(saved.get_by_role("link", name="Go to Run now")).to_be_visible()
    expect(page.get_by_role("button", name="Run now")).to_be_enabled()
    assert setting_value(connection_id, "LastDownloadUtc").startswith(start.strftime("%Y-%m-%dT%H:%M:00"))
    assert setting_value(connection_id, "LastDownloadUtcEnd").startswith(end.strftime("%Y-%m-%dT%H:%M:00"))
    assert {name: setting_value(connection_id, name) for name in UNTOUCHED} == untouched

    page.reload()
    start_input, end_input = order_window_inputs(page)
    expect(start_input).to_have_value(field_value(start))
    expect(end_input).to_have_value(field_value(end))
    expect(page.locator(".field").filter(has=start_input).locator(".local-time")).to_have_text(
        f"{format_datetime(start, tz=MERCHANT_ZONE, locale='en')} your time"
    )
    html = page.content()
    for name in ("SolutionUserName", "SolutionPassword", "ShopifyToken", "OrderStatuses"):
        assert name not in html
    for secret in (untouched["SolutionUserName"], untouched["SolutionPassword"]):
        assert secret not in html
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []


def test_the_summary_choice_is_labelled_and_saved(merchant_page: Page, portal_demo: Demo):
    page = merchant_page
    connection_id = portal_demo.connections[CONNECTION]
    page.goto(portal_demo.settings_path(CONNECTION))
    choice = page.get_by_label("How sales reach QuickBooks")
    expect(choice).to_have_value(setting_value(connection_id, "SummaryTransactionGroupBy"))

    choice.select_option(label="Summary by payment method")
    page.get_by_role("button", name="Save settings").click()

    expect(page.locator("#settings-form").get_by_role("status")).to_contain_text("Settings saved.")
    assert setting_value(connection_id, "SummaryTransactionGroupBy") == "2"
    page.reload()
    expect(page.get_by_label("How sales reach QuickBooks")).to_have_value("2")
