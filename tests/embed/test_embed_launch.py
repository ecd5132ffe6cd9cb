"""The launch URL: exchanged once for an embed session bound to its partner and merchant; refused clearly otherwise."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import OperationalError
from django.db import connection as db_connection
from django.test import Client

from connexportal.embed import services
from connexportal.embed.models import EmbedLaunch, EmbedSession, NavigationTicket, hash_token
from connexportal.embed.services import NAVIGATION_TICKET_TTL, SESSION_TTL
from tests.embed.embedding import (
    IN_FRAME,
    PARTNER_ORIGINS,
    csp_directives,
    demo_data,
    expected_config,
    frame_config,
    launch_path,
    open_session,
    session_token_from,
    ticket_from,
)
from tests.portal.conftest import sandbox  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def demo(sandbox):  # noqa: F811
    return demo_data()


def assert_no_merchant_data(html: str, demo) -> None:
    for link in demo.connection_links + demo.other_connection_links:
        assert link not in html
    for connection in demo.connections + demo.other_connections:
        assert connection.name not in html
    assert demo.merchant.name not in html
    assert demo.other_merchant.name not in html


def test_launch_opens_the_merchants_connections_in_a_new_session(demo):
    path = launch_path(demo.merchant, user_email="Pat@Partner.Example", language="fr")
    with time_machine.travel(START, tick=False):
        response = Client().get(path)
        page = Client().get(response["Location"], **IN_FRAME)

    assert response.status_code == 302
    location = response["Location"]
    # The first page opens with a single-use navigation ticket, never with the session token.
    assert location.startswith("/connections/?ticket=")
    ticket = NavigationTicket.objects.get()
    assert ticket.token_hash == hash_token(ticket_from(location))
    assert (ticket.created_at, ticket.expires_at, ticket.used_at) == (START, START + NAVIGATION_TICKET_TTL, START)
    token = session_token_from(page)
    assert token not in location
    session = EmbedSession.objects.get()
    assert ticket.session == session
    assert session.token_hash == hash_token(token)
    assert token not in {session.token_hash, session.launch.token_hash, ticket.sealed_session_token}
    assert (session.partner, session.merchant) == (demo.partner, demo.merchant)
    assert (session.user_email, session.language) == ("Pat@Partner.Example", "fr")
    assert session.expires_at == START + SESSION_TTL
    assert session.launch.used_at == START

    html = page.content.decode()
    for link in demo.connection_links:
        assert link in html
    for link in demo.other_connection_links:
        assert link not in html
    assert '<html lang="fr"' in html
    assert f'"X-Connex-Embed": "{token}"' in html


def test_launch_token_works_once(demo):
    path = launch_path(demo.merchant)
    assert Client().get(path).status_code == 302

    replay = Client().get(path)

    assert replay.status_code == 410
    html = replay.content.decode()
    assert "This link has already been used" in html
    assert f"Open the portal again from {demo.partner.name}." in html
    assert_no_merchant_data(html, demo)
    assert EmbedSession.objects.count() == 1
    # The host page hears why, so that it can mint a new launch URL; only the partner may frame it.
    assert frame_config(html) == expected_config(
        origins=PARTNER_ORIGINS, event={"type": "launch_failed", "reason": "used"}
    )
    assert csp_directives(replay)["frame-ancestors"] == list(PARTNER_ORIGINS)


def test_launch_token_expires(demo):
    with time_machine.travel(START, tick=False) as clock:
        path = launch_path(demo.merchant, ttl_seconds=120)
        clock.shift(dt.timedelta(seconds=120))
        response = Client().get(path)

    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html
    assert_no_merchant_data(html, demo)
    assert frame_config(html)["event"] == {"type": "launch_failed", "reason": "expired"}
    assert not EmbedSession.objects.exists()
    assert EmbedLaunch.objects.get().used_at is None


def test_launch_token_works_until_it_expires(demo):
    with time_machine.travel(START, tick=False) as clock:
        path = launch_path(demo.merchant)
        clock.shift(dt.timedelta(minutes=10) - dt.timedelta(seconds=1))
        assert Client().get(path).status_code == 302


def test_unknown_launch_token_is_refused_without_naming_anyone(demo):
    launch_path(demo.merchant)

    response = Client().get("/embed/launch/not-a-token-anyone-issued")

    assert response.status_code == 404
    html = response.content.decode()
    assert "This link to the portal is not valid" in html
    assert "Open the portal again from the software you use it in." in html
    assert_no_merchant_data(html, demo)
    assert demo.partner.name not in html
    # No partner, so no origins: the page holds nothing worth framing-protection, and whichever
    # page frames it hears why.
    assert frame_config(html) == expected_config(origins=[], event={"type": "launch_failed", "reason": "unknown"})
    assert csp_directives(response)["frame-ancestors"] == ["*"]
    assert not EmbedSession.objects.exists()


@pytest.mark.parametrize("switched_off", ["partner", "merchant", "merchant moved"])
def test_launch_is_refused_when_the_partner_or_merchant_is_no_longer_active(demo, switched_off):
    from connexportal.accounts.models import Partner

    path = launch_path(demo.merchant)
    if switched_off == "partner":
        demo.partner.is_active = False
        demo.partner.save()
    elif switched_off == "merchant":
        demo.merchant.is_active = False
        demo.merchant.save()
    else:
        demo.merchant.partner = Partner.objects.create(name="Another Partner")
        demo.merchant.save()

    response = Client().get(path)

    assert response.status_code == 403
    html = response.content.decode()
    assert "The portal is not available for this account" in html
    assert_no_merchant_data(html, demo)
    assert frame_config(html)["event"] == {"type": "launch_failed", "reason": "inactive"}
    assert not EmbedSession.objects.exists()


def test_launch_refusal_speaks_the_language_of_the_launch(demo):
    path = launch_path(demo.merchant, language="es")
    Client().get(path)

    replay = Client().get(path)

    assert '<html lang="es"' in replay.content.decode()


def test_launch_is_get_only(demo):
    path = launch_path(demo.merchant)
    assert Client().post(path).status_code == 405
    assert Client().get(path).status_code == 302


def test_launch_redirect_keeps_only_the_host_origin_as_referrer(demo):
    response = Client().get(launch_path(demo.merchant))

    assert response["Referrer-Policy"] == "origin"
    assert "no-store" in response["Cache-Control"]


def test_sessions_last_an_hour_from_launch(demo):
    with time_machine.travel(START, tick=False):
        token = open_session(demo.merchant)
    with time_machine.travel(START + SESSION_TTL - dt.timedelta(seconds=1), tick=False):
        assert Client().get("/connections/", HTTP_X_CONNEX_EMBED=token).status_code == 200
    with time_machine.travel(START + SESSION_TTL, tick=False):
        assert Client().get("/connections/", HTTP_X_CONNEX_EMBED=token).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_exchanges_of_one_launch_open_one_session():
    from connexportal.accounts.models import Merchant, Partner

    partner = Partner.objects.create(name="Racing Partner", embed_origins="https://app.partner.example")
    merchant = Merchant.objects.create(name="Racing Merchant", partner=partner)
    token = launch_path(merchant).rsplit("/", 1)[1]
    attempts = 8
    start = threading.Barrier(attempts)
    results = []

    def exchange():
        try:
            start.wait()
            services.launch_exchange(token=token)
            results.append("opened")
        except services.LaunchRefused as exc:
            results.append(exc.reason.value)
        except OperationalError:
            results.append("locked")
        finally:
            db_connection.close()

    threads = [threading.Thread(target=exchange) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("opened") == 1, results
    assert EmbedSession.objects.count() == 1
    others = {result for result in results if result != "opened"}
    if db_connection.vendor == "sqlite":
        # The in-memory SQLite test database refuses a second writer at once instead of waiting.
        assert others <= {"used", "locked"}, results
    else:
        assert others == {"used"}, results
