"""Embed sessions on requests: the header rules, tenancy, expiry, and isolation from login cookies.

Navigation tickets, the only thing a URL may carry, are in test_embed_navigation.py."""

import datetime as dt
import json
import logging

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from connexportal.embed.models import EmbedSession
from connexportal.embed.services import SESSION_TTL
from tests.embed.embedding import (
    IN_FRAME,
    PARTNER_ORIGINS,
    csp_directives,
    demo_data,
    expected_config,
    frame_config,
    launch_path,
    open_session,
)
from tests.portal.conftest import (
    sandbox,  # noqa: F401 - a fixture
    sandbox_setting,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def demo(sandbox):  # noqa: F811
    return demo_data()


@pytest.fixture
def token(demo) -> str:
    return open_session(demo.merchant)


def header(token: str) -> dict[str, str]:
    return {"HTTP_X_CONNEX_EMBED": token}


def settings_url(connection) -> str:
    return f"/connections/{connection.id}/settings/"


def settings_form(token: str, connection, **changes) -> dict[str, str]:
    """The settings form as the embedded page renders it, with ``changes``."""
    form = Client().get(settings_url(connection), **header(token)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    for name, value in list(data.items()):
        if hasattr(value, "strftime"):
            data[name] = value.strftime("%Y-%m-%dT%H:%M")
    data.update(changes)
    return data


def another_summary(connection) -> str:
    current = sandbox_setting(connection.id, "SummaryTransactionGroupBy")
    return "0" if current != "0" else "1"


# --- Header ---------------------------------------------------------------------------------


def test_header_opens_the_sessions_merchant_and_the_page_carries_it_on(demo, token):
    response = Client().get("/connections/", **header(token))

    assert response.status_code == 200
    html = response.content.decode()
    for link in demo.connection_links:
        assert link in html
    # htmx sends the token back on every request, and in-frame navigation is htmx (boosted).
    assert f'"X-Connex-Embed": "{token}"' in html
    assert 'hx-boost="true">' in html
    assert frame_config(html) == expected_config(origins=PARTNER_ORIGINS, token=token)
    assert "/static/js/embed-frame.js" in html


def test_the_page_holds_the_token_only_where_it_sends_it_from(demo, token):
    response = Client().get("/products/", {"page": "2", "q": ""}, **header(token))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'rel="prev"' in html, "the page should link to page 1 through the query string"
    # In htmx's headers and the frame script's settings: never in a link or form.
    assert html.count(token) == 2


def test_header_authorizes_changes_without_a_csrf_cookie(demo, token):
    connection = demo.runnable
    summary = another_summary(connection)
    data = settings_form(token, connection, SummaryTransactionGroupBy=summary)
    client = Client(enforce_csrf_checks=True)

    response = client.post(settings_url(connection), data, **header(token), **HTMX)

    assert response.status_code == 200
    assert sandbox_setting(connection.id, "SummaryTransactionGroupBy") == summary
    assert "connex:settings_saved" in json.loads(response["HX-Trigger"])


def test_run_now_and_its_status_tell_the_page_about_the_sync(demo, token):
    connection = demo.runnable
    client = Client(enforce_csrf_checks=True)

    started = client.post(f"/connections/{connection.id}/run-now/", **header(token), **HTMX)
    watched = client.get(f"/connections/{connection.id}/runs/", {"watch": "1"}, **header(token), **HTMX)

    assert started.status_code == 200
    assert "connex:sync_started" in json.loads(started["HX-Trigger"])
    events = json.loads(watched["HX-Trigger"])
    assert {"connex:sync_finished", "connex:sync_failed"} & set(events)


def test_csrf_is_still_enforced_without_an_embed_session(demo):
    from connexportal.accounts.models import User

    connection = demo.runnable
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(email="merchant@demo.test"))

    assert client.post(f"/connections/{connection.id}/run-now/", **HTMX).status_code == 403


def test_an_empty_header_or_ticket_is_no_session(demo):
    response = Client().get("/connections/", {"ticket": ""}, HTTP_X_CONNEX_EMBED="")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- Bound to partner and merchant ----------------------------------------------------------


@pytest.mark.parametrize("suffix", ["settings/", "settings/preview/", "runs/"])
def test_another_merchants_connection_is_not_found(demo, token, suffix):
    window = {"LastDownloadUtc": "2026-10-01T00:00", "LastDownloadUtcEnd": "2026-10-02T00:00"}
    for connection in demo.other_connections:
        response = Client().get(f"/connections/{connection.id}/{suffix}", window, **header(token), **HTMX)
        assert response.status_code == 404
        assert connection.name not in response.content.decode()


def test_another_merchants_connection_cannot_be_run(demo, token):
    from connexportal.sandbox.models import TaskRun

    runs = TaskRun.objects.count()
    for connection in demo.other_connections:
        response = Client().post(f"/connections/{connection.id}/run-now/", **header(token), **HTMX)
        assert response.status_code == 404
    assert TaskRun.objects.count() == runs


def test_each_session_shows_its_own_merchant(demo):
    other_token = open_session(demo.other_merchant)

    html = Client().get("/connections/", **header(other_token)).content.decode()

    for link in demo.other_connection_links:
        assert link in html
    for link in demo.connection_links:
        assert link not in html


def test_a_login_cookie_does_not_mix_with_an_embed_session(demo, token):
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="other@demo.test"))

    html = client.get("/connections/", **header(token)).content.decode()

    for link in demo.connection_links:
        assert link in html
    for link in demo.other_connection_links:
        assert link not in html
    assert "other@demo.test" not in html
    assert "Log out" not in html


