import pytest

from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(sandbox):
    from connexportal.accounts.models import Partner

    return Partner.objects.get(merchants__users__email="merchant@demo.test")


def test_partner_brand_reaches_every_merchant_page(merchant_client, partner):
    partner.name = "Acme Books <Pro>"
    partner.theme = "dark"
    partner.set_logo(b"\x89PNG\r\n\x1a\n0000", "image/png")
    partner.save()
    connection = sandbox_connections(DEMO_ACCOUNT)[0]
    for url in ("/connections/", f"/connections/{connection.id}/settings/", "/products/", "/orders/"):
        html = merchant_client.get(url).content.decode()
        assert "Acme Books &lt;Pro&gt;" in html
        assert "<Pro>" not in html
        assert 'data-theme="dark"' in html
        assert f'href="/branding/{partner.pk}/theme.css?v=' in html
        assert f'src="/branding/{partner.pk}/logo?v=' in html


def test_hidden_products_and_orders_are_gone(merchant_client, partner):
    partner.hide_products = partner.hide_orders = True
    partner.save()
    html = merchant_client.get("/connections/").content.decode()
    assert 'href="/products/"' not in html and 'href="/orders/"' not in html
    assert merchant_client.get("/products/").status_code == 404
    assert merchant_client.get("/orders/").status_code == 404


def test_run_now_can_be_switched_off(merchant_client, partner):
    from connexportal.sandbox.models import TaskRun

    partner.allow_run_now = False
    partner.save()
    connection = sandbox_connections(DEMO_ACCOUNT)[0]
    html = merchant_client.get(f"/connections/{connection.id}/settings/").content.decode()
    assert "Run now" not in html
    runs = TaskRun.objects.count()
    assert merchant_client.post(f"/connections/{connection.id}/run-now/").status_code == 403
    assert TaskRun.objects.count() == runs


@pytest.mark.parametrize(("language", "expected"), [("es", "es"), ("fr", "fr")])
def test_partner_default_language_is_used(merchant_client, partner, language, expected):
    partner.default_language = language
    partner.save()
    html = merchant_client.get("/connections/").content.decode()
    assert f'<html lang="{expected}"' in html
