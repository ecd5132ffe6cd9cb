"""Logins: lockout after failed passwords (portal and admin), inactive merchants and partners, idle sessions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from connexportal.accounts.backends import client_ip
from connexportal.accounts.models import Merchant, Partner, User

pytestmark = pytest.mark.django_db

PASSWORD = "right-horse-battery-1"
CLIENT = "198.51.100.20"
ELSEWHERE = "198.51.100.99"
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def partner():
    return Partner.objects.create(name="Partner Co")


@pytest.fixture
def merchant(partner):
    return Merchant.objects.create(name="Acme Outdoor", partner=partner)


@pytest.fixture
def user(merchant):
    return User.objects.create_user(email="owner@acme.test", password=PASSWORD, merchant=merchant)


@pytest.fixture
def staff():
    return User.objects.create_superuser(email="staff@portal.test", password=PASSWORD)


def log_in(client, email, password, *, ip=CLIENT, url=None, **headers):
    return client.post(url or reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip, **headers)


def logged_in(client) -> bool:
    """Whether the client's session is logged in, asked the way a page would."""
    return client.get(reverse("home")).wsgi_request.user.is_authenticated


def fail(client, email, times, **kwargs):
    return [log_in(client, email, "wrong-password", **kwargs).status_code for _ in range(times)]


# --- Lockout ------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_from_that_address_even_with_the_right_password(client, user):
    assert fail(client, user.email, 4) == [200, 200, 200, 200]

    fifth = log_in(client, user.email, "wrong-password")
    assert fifth.status_code == 429
    assert fifth["Retry-After"] == "900"
    page = fifth.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes." in page
    assert user.email in page
    assert 'href="/password-reset/"' in page
    assert '<link rel="stylesheet" href="/static/css/portal.css">' in page

    right = log_in(client, user.email, PASSWORD)
    assert right.status_code == 429
    assert not logged_in(client)


def test_a_lockout_holds_only_that_account_from_that_address(client, user, merchant):
    other = User.objects.create_user(email="clerk@acme.test", password=PASSWORD, merchant=merchant)
    fail(client, user.email, 5)

    assert log_in(client, other.email, PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, user.email, PASSWORD, ip=ELSEWHERE).status_code == 302


def test_case_and_spaces_do_not_make_another_account(client, user):
    for spelling in ("OWNER@acme.test", " owner@ACME.test", "Owner@Acme.Test ", "owner@acme.test"):
        log_in(client, spelling, "wrong-password")

    assert log_in(client, "owner@acme.TEST", "wrong-password").status_code == 429
    assert AccessAttempt.objects.get().username == "owner@acme.test"


def test_logging_in_before_the_limit_starts_the_count_again(client, user):
    fail(client, user.email, 4)
    assert log_in(client, user.email, PASSWORD).status_code == 302
    client.logout()

    assert fail(client, user.email, 4) == [200, 200, 200, 200]
    assert log_in(client, user.email, PASSWORD).status_code == 302