@pytest.mark.parametrize("path", ["/", "/login/", "/admin/", "/admin/login/", "/healthz"])
def test_only_portal_pages_open_in_an_embed_session(demo, token, path):
    response = Client().get(path, **header(token))

    assert response.status_code == 404
    assert "This page is not part of the portal" in response.content.decode()


# --- Expiry -------------------------------------------------------------------------------------


def test_an_expired_session_shows_session_ended_and_tells_the_host(demo, token):
    with time_machine.travel(timezone.now() + SESSION_TTL + dt.timedelta(seconds=1)):
        response = Client().get("/connections/", **header(token))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("ConnexEmbed")
    html = response.content.decode()
    assert "Your session has ended" in html
    assert f"Open the portal again from {demo.partner.name}." in html
    for link in demo.connection_links:
        assert link not in html
    assert frame_config(html) == expected_config(
        origins=PARTNER_ORIGINS, event={"type": "session_expired", "reason": "expired"}
    )
    assert csp_directives(response)["frame-ancestors"] == list(PARTNER_ORIGINS)


def test_an_expired_session_answers_htmx_with_a_notice_in_place_of_the_page(demo, token):
    connection = demo.runnable
    with time_machine.travel(timezone.now() + SESSION_TTL + dt.timedelta(seconds=1)):
        response = Client().get(f"/connections/{connection.id}/runs/", **header(token), **HTMX)

    assert response.status_code == 401
    html = response.content.decode()
    assert "<html" not in html
    assert "Your session has ended" in html
    assert response["HX-Retarget"] == "#main"
    assert response["HX-Reswap"] == "innerHTML"
    assert response["HX-Push-Url"] == "false"
    assert json.loads(response["HX-Trigger"]) == {"connex:session_expired": {"reason": "expired"}}


@pytest.mark.parametrize("ended", ["revoked", "merchant deactivated", "partner deactivated"])
def test_a_revoked_session_or_deactivated_account_ends_the_session(demo, token, ended):
    if ended == "revoked":
        EmbedSession.objects.update(revoked_at=timezone.now())
    elif ended == "merchant deactivated":
        demo.merchant.is_active = False
        demo.merchant.save()
    else:
        demo.partner.is_active = False
        demo.partner.save()

    response = Client().get("/connections/", **header(token))

    assert response.status_code == 401
    assert "Your session has ended" in response.content.decode()


def test_an_unknown_session_token_ends_the_session_without_naming_anyone(demo):
    response = Client().get("/connections/", **header("no-such-session"))

    assert response.status_code == 401
    html = response.content.decode()
    assert "Open the portal again from the software you use it in." in html
    assert demo.partner.name not in html
    assert frame_config(html) == expected_config(origins=[], event={"type": "session_expired", "reason": "unknown"})


def test_tokens_are_never_logged(demo, token, caplog):
    caplog.set_level(logging.DEBUG)
    launch_token = launch_path(demo.merchant).rsplit("/", 1)[1]
    first_page = Client().get(f"/embed/launch/{launch_token}")["Location"]
    Client().get(f"/embed/launch/{launch_token}")
    Client().get(first_page, **IN_FRAME)
    Client().get(first_page, **IN_FRAME)
    minted = Client().post("/embed/navigation-tickets", {"path": "/orders/"}, **header(token)).json()["url"]
    with time_machine.travel(timezone.now() + SESSION_TTL + dt.timedelta(seconds=1)):
        Client().get(minted, **IN_FRAME)
        Client().get("/connections/", **header(token))
        Client().post(f"/connections/{demo.runnable.id}/run-now/", **header(token))

    assert caplog.records, "the requests should have logged something"
    for secret in (token, launch_token, first_page.rsplit("=", 1)[1], minted.rsplit("=", 1)[1]):
        assert secret not in caplog.text


# --- Language ---------------------------------------------------------------------------------


def test_the_session_language_wins_over_the_partner_default(demo):
    demo.partner.default_language = "fr"
    demo.partner.save()

    spanish = Client().get("/connections/", **header(open_session(demo.merchant, language="es")))
    default = Client().get("/connections/", **header(open_session(demo.merchant)))

    assert '<html lang="es"' in spanish.content.decode()
    assert '<html lang="fr"' in default.content.decode()
