"""A form body over DATA_UPLOAD_MAX_MEMORY_SIZE is a clear 413 page, not an error page."""

import pytest
from django.test import Client

from connexportal.accounts.models import Merchant, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant_browser():
    merchant = Merchant.objects.create(name="Acme Outdoor")
    client = Client(enforce_csrf_checks=True)
    client.force_login(
        User.objects.create_user(email="owner@acme.test", password="pw-long-enough-1", merchant=merchant)
    )
    # A browser that has loaded a page holds the CSRF cookie, so the CSRF check reads the body.
    client.cookies["csrftoken"] = "a" * 32
    return client


@pytest.mark.parametrize("path", ["/connections/1/settings/", "/connections/1/run-now/", "/login/"])
def test_an_oversized_form_post_is_a_413_page(merchant_browser, settings, caplog, path):
    settings.DEBUG = False
    response = merchant_browser.post(path, {"LastDownloadUtc": "x" * (3 * 1024 * 1024)})
    html = response.content.decode()
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>Too much data sent</h1>" in html
    assert "The form sent more than 2.5\xa0MB, more than this portal accepts. Nothing was saved." in html
    assert "Traceback" not in html
    assert not [record for record in caplog.records if record.name == "django.request"]


def test_the_limit_shown_is_the_configured_one(merchant_browser, settings):
    settings.DEBUG = False
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024
    response = merchant_browser.post("/connections/1/settings/", {"note": "x" * (11 * 1024)})
    assert response.status_code == 413
    assert "more than 10.0\xa0KB" in response.content.decode()


def test_other_bad_requests_keep_the_400(merchant_browser, settings):
    settings.DEBUG = False
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = merchant_browser.post("/connections/1/settings/", {f"field{n}": "x" for n in range(10)})
    assert response.status_code == 400
