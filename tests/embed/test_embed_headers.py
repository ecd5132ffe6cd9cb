"""Who may frame what: exactly the partner's origins for embedded responses, nobody for the rest."""

import pytest
from django.conf import settings
from django.test import Client

from tests.embed.embedding import IN_FRAME, PARTNER_ORIGINS, csp_directives, demo_data, launch_path, open_session
from tests.portal.conftest import sandbox  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(sandbox):  # noqa: F811
    return demo_data()


def assert_framable_by(response, origins) -> None:
    directives = csp_directives(response)
    assert directives["frame-ancestors"] == list(origins)
    assert "X-Frame-Options" not in response
    assert response["Referrer-Policy"] in {"no-referrer", "origin"}
    assert "no-store" in response["Cache-Control"]
    # The rest of the site's policy still applies.
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["script-src"][0] == "'self'"


def assert_unframable(response) -> None:
    assert csp_directives(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def embedded_pages(demo, token):
    connection = demo.runnable
    yield "connections (header)", Client().get("/connections/", HTTP_X_CONNEX_EMBED=token)
    minted = Client().post("/embed/navigation-tickets", {"path": "/connections/"}, HTTP_X_CONNEX_EMBED=token)
    yield "connections (ticket)", Client().get(minted.json()["url"], **IN_FRAME)
    yield "settings", Client().get(f"/connections/{connection.id}/settings/", HTTP_X_CONNEX_EMBED=token)
    yield "products", Client().get("/products/", HTTP_X_CONNEX_EMBED=token)
    yield "orders", Client().get("/orders/", HTTP_X_CONNEX_EMBED=token)
    yield (
        "run status (htmx)",
        Client().get(f"/connections/{connection.id}/runs/", HTTP_X_CONNEX_EMBED=token, HTTP_HX_REQUEST="true"),
    )


def test_embedded_pages_can_be_framed_by_exactly_the_partners_origins(demo):
    token = open_session(demo.merchant)
    for name, response in embedded_pages(demo, token):
        assert response.status_code == 200, name
        assert_framable_by(response, PARTNER_ORIGINS)
        assert response["Referrer-Policy"] == "no-referrer", name
        if b"<script" in response.content:
            nonce = csp_directives(response)["script-src"][1]
            assert nonce.startswith("'nonce-"), name
            assert f'nonce="{nonce[7:-1]}"' in response.content.decode(), name


def test_each_partner_gets_its_own_origins(demo):
    from connexportal.accounts.models import Partner

    other = Partner.objects.create(name="Other Partner", embed_origins="https://books.other.example")
    demo.other_merchant.partner = other
    demo.other_merchant.save()

    response = Client().get("/connections/", HTTP_X_CONNEX_EMBED=open_session(demo.other_merchant))

    assert_framable_by(response, ["https://books.other.example"])


def test_a_partner_without_origins_cannot_be_framed_anywhere(demo):
    token = open_session(demo.merchant)
    demo.partner.embed_origins = ""
    demo.partner.save()

    response = Client().get("/connections/", HTTP_X_CONNEX_EMBED=token)

    assert response.status_code == 200
    assert csp_directives(response)["frame-ancestors"] == ["'none'"]


def test_launch_answers_can_be_framed_by_the_partner(demo):
    path = launch_path(demo.merchant)
    opened = Client().get(path)
    replayed = Client().get(path)

    assert opened.status_code == 302
    assert_framable_by(opened, PARTNER_ORIGINS)
    assert replayed.status_code == 410
    assert_framable_by(replayed, PARTNER_ORIGINS)
    assert replayed["Referrer-Policy"] == "no-referrer"


def test_a_session_ended_page_can_be_framed_by_the_partner(demo):
    from django.utils import timezone

    from connexportal.embed.models import EmbedSession

    token = open_session(demo.merchant)
    EmbedSession.objects.update(revoked_at=timezone.now())

    response = Client().get("/connections/", HTTP_X_CONNEX_EMBED=token)

    assert response.status_code == 401
    assert_framable_by(response, PARTNER_ORIGINS)


def test_a_page_reopened_without_its_session_can_be_framed_by_any_page_and_shows_nothing(demo):
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="merchant@demo.test"))

    response = client.get("/connections/", **IN_FRAME)

    assert response.status_code == 401
    # It names no one (not even the merchant logged in on the portal's own site): any page may frame it.
    assert_framable_by(response, ["*"])
    html = response.content.decode()
    assert "merchant@demo.test" not in html
    assert "Log out" not in html
    assert demo.partner.name not in html


@pytest.mark.parametrize("path", ["/", "/login/", "/admin/login/", "/healthz"])
def test_pages_outside_the_embed_cannot_be_framed(demo, path):
    assert_unframable(Client().get(path))


def test_the_portal_opened_directly_cannot_be_framed(demo):
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="merchant@demo.test"))

    for path in ("/connections/", "/products/", f"/connections/{demo.runnable.id}/settings/"):
        response = client.get(path)
        assert response.status_code == 200
        assert_unframable(response)


def test_embedded_responses_set_no_login_session(demo):
    token = open_session(demo.merchant)
    for name, response in embedded_pages(demo, token):
        assert settings.SESSION_COOKIE_NAME not in response.cookies, name


def test_connex_embed_js_is_served_for_host_pages(demo):
    response = Client().get("/static/connex-embed.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"ConnexPortal" in b"".join(response.streaming_content if response.streaming else [response.content])
