import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.django_db(transaction=True)

HEALTHY = {"status": "ok", "checks": {"database": {"status": "ok"}, "cache": {"status": "ok"}}}


def test_healthz_answers_json_to_the_browser(page: Page):
    response = page.goto("/healthz")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert "no-store" in response.headers["cache-control"]
    assert response.json() == HEALTHY


def test_healthz_is_reachable_from_a_portal_page_under_its_csp(page: Page):
    page.goto("/")
    # A fetch from the page is what htmx does: it must pass the page's connect-src.
    answer = page.evaluate(
        """async () => {
            const response = await fetch("/healthz", {headers: {Accept: "application/json"}});
            return {status: response.status, body: await response.json()};
        }"""
    )
    assert answer == {"status": 200, "body": HEALTHY}
