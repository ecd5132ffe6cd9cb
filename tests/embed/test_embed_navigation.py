"""No secret in any URL: full-page loads inside the frame open with single-use navigation tickets.

The finding this answers: the session token travelled as ``?embed=``, so a line of an access log,
a history entry or a "Try again" link opened the merchant's data, with write access.
"""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.db import OperationalError
from django.db import connection as db_connection
from django.test import Client
from django.utils import timezone

from connexportal.embed import services
from connexportal.embed.models import EmbedSession, NavigationTicket, hash_token
from connexportal.embed.services import NAVIGATION_TICKET_TTL, SESSION_TTL
from connexportal.sandbox import faults
from tests.embed.embedding import (
    IN_FRAME,
    PARTNER_ORIGINS,
    demo_data,
    expected_config,
    frame_config,
    launch_path,
    open_session,
    session_token_from,
    ticket_from,
)
from tests.portal.conftest import DEMO_ACCOUNT, sandbox, sandbox_setting  # noqa: F401 - sandbox: a fixture

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
TICKETS = "/embed/navigation-tickets"
# Every attribute through which a page hands a URL to the browser or to htmx.
URL_ATTRIBUTES = re.compile(r'\b(?:href|src|action|hx-get|hx-post|hx-push-url)="([^"]*)"')


@pytest.fixture
def demo(sandbox):  # noqa: F811
    return demo_data()


@pytest.fixture
def token(demo) -> str:
    return open_session(demo.merchant)


def header(token: str) -> dict[str, str]:
    return {"HTTP_X_CONNEX_EMBED": token}


def mint(token: str, path: str) -> str:
    """What the frame script does before a full-page load: the URL to load, with a fresh ticket."""
    response = Client().post(TICKETS, {"path": path}, **header(token))
    assert response.status_code == 201, response.status_code
    return response.json()["url"]


def assert_no_merchant_data(html: str, demo) -> None:
    for connection in demo.connections + demo.other_connections:
        assert f"/connections/{connection.id}/" not in html
        assert connection.name not in html
    assert demo.merchant.name not in html


def assert_refused_without_data(response, demo, *, reason: str, partner_named: bool = True) -> None:
    assert response.status_code == 401
    html = response.content.decode()
    assert "This page cannot be opened from its address" in html
    assert_no_merchant_data(html, demo)
    assert 'hx-boost="true"' not in html
    origins = PARTNER_ORIGINS if partner_named else []
    # The host page hears it, so that it can open the portal again.
    assert frame_config(html) == expected_config(origins=origins, event={"type": "session_expired", "reason": reason})


# --- The finding ------------------------------------------------------------------------------


def test_the_first_pages_address_from_an_access_log_opens_nothing_and_changes_nothing(demo):
    connection = demo.runnable
    launched = Client().get(launch_path(demo.merchant))
    logged_line = launched["Location"]
    page = Client().get(logged_line, **IN_FRAME)
    token = session_token_from(page)
    assert token not in logged_line
    before = sandbox_setting(connection.id, "SummaryTransactionGroupBy")
    runs = _task_runs()

    for reader in (Client(), Client(enforce_csrf_checks=True)):
        reopened = reader.get(logged_line, **IN_FRAME)
        assert_refused_without_data(reopened, demo, reason="used")
        assert token not in reopened.content.decode()
        top_level = reader.get(logged_line)
        assert top_level.status_code == 401
        assert token not in top_level.content.decode()
        run_now = reader.post(f"/connections/{connection.id}/run-now/?{logged_line.split('?')[1]}", **IN_FRAME)
        assert run_now.status_code == 403

    assert sandbox_setting(connection.id, "SummaryTransactionGroupBy") == before
    assert _task_runs() == runs


def test_the_session_token_in_a_url_opens_nothing(demo, token):
    """The old shape, ``?embed=<session token>``, is no credential at all any more."""
    connection = demo.runnable
    runs = _task_runs()

    framed = Client().get("/connections/", {"embed": token}, **IN_FRAME)
    top_level = Client().get("/connections/", {"embed": token})
    run_now = Client(enforce_csrf_checks=True).post(f"/connections/{connection.id}/run-now/?embed={token}")

    assert_refused_without_data(framed, demo, reason="missing", partner_named=False)
    assert top_level.status_code == 302
    assert top_level["Location"].startswith("/login/")
    assert run_now.status_code == 403
    assert _task_runs() == runs


def _task_runs() -> int:
    from connexportal.sandbox.models import TaskRun

    return TaskRun.objects.count()


# --- Minting --------------------------------------------------------------------------------


