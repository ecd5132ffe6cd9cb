"""Another merchant's connection does not exist for you: a 404 in the browser, whatever the request."""

from playwright.sync_api import Page, expect

from tests.e2e.browser import axe_scan, describe_violations
from tests.e2e.portal import OTHER, Demo, setting_value

CONNECTION = "Amazon US"


def requested(page: Page, method: str, path: str) -> int:
    """The status of a same-origin request made as the page's own scripts would, CSRF token included."""
    return page.evaluate(
        """async ([method, path]) => {
            const headers = JSON.parse(document.body.getAttribute("hx-headers"));
            const response = await fetch(path, {method, headers: {...headers, "HX-Request": "true"}});
            return response.status;
        }""",
        [method, path],
    )


def test_another_merchants_connection_is_not_found(open_portal, portal_demo: Demo):
    from connexportal.sandbox.models import TaskRun

    page = open_portal(login=OTHER)
    connection_id = portal_demo.connections[CONNECTION]
    window_before = setting_value(connection_id, "LastDownloadUtc")
    runs_before = TaskRun.objects.filter(task__connection_id=connection_id).count()

    response = page.goto(portal_demo.settings_path(CONNECTION))

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections")).to_be_visible()
    expect(page.get_by_text(CONNECTION)).to_have_count(0)
    expect(page.get_by_role("button", name="Run now")).to_have_count(0)
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)

    page.goto("/connections/")
    expect(page.locator("li.connection")).to_have_count(len(portal_demo.other_connections))
    base = f"/connections/{connection_id}"
    assert requested(page, "GET", f"{base}/runs/") == 404
    assert (
        requested(
            page,
            "GET",
            f"{base}/settings/preview/?LastDownloadUtc=2026-01-01T00:00&LastDownloadUtcEnd=2026-01-02T00:00",
        )
        == 404
    )
    assert requested(page, "POST", f"{base}/run-now/") == 404
    assert requested(page, "POST", f"{base}/settings/") == 404
    assert setting_value(connection_id, "LastDownloadUtc") == window_before
    assert TaskRun.objects.filter(task__connection_id=connection_id).count() == runs_before
