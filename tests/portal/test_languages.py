"""Pages come out in the language chosen: the embed session's, else the partner's default, else the browser's.

The catalogs themselves are checked in tests/core/test_i18n.py.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import translation

LOGIN_WORDS = {"es": ["Iniciar sesión", "Contraseña"], "fr": ["Se connecter", "Mot de passe"]}
CONNECTIONS_WORDS = {
    "es": ["Conexiones", "Última sincronización", "Ventas a QuickBooks", "Actualizar"],
    "fr": ["Connexions", "Dernière synchronisation", "Ventes vers QuickBooks", "Actualiser"],
}
SETTINGS_WORDS = {
    "es": ["Configuración de la sincronización", "Ejecutar ahora", "Guardar configuración", "Historial"],
    "fr": ["Paramètres de synchronisation", "Lancer maintenant", "Enregistrer les paramètres", "Historique"],
}
OTHER = {"es": "fr", "fr": "es"}


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["es", "fr"])
def test_login_page_speaks_the_browsers_language(client, code):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE=f"{code},en;q=0.5")
    html = response.content.decode()
    assert f'<html lang="{code}"' in html
    assert response["Content-Language"] == code
    for words in LOGIN_WORDS[code]:
        assert words in html
    assert "Password" not in html


@pytest.mark.django_db
def test_login_page_falls_back_to_english(client):
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en"' in html
    assert "Password" in html


def set_partner_language(code: str):
    from connexportal.accounts.models import User

    partner = User.objects.get(email="merchant@demo.test").merchant.partner
    assert partner is not None, "the demo merchant belongs to the demo partner"
    partner.default_language = code
    partner.save()


@pytest.mark.parametrize("code", ["es", "fr"])
def test_merchant_pages_speak_the_partners_default_language(merchant_client, code):
    set_partner_language(code)
    # The partner's choice wins over the browser's.
    response = merchant_client.get("/connections/", HTTP_ACCEPT_LANGUAGE=OTHER[code])
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{code}"' in html
    assert response["Content-Language"] == code
    for words in CONNECTIONS_WORDS[code]:
        assert words in html
    assert "Last sync" not in html

    connection_id = re.search(r'href="/connections/(\d+)/settings/"', html).group(1)
    html = merchant_client.get(f"/connections/{connection_id}/settings/").content.decode()
    assert f'<html lang="{code}"' in html
    for words in SETTINGS_WORDS[code]:
        assert words in html
    assert "Run now" not in html


def test_merchant_pages_are_english_when_the_partner_says_so(merchant_client):
    set_partner_language("en")
    html = merchant_client.get("/connections/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en"' in html
    assert "Last sync" in html


@pytest.mark.django_db
def test_the_embed_sessions_language_wins_over_the_partners():
    from connexportal.accounts.middleware import MerchantMiddleware
    from connexportal.accounts.models import Merchant, Partner

    partner = Partner.objects.create(name="Languages Ltd", default_language="es")
    merchant = Merchant.objects.create(partner=partner, name="Tienda")
    seen = []

    def view(request):
        seen.append((translation.get_language(), request.LANGUAGE_CODE))
        return None

    middleware = MerchantMiddleware(view)
    with translation.override("en"):
        for embed_language in ("fr", None):
            request = RequestFactory().get("/connections/")
            request.user = AnonymousUser()
            request.embed_merchant = merchant
            request.embed_language = embed_language
            middleware(request)
    assert seen == [("fr", "fr"), ("es", "es")]


def test_upstream_errors_speak_the_merchants_language_and_log_in_english(caplog):
    from connexportal.connex import ConnexUnavailable
    from connexportal.portal import services

    with translation.override("es"):
        error = services._translate(
            ConnexUnavailable("timed out", status=503), translation.pgettext_lazy("Connex action", "load your orders")
        )
        assert error.message == (
            "Connex no responde en este momento, así que no hemos podido cargar sus pedidos. "
            "Vuelva a intentarlo dentro de un minuto."
        )
    assert "connex load your orders failed" in caplog.text