def test_the_frame_mints_a_ticket_for_a_portal_page_with_its_header(demo, token):
    with time_machine.travel(START, tick=False):
        response = Client(enforce_csrf_checks=True).post(TICKETS, {"path": "/products/?page=2&q=tent"}, **header(token))

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    url = response.json()["url"]
    assert url.startswith("/products/?page=2&q=tent&ticket=")
    assert token not in url
    ticket = NavigationTicket.objects.get(token_hash=hash_token(ticket_from(url)))
    assert ticket.session == EmbedSession.objects.get()
    assert (ticket.created_at, ticket.expires_at, ticket.used_at) == (START, START + NAVIGATION_TICKET_TTL, None)
    assert ticket_from(url) not in ticket.sealed_session_token
    assert token not in ticket.sealed_session_token


@pytest.mark.parametrize(
    "path",
    [
        "",
        "products/",
        "//evil.example/products/",
        "/\\evil.example/products/",
        "https://evil.example/products/",
        "/admin/",
        "/login/",
        "/embed/navigation-tickets",
        "/no-such-page/",
    ],
)
def test_tickets_open_only_the_portals_own_pages(demo, token, path):
    response = Client().post(TICKETS, {"path": path}, **header(token))

    assert response.status_code == 400
    assert not NavigationTicket.objects.exclude(used_at__isnull=False).exists()


def test_a_ticket_in_the_path_asked_for_is_replaced_not_kept(demo, token):
    url = mint(token, "/orders/?ticket=someone-elses&q=42")

    assert url.startswith("/orders/?q=42&ticket=")
    assert "someone-elses" not in url


def test_only_the_header_mints_tickets(demo, token):
    with_ticket = mint(token, "/connections/")

    no_session = Client(enforce_csrf_checks=True).post(TICKETS, {"path": "/connections/"})
    by_ticket = Client().post(f"{TICKETS}?ticket={ticket_from(with_ticket)}", {"path": "/connections/"})
    by_url_token = Client(enforce_csrf_checks=True).post(f"{TICKETS}?embed={token}", {"path": "/connections/"})
    read_only = Client().get(TICKETS, **header(token))

    assert no_session.status_code == 403
    assert by_ticket.status_code == 403
    assert by_url_token.status_code == 403
    assert read_only.status_code == 405
    assert NavigationTicket.objects.filter(used_at__isnull=True).count() == 1


def test_an_ended_session_mints_no_ticket(demo, token):
    EmbedSession.objects.update(revoked_at=timezone.now())

    response = Client().post(TICKETS, {"path": "/connections/"}, **header(token))

    assert response.status_code == 401
    assert not NavigationTicket.objects.filter(used_at__isnull=True).exists()


def test_a_ticket_carries_only_its_own_sessions_token(demo, token):
    session = EmbedSession.objects.get()
    other_token = open_session(demo.other_merchant)

    with pytest.raises(ValueError, match="does not belong"):
        services.navigation_ticket_create(session=session, session_token=other_token)
    assert not NavigationTicket.objects.filter(session=session, used_at__isnull=True).exists()


# --- Opening a page with a ticket -------------------------------------------------------------


def test_a_ticket_opens_its_page_once_and_the_page_carries_the_session_on(demo, token):
    url = mint(token, "/products/?page=2&q=")

    first = Client().get(url, **IN_FRAME)
    second = Client().get(url, **IN_FRAME)

    assert first.status_code == 200
    html = first.content.decode()
    assert 'rel="prev"' in html, "the page should link to page 1 through the query string"
    # The page sends the session on in its header (htmx, the frame script), and nowhere else.
    assert html.count(token) == 2
    assert f'"X-Connex-Embed": "{token}"' in html
    assert frame_config(html) == expected_config(origins=PARTNER_ORIGINS, token=token)
    assert ticket_from(url) not in html
    assert "Referrer-Policy" in first and first["Referrer-Policy"] == "no-referrer"
    assert_refused_without_data(second, demo, reason="used")


def test_a_ticket_opens_its_own_sessions_merchant(demo, token):
    other_url = mint(open_session(demo.other_merchant), "/connections/")

    html = Client().get(other_url, **IN_FRAME).content.decode()

    for link in demo.other_connection_links:
        assert link in html
    for link in demo.connection_links:
        assert link not in html


def test_no_link_a_ticket_opened_page_builds_carries_a_secret(demo, token):
    url = mint(token, "/products/?page=2&q=")

    with faults.injected("503=1,path=products/list", account=DEMO_ACCOUNT):
        response = Client().get(url, **IN_FRAME)

    html = response.content.decode()
    assert "Try again" in html
    links = URL_ATTRIBUTES.findall(html)
    assert "/products/?page=2&amp;q=" in links
    for link in links:
        assert token not in link
        assert "ticket" not in link
        assert "embed=" not in link


def test_tickets_expire_after_a_minute(demo, token):
    with time_machine.travel(START, tick=False) as clock:
        token = open_session(demo.merchant)
        in_time, too_late = mint(token, "/orders/"), mint(token, "/orders/")
        clock.shift(NAVIGATION_TICKET_TTL - dt.timedelta(seconds=1))
        opened = Client().get(in_time, **IN_FRAME)
        clock.shift(dt.timedelta(seconds=1))
        expired = Client().get(too_late, **IN_FRAME)

    assert opened.status_code == 200
    assert_refused_without_data(expired, demo, reason="expired")


