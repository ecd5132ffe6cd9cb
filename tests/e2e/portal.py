"""The merchant pages in the browser: demo data behind a live server, logins, and what the tests read back.

pytest-django's ``live_server`` makes every test that uses it transactional, which flushes the
database after each test. The merchant pages need seeded demo data (two merchants, their sandbox
accounts, products, orders, run history), so their tests use a server of their own and seed once
per module instead; see ``portal_demo`` in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

SEEDED_PRODUCTS = 120
SEEDED_ORDERS = 120
# Long enough that the answer to the click still shows the run waiting on a loaded machine, short
# enough that the run is over by the page's first poll (every 2 s).
RUN_QUEUED_SECONDS = 1.5
RUN_RUNNING_SECONDS = 0.25


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    connex_username: str


MERCHANT = Login("merchant@demo.test", "demo-merchant", "qbotest@intuit.com")
OTHER = Login("other@demo.test", "demo-other", "other@connex.test")
# The first demo merchant's time zone: local times beside UTC ones are in it.
MERCHANT_ZONE = zoneinfo.ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Demo:
    """The seeded demo as the tests need it: where it is served and the ids of each merchant's connections."""

    url: str
    connections: dict[str, int]
    other_connections: dict[str, int]

    def settings_path(self, name: str) -> str:
        return f"/connections/{self.connections[name]}/settings/"


def portal_settings(server_url: str) -> override_settings:
    """The settings the merchant pages run under in these tests."""
    return override_settings(
        # The sandbox checks a password on every login and the portal on every form login: keep both cheap.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CONNEX_ENVIRONMENTS={**settings.CONNEX_ENVIRONMENTS, "sandbox": f"{server_url}/sandbox"},
        CONNEX_SANDBOX_RUN_QUEUED_SECONDS=RUN_QUEUED_SECONDS,
        CONNEX_SANDBOX_RUN_RUNNING_SECONDS=RUN_RUNNING_SECONDS,
    )


def seed_demo(server_url: str) -> Demo:
    from connexportal.sandbox.models import UserConnection

    cache.clear()
    # seed_demo refuses to run outside DEBUG; the pages themselves are served as production serves them.
    with override_settings(DEBUG=True):
        call_command("seed_demo", products=SEEDED_PRODUCTS, orders=SEEDED_ORDERS, stdout=io.StringIO())

    def connection_ids(login: Login) -> dict[str, int]:
        rows = UserConnection.objects.filter(user__username=login.connex_username).values_list("name", "pk")
        return dict(rows)

    return Demo(url=server_url, connections=connection_ids(MERCHANT), other_connections=connection_ids(OTHER))


FLUSH_ATTEMPTS = 5


def forget_demo() -> None:
    # The module's last page may still have a poll in the live server's thread (holding row locks
    # on PostgreSQL) when the module ends: a flush that collides with it waits and tries again.
    for attempt in range(FLUSH_ATTEMPTS):
        try:
            call_command("flush", interactive=False, verbosity=0)
            break
        except CommandError:
            if attempt == FLUSH_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
    cache.clear()


def session_cookie(login: Login, server_url: str) -> dict:
    """A logged-in session for ``login``, as a cookie for the browser: faster than the form, which has its own tests."""
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=login.email))
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": server_url}


def setting_value(connection_id: int, name: str) -> str:
    """A connection setting as the sandbox (Connex) holds it."""
    from connexportal.sandbox.models import ConnectionSetting

    return ConnectionSetting.objects.get(connection_id=connection_id, name=name).value


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
