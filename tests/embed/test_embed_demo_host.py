"""The demo partner app (`manage.py run_demo_host`): mints launch URLs through the partner API, serves its page."""

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_KEY
from connexportal.embed.demohost import DemoHost, DemoHostServer, MintError, launch_url_mint
from tests.embed.embedding import demo_data
from tests.portal.conftest import sandbox  # noqa: F401 - a fixture
from tests.wsgi import in_test_wsgi_app

PORTAL = "http://testserver"
MERCHANTS = ("demo-merchant-1", "demo-merchant-2")


@pytest.fixture
def demo(sandbox):  # noqa: F811
    return demo_data()


def demo_host(api_key: str = DEMO_PARTNER_KEY) -> DemoHost:
    return DemoHost(portal_url=PORTAL, api_key=api_key, merchants=MERCHANTS)


def portal_api() -> httpx.Client:
    """The real partner API, in this thread (so in the test's transaction)."""
    return httpx.Client(transport=httpx.WSGITransport(app=in_test_wsgi_app), base_url=PORTAL)


@pytest.mark.django_db
def test_mints_a_launch_url_through_the_partner_api(demo):
    with portal_api() as http:
        session = launch_url_mint(demo_host(), merchant="demo-merchant-2", language="es", http=http)

    assert session["url"].startswith(f"{PORTAL}/embed/launch/")
    assert session["expires_at"]
    from connexportal.embed.models import EmbedLaunch

    launch = EmbedLaunch.objects.get()
    assert (launch.merchant, launch.language, launch.user_email) == (
        demo.other_merchant,
        "es",
        "demo.user@partner.example",
    )
    opened = Client().get(session["url"].removeprefix(PORTAL))
    assert opened.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("api_key", "merchant", "expected"),
    [
        ("cxp_wrong_key", "demo-merchant-1", "HTTP 401"),
        (DEMO_PARTNER_KEY, "no-such-merchant", "HTTP 404"),
    ],
)
def test_says_why_the_partner_api_refused(demo, api_key, merchant, expected):
    with portal_api() as http, pytest.raises(MintError, match=expected):
        launch_url_mint(demo_host(api_key), merchant=merchant, language="", http=http)


def test_says_when_the_portal_does_not_answer():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http, pytest.raises(MintError, match="did not answer"):
        launch_url_mint(demo_host(), merchant="demo-merchant-1", language="", http=http)


# --- The server, with the partner API stood in for ------------------------------------------


class FakeApi:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 201

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 201:
            return httpx.Response(self.status, json={"detail": "Nope, for a reason."})
        body = {"url": f"{PORTAL}/embed/launch/abc", "expires_at": "2026-11-02T09:40:00Z"}
        return httpx.Response(201, json=body)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def server(api: FakeApi) -> Iterator[str]:
    http = httpx.Client(transport=httpx.MockTransport(api))
    server = DemoHostServer(("127.0.0.1", 0), demo_host(), http=http)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    http.close()


def test_page_embeds_the_portal_with_its_script_and_a_strict_policy(server):
    response = httpx.get(f"{server}/")

    assert response.status_code == 200
    assert f'<script src="{PORTAL}/static/connex-embed.js" defer></script>' in response.text
    assert '<script src="/host.js" defer></script>' in response.text
    for merchant in MERCHANTS:
        assert f'<option value="{merchant}">' in response.text
    policy = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' {PORTAL};" in policy
    assert f"frame-src {PORTAL};" in policy
    assert "frame-ancestors 'none'" in policy
    assert httpx.get(f"{server}/host.js").headers["Content-Type"].startswith("text/javascript")
    assert httpx.get(f"{server}/elsewhere").status_code == 404


def test_sessions_are_minted_with_the_key_held_by_the_server(server, api):
    response = httpx.post(f"{server}/sessions", json={"merchant": "demo-merchant-1", "language": "fr"})

    assert response.status_code == 201
    assert response.json() == {"url": f"{PORTAL}/embed/launch/abc", "expires_at": "2026-11-02T09:40:00Z"}
    (request,) = api.requests
    assert str(request.url) == f"{PORTAL}/api/v1/embed-sessions"
    assert request.headers["Authorization"] == f"Bearer {DEMO_PARTNER_KEY}"
    assert json.loads(request.content) == {
        "merchant_external_id": "demo-merchant-1",
        "user_email": "demo.user@partner.example",
        "language": "fr",
    }
    assert DEMO_PARTNER_KEY not in httpx.get(f"{server}/").text


def test_a_refusal_of_the_api_reaches_the_page(server, api):
    api.status = 404

    response = httpx.post(f"{server}/sessions", json={"merchant": "demo-merchant-1"})

    assert response.status_code == 502
    assert response.json() == {"error": "The partner API refused (HTTP 404): Nope, for a reason."}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"merchant": "demo-merchant-1"}', "application/x-www-form-urlencoded", 415),
        ("not json", "application/json", 400),
        ('{"merchant": "someone-else"}', "application/json", 400),
        ('{"merchant": "demo-merchant-1", "language": "de"}', "application/json", 400),
    ],
)
def test_only_json_for_the_demo_merchants_is_accepted(server, api, body, content_type, status):
    response = httpx.post(f"{server}/sessions", content=body, headers={"Content-Type": content_type})

    assert response.status_code == status
    assert api.requests == []


def test_command_says_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}"):
            call_command("run_demo_host", "--port", str(port))
