"""Portal tests run against the real sandbox, in-process: the client's HTTP calls reach the
sandbox's views through Django's test Client (which keeps pytest-django's per-test
transaction intact), and every call is counted so tests can assert what a page costs."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import translation

# Imported before Django is set up when pytest is pointed at this folder: project modules
# that touch models are imported inside the fixtures.

SANDBOX_BASE = "http://testserver/sandbox"
DEMO_ACCOUNT = "qbotest@intuit.com"
OTHER_ACCOUNT = "other@connex.test"


class SandboxTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._client = Client()
        self.calls: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        headers = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.headers.items()
            if name.lower() not in {"host", "content-length", "content-type"}
        }
        # The nested request runs the whole middleware stack in this thread; keep the
        # outer request's language, as a real network hop would.
        with translation.override(translation.get_language()):
            response = self._client.generic(
                request.method,
                path,
                data=request.read(),
                content_type=request.headers.get("content-type", "application/octet-stream"),
                **headers,
            )
        self.calls.append((request.method, path.removeprefix("/sandbox/")))
        return httpx.Response(response.status_code, headers=list(response.items()), content=response.content)

    def reset(self) -> None:
        self.calls.clear()


@pytest.fixture
def sandbox(db, settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CONNEX_ENVIRONMENTS = {"sandbox": SANDBOX_BASE}
    settings.CONNEX_RATE_LIMIT = 0
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 0
    settings.CONNEX_SANDBOX_RUN_RUNNING_SECONDS = 0
    from connexportal.portal import upstream

    cache.clear()
    call_command("seed_demo", products=60, orders=80, stdout=io.StringIO())
    transport = SandboxTransport()
    with upstream.transport_override(transport):
        yield transport
    cache.clear()


@pytest.fixture
def merchant_client(sandbox):
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="merchant@demo.test"))
    return client


@pytest.fixture
def other_client(sandbox):
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="other@demo.test"))
    return client


def sandbox_connections(username: str):
    from connexportal.sandbox.models import UserConnection

    return list(UserConnection.objects.filter(user__username=username).order_by("id"))


def sandbox_setting(connection_id: int, name: str) -> str | None:
    from connexportal.sandbox.models import ConnectionSetting

    row = ConnectionSetting.objects.filter(connection_id=connection_id, name=name).first()
    return row.value if row else None


def rows_of(html: str) -> str:
    """The rows of a products or orders page's table ('' without one); each order's line items are inside its row."""
    found = re.search(r"<tbody>(.*?)</tbody>\s*</table>\s*</div>", html, re.DOTALL)
    return found.group(1) if found else ""
