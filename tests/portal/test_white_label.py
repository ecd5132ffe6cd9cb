"""White label and languages: the partner's service name, the embedded header, the language switcher, Connex's words."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from connexportal.accounts.branding import service_name_override
from connexportal.portal.connex_messages import connex_message, known_message
from tests.embed.embedding import IN_FRAME, launch_path, session_token_from
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(sandbox):
    from connexportal.accounts.models import Partner

    return Partner.objects.get(merchants__users__email="merchant@demo.test")


@pytest.fixture
def user(sandbox):
    from connexportal.accounts.models import User

    return User.objects.get(email="merchant@demo.test")


def test_the_partners_service_name_replaces_connex_on_merchant_pages(merchant_client, partner):
    from connexportal.sandbox import faults

    partner.service_name = "Acme <Sync>"
    partner.save()
    connection = sandbox_connections(DEMO_ACCOUNT)[0]
    html = merchant_client.get(f"/connections/{connection.id}/settings/").content.decode()
    assert "Times are in UTC, as Acme &lt;Sync&gt; keeps them." in html
    assert "Acme <Sync>" not in html

    with faults.injected("503=1"):
        html = merchant_client.get("/orders/").content.decode()
    assert "Acme &lt;Sync&gt; is not answering right now" in html
    assert "Connex is not answering" not in html


def test_merchants_without_a_service_name_read_connex():
    from connexportal.connex import ConnexUnavailable
    from connexportal.portal import services

    with translation.override("en"):
        error = services._translate(ConnexUnavailable("down", status=503), "load your orders")
        assert error.message.startswith("Connex is not answering right now")
        with service_name_override("Acme Sync"):
            error = services._translate(ConnexUnavailable("down", status=503), "load your orders")
            assert error.message.startswith("Acme Sync is not answering right now")


@pytest.mark.parametrize(
    ("chrome", "brand_shown", "css"),
    [("none", False, "site-header-none"), ("compact", True, "site-header-compact"), ("full", True, None)],
)
def test_embedded_the_header_follows_the_partners_choice(partner, chrome, brand_shown, css):
    from connexportal.accounts.models import Merchant

    partner.embed_chrome = chrome
    partner.embed_origins = "https://app.example.com"
    partner.save()
    merchant = Merchant.objects.get(partner=partner, external_id="demo-merchant-1")
    client = Client()
    launched = client.get(launch_path(merchant))
    page = client.get(launched["Location"], **IN_FRAME)
    html = page.content.decode()
    session_token_from(page)
    assert ('class="brand"' in html) is brand_shown
    assert (css is not None and f'class="site-header {css}"' in html) or (css is None and 'class="site-header"' in html)
    assert '<nav class="site-nav"' in html, "the menu stays, whatever the header"
    assert "<h1>" in html, "the page keeps its own heading"


def test_a_direct_page_always_shows_the_brand_header(merchant_client, partner):
    partner.embed_chrome = "none"
    partner.save()
    html = merchant_client.get("/connections/").content.decode()
    assert 'class="brand"' in html


def test_the_switcher_saves_the_users_language_and_sets_the_cookie(merchant_client, user):
    response = merchant_client.post("/language/", {"language": "fr", "next": "/products/"})
    assert response.status_code == 302 and response["Location"] == "/products/"
    assert response.cookies["django_language"].value == "fr"
    user.refresh_from_db()
    assert user.language == "fr"
    html = merchant_client.get("/connections/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="fr"' in html


def test_the_users_saved_language_beats_the_partners_default_and_the_browser(client, user, partner):
    partner.default_language = "es"
    partner.save()
    user.language = "fr"
    user.save()
    client.force_login(user)
    assert '<html lang="fr"' in client.get("/connections/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_language_chosen_on_the_login_page_survives_the_login(client, user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user.set_password("pw-for-the-test")
    user.language = "en"
    user.save()
    client.post("/language/", {"language": "es", "next": "/login/"})
    assert '<html lang="es"' in client.get("/login/").content.decode()
    response = client.post("/login/", {"username": user.email, "password": "pw-for-the-test"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "es"
    assert '<html lang="es"' in client.get("/connections/").content.decode()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switcher_only_goes_back_to_this_site(client, next_url):
    response = client.post("/language/", {"language": "fr", "next": next_url})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_switcher_refuses_an_unknown_language(client):
    assert client.post("/language/", {"language": "de"}).status_code == 400


def test_embedded_the_switcher_changes_the_embed_sessions_language(partner):
    from connexportal.accounts.models import Merchant
    from connexportal.embed.models import EmbedSession

    partner.embed_origins = "https://app.example.com"
    partner.default_language = "en"
    partner.save()
    merchant = Merchant.objects.get(partner=partner, external_id="demo-merchant-1")
    client = Client()
    launched = client.get(launch_path(merchant))
    token = session_token_from(client.get(launched["Location"], **IN_FRAME))
    header = {"HTTP_X_CONNEX_EMBED": token, "HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}

    response = client.post("/language/", {"language": "fr", "next": "/products/"}, **header)

    assert response.status_code == 302 and response["Location"] == "/products/"
    assert "django_language" not in response.cookies, "no cookie reaches a cross-site frame"
    assert EmbedSession.objects.get(merchant=merchant).language == "fr"
    assert '<html lang="fr"' in client.get("/connections/", **header).content.decode()


@pytest.mark.parametrize(
    ("sent", "english"),
    [
        (
            "Could not connect to eBay: the connection is not paired "
            "(SolutionUserName and SolutionPassword are empty).",
            "Could not connect to eBay: the connection is not paired.",
        ),
        ("The username or password is incorrect.", "Connex did not accept the username or password."),
        (
            "Too many requests; Connex allows 4 per second. Retry later.",
            "Connex received too many requests at once. Please try again in a moment.",
        ),
        ("Downloaded 12 orders, skipped 1 duplicate", "Downloaded 12 orders. Skipped 1 duplicate."),
        ("Downloaded 3 orders, skipped 0 duplicates", "Downloaded 3 orders."),
        ("Synced inventory of 800 products with Amazon", "Synced the inventory of 800 products with Amazon."),
    ],
)
def test_known_connex_messages_are_said_in_the_merchants_words(sent, english):
    with translation.override("en"):
        assert known_message(sent) == english
        assert connex_message(sent) == english


def test_a_known_message_names_the_partners_service():
    with translation.override("en"), service_name_override("Acme Sync"):
        assert (
            known_message("The username or password is incorrect.")
            == "Acme Sync did not accept the username or password."
        )


def test_an_unknown_connex_message_is_quoted_as_the_services_own_words():
    with translation.override("en"), service_name_override("Acme Sync"):
        html = connex_message("Quota <exceeded> & more")
    assert html == (
        '<span class="connex-words">Message from Acme Sync: <q lang="en">Quota &lt;exceeded&gt; &amp; more</q></span>'
    )


def test_a_refusal_quotes_connexs_unknown_reason_and_escapes_it():
    from connexportal.connex import ConnexRejected
    from connexportal.portal import services

    exc = ConnexRejected(
        "nope", status=400, detail="<b>Window</b> is odd", field_errors={"LastDownloadUtc": ["Bad <date>"]}
    )
    with translation.override("en"):
        error = services._translate(exc, "save the settings")
    assert error.message == (
        'Connex refused to save the settings: <span class="connex-words">Message from Connex: '
        '<q lang="en">&lt;b&gt;Window&lt;/b&gt; is odd</q></span>'
    )
    assert error.field_errors["LastDownloadUtc"] == [
        '<span class="connex-words">Message from Connex: <q lang="en">Bad &lt;date&gt;</q></span>'
    ]


@pytest.mark.parametrize("language", ["es", "fr"])
def test_known_connex_messages_are_translated(language):
    """Needs the new strings translated in locale/ (see the README's Languages)."""
    with translation.override(language):
        said = known_message("The username or password is incorrect.")
    assert said != "Connex did not accept the username or password."