def test_the_lockout_ends_fifteen_minutes_after_the_last_attempt(client, user):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        fail(client, user.email, 5)
        clock.shift(dt.timedelta(minutes=10))
        assert log_in(client, user.email, PASSWORD).status_code == 429, "an attempt while locked out"
        clock.shift(dt.timedelta(minutes=14))
        assert log_in(client, user.email, PASSWORD).status_code == 429, "...started the wait again"
        clock.shift(dt.timedelta(minutes=16))
        assert log_in(client, user.email, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_out_too(client, staff):
    admin_login = reverse("admin:login")
    assert fail(client, staff.email, 5, url=admin_login) == [200, 200, 200, 200, 429]

    locked = log_in(client, staff.email, PASSWORD, url=admin_login)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert f'href="{admin_login}"' in locked.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_failures_on_either_login_count_together(client, staff):
    fail(client, staff.email, 3)
    fail(client, staff.email, 2, url=reverse("admin:login"))

    assert log_in(client, staff.email, PASSWORD).status_code == 429


def test_failed_logins_and_lockouts_send_their_signals(client, user):
    failed, locked = [], []

    def on_failed(sender, credentials, request=None, **kwargs):
        failed.append(credentials["username"])

    def on_locked(sender, request, username, ip_address, **kwargs):
        locked.append((username, ip_address))

    user_login_failed.connect(on_failed)
    user_locked_out.connect(on_locked)
    try:
        fail(client, user.email, 6)
    finally:
        user_login_failed.disconnect(on_failed)
        user_locked_out.disconnect(on_locked)

    assert failed == [user.email] * 6
    assert locked == [(user.email, CLIENT)] * 2


def test_staff_unlock_an_account_with_axes_reset_username(client, user):
    fail(client, user.email, 5)

    call_command("axes_reset_username", user.email, stdout=None)

    assert log_in(client, user.email, PASSWORD).status_code == 302


def test_staff_see_and_delete_lockouts_in_the_admin(client, admin_client, user):
    fail(client, user.email, 5)
    changelist = reverse("admin:axes_accessattempt_changelist")

    page = admin_client.get(changelist)
    assert page.status_code == 200
    assert user.email in page.content.decode()

    attempt = AccessAttempt.objects.get()
    admin_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert log_in(client, user.email, PASSWORD).status_code == 302


# --- Which address a login comes from -------------------------------------------------------------


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(client, user):
    for spoofed in range(5):
        log_in(client, user.email, "wrong-password", HTTP_X_FORWARDED_FOR=f"203.0.113.{spoofed}")

    assert log_in(client, user.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77").status_code == 429


def test_behind_one_proxy_the_address_it_saw_counts(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for forged in range(5):
        log_in(client, user.email, "wrong-password", ip=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}, {CLIENT}")

    assert log_in(client, user.email, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=CLIENT).status_code == 429
    assert log_in(client, user.email, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.2"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "192.0.2.1, 203.0.113.5", "203.0.113.5"),
        (2, "192.0.2.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_ip(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


# --- Inactive merchants and partners ---------------------------------------------------------------


@pytest.mark.parametrize("deactivate", ["merchant", "partner", "user"])
def test_users_of_an_inactive_merchant_or_partner_cannot_log_in(client, user, deactivate):
    target = {"merchant": user.merchant, "partner": user.merchant.partner, "user": user}[deactivate]
    target.is_active = False
    target.save()

    refused = log_in(client, user.email, PASSWORD)

    assert refused.status_code == 200
    assert "Please enter a correct email address and password" in refused.content.decode()
    assert not logged_in(client)


@pytest.mark.parametrize("deactivate", ["merchant", "partner"])
def test_deactivating_a_merchant_or_partner_ends_its_users_sessions(client, user, deactivate):
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 302, "a merchant's home is their connections"

    target = user.merchant if deactivate == "merchant" else user.merchant.partner
    target.is_active = False
    target.save()

    assert not logged_in(client)
    assert client.get(reverse("portal:connections"))["Location"].startswith(reverse("login"))


def test_staff_without_a_merchant_still_log_in(client, staff):
    assert log_in(client, staff.email, PASSWORD).status_code == 302
    assert logged_in(client)


# --- Idle sessions ---------------------------------------------------------------------------------


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


def test_an_idle_session_ends_with_a_message_on_the_login_page(client, user, clock):
    log_in(client, user.email, PASSWORD)
    clock.shift(dt.timedelta(hours=2, seconds=1))

    response = client.get(reverse("portal:products") + "?q=tent")

    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/products/%3Fq%3Dtent"
    login_page = client.get(response["Location"])
    assert "You were logged out after a period of inactivity." in login_page.content.decode()
    assert not logged_in(client)


def test_activity_keeps_a_session_alive(client, user, clock):
    log_in(client, user.email, PASSWORD)
    for _ in range(6):
        clock.shift(dt.timedelta(minutes=90))
        assert logged_in(client)


def test_the_idle_timeout_is_configurable(client, user, clock, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    log_in(client, user.email, PASSWORD)
    clock.shift(dt.timedelta(minutes=9))
    assert logged_in(client)
    clock.shift(dt.timedelta(minutes=11))
    assert not logged_in(client)


def test_an_htmx_request_after_the_timeout_reloads_the_whole_page_on_login(client, user, clock):
    log_in(client, user.email, PASSWORD)
    clock.shift(dt.timedelta(hours=3))

    response = client.get(reverse("portal:products"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login") + "?next=/products/"


def test_a_form_post_after_the_timeout_goes_to_login_without_coming_back_to_post(client, user, clock):
    log_in(client, user.email, PASSWORD)
    clock.shift(dt.timedelta(hours=3))

    response = client.post(reverse("logout"))

    assert response["Location"] == reverse("login")


def test_page_views_write_the_session_at_most_once_a_minute(client, user, clock):
    log_in(client, user.email, PASSWORD)
    clock.shift(dt.timedelta(seconds=5))

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            client.get(reverse("home"))
            clock.shift(dt.timedelta(seconds=10))
    assert writes(queries) == []

    clock.shift(dt.timedelta(seconds=60))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert len(writes(queries)) == 1
    assert writes(queries)[0].startswith('UPDATE "django_session"')


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith(WRITE_STATEMENTS)]