def test_an_unknown_ticket_names_no_one(demo, token):
    response = Client().get("/connections/", {"ticket": "not-a-ticket-anyone-minted"}, **IN_FRAME)

    assert_refused_without_data(response, demo, reason="unknown", partner_named=False)
    assert demo.partner.name not in response.content.decode()


@pytest.mark.parametrize("ended", ["revoked", "expired", "merchant deactivated", "partner deactivated"])
def test_a_ticket_dies_with_its_session(demo, ended):
    with time_machine.travel(START, tick=False) as clock:
        token = open_session(demo.merchant)
        if ended == "expired":
            clock.shift(SESSION_TTL - dt.timedelta(seconds=30))
        url = mint(token, "/connections/")
        if ended == "revoked":
            EmbedSession.objects.update(revoked_at=timezone.now())
        elif ended == "expired":
            clock.shift(dt.timedelta(seconds=30))
        elif ended == "merchant deactivated":
            demo.merchant.is_active = False
            demo.merchant.save()
        else:
            demo.partner.is_active = False
            demo.partner.save()
        response = Client().get(url, **IN_FRAME)

    assert response.status_code == 401
    html = response.content.decode()
    assert "Your session has ended" in html
    assert_no_merchant_data(html, demo)
    reason = "inactive" if "deactivated" in ended else "expired"
    assert frame_config(html)["event"] == {"type": "session_expired", "reason": reason}


def test_a_ticket_moved_to_another_session_opens_nothing(demo, token):
    url = mint(token, "/connections/")
    other_token = open_session(demo.other_merchant)
    NavigationTicket.objects.filter(token_hash=hash_token(ticket_from(url))).update(
        session=EmbedSession.objects.get(token_hash=hash_token(other_token))
    )

    response = Client().get(url, **IN_FRAME)

    assert response.status_code == 401
    assert_no_merchant_data(response.content.decode(), demo)


def test_a_ticket_cannot_change_anything_and_stays_unspent(demo, token):
    connection = demo.runnable
    url = mint(token, f"/connections/{connection.id}/settings/")
    settings_page = Client().get(f"/connections/{connection.id}/settings/", **header(token))
    form = settings_page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    for name, value in list(data.items()):
        if hasattr(value, "strftime"):
            data[name] = value.strftime("%Y-%m-%dT%H:%M")
    before = sandbox_setting(connection.id, "SummaryTransactionGroupBy")
    data["SummaryTransactionGroupBy"] = "0" if before != "0" else "1"

    response = Client().post(url, data)

    assert response.status_code == 403
    assert "This change was not made" in response.content.decode()
    assert sandbox_setting(connection.id, "SummaryTransactionGroupBy") == before
    assert Client().get(url, **IN_FRAME).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_ticket_open_one_page():
    from connexportal.accounts.models import Merchant, Partner

    partner = Partner.objects.create(name="Racing Partner", embed_origins="https://app.partner.example")
    merchant = Merchant.objects.create(name="Racing Merchant", partner=partner)
    session, session_token = services.launch_exchange(token=launch_path(merchant).rsplit("/", 1)[1])
    ticket = services.navigation_ticket_create(session=session, session_token=session_token)
    attempts = 8
    start = threading.Barrier(attempts)
    results = []

    def redeem():
        try:
            start.wait()
            _session, opened_with = services.navigation_ticket_redeem(ticket=ticket)
            results.append("opened" if opened_with == session_token else "wrong token")
        except services.TicketRefused as exc:
            results.append(exc.reason.value)
        except OperationalError:
            results.append("locked")
        finally:
            db_connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("opened") == 1, results
    others = {result for result in results if result != "opened"}
    if db_connection.vendor == "sqlite":
        # The in-memory SQLite test database refuses a second writer at once instead of waiting.
        assert others <= {"used", "locked"}, results
    else:
        assert others == {"used"}, results


# --- A page loaded into the frame with nothing (a reload once the ticket is gone) ------------


def test_a_portal_page_reloaded_in_the_frame_tells_the_host_to_open_the_portal_again(demo, token):
    framed = Client().get("/products/", {"page": "2"}, **IN_FRAME)
    top_level = Client().get("/products/", {"page": "2"})

    assert_refused_without_data(framed, demo, reason="missing", partner_named=False)
    assert "Open the portal again from the software you use it in." in framed.content.decode()
    assert top_level.status_code == 302
    assert top_level["Location"].startswith("/login/")


def test_pages_outside_the_portal_loaded_in_a_frame_are_left_alone(demo):
    response = Client().get("/login/", **IN_FRAME)

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
