import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import ConsoleLog
from tests.e2e.portal import RUN_QUEUED_SECONDS, RUN_RUNNING_SECONDS, Demo

CONNECTION = "Amazon US"
# The page polls every 2 s; the run is over well before the second poll.
RUN_SEEN_DONE_MS = 2_000 * 2 + int((RUN_QUEUED_SECONDS + RUN_RUNNING_SECONDS) * 1_000)


def run_now_runs(connection_id: int):
    from connexportal.sandbox.models import TaskRun

    return TaskRun.objects.filter(task__connection_id=connection_id, trigger="RunNow")


def test_run_now_shows_the_run_live_until_it_completes_then_cools_down(
    merchant_page: Page, merchant_console: ConsoleLog, portal_demo: Demo
):
    page = merchant_page
    connection_id = portal_demo.connections[CONNECTION]
    page.goto(portal_demo.settings_path(CONNECTION))
    status = page.locator("#run-status")
    run_now = status.get_by_role("button", name="Run now")
    expect(run_now).to_be_enabled()
    expect(status.locator("#run-state")).to_contain_text("Last sync: Completed")

    run_now.click()

    live = status.locator("#run-state")
    expect(live).to_contain_text("Sync started. Progress shows below.")
    expect(live).to_contain_text(re.compile(r"(Waiting to start|Sync running)…"))
    expect(status.get_by_role("button", name="Run now")).to_be_disabled()
    expect(status).to_contain_text("A sync is already running.")
    first_row = status.locator("tbody tr").first
    expect(first_row).to_contain_text("Run now")
    expect(first_row.locator(".badge")).to_have_text(re.compile(r"^(Queued|Running)$"))

    expect(live).to_contain_text("Last sync: Completed", timeout=RUN_SEEN_DONE_MS)
    # The change is announced by the live region that stays in place while the panel is swapped.
    expect(status.get_by_role("status")).to_contain_text("Last sync: Completed")
    run = run_now_runs(connection_id).get()
    assert run.status == "Completed"
    downloaded = "order downloaded" if run.orders_downloaded == 1 else "orders downloaded"
    expect(live).to_contain_text(f"{run.orders_downloaded} {downloaded}")
    expect(live).to_contain_text(run.message)
    expect(first_row.locator("td").nth(1)).to_have_text("Run now")
    expect(first_row.locator(".badge")).to_have_text("Completed")
    expect(first_row.locator("td").nth(3)).to_have_text(str(run.orders_downloaded))
    # Polling stops once the run is over.
    expect(status.locator("#run-panel")).not_to_have_attribute("hx-trigger", re.compile("every"))

    button = status.get_by_role("button", name="Run now")
    expect(button).to_be_disabled()
    cooldown = status.locator("#run-now-why")
    expect(cooldown).to_have_text(re.compile(r"^Available again in \d+ seconds?\.$"))
    expect(button).to_have_attribute("aria-describedby", "run-now-why")
    assert merchant_console.errors == []
    assert merchant_console.csp_violations == []

    # The cooldown is visible before anyone clicks: on a fresh load too.
    page.reload()
    expect(page.get_by_role("button", name="Run now")).to_be_disabled()
    expect(page.locator("#run-now-why")).to_have_text(re.compile(r"^Available again in \d+ seconds?\.$"))
    assert run_now_runs(connection_id).count() == 1
