"""The demo partner app receives the portal's webhooks and verifies them with standardwebhooks;
seed_demo gives the demo partner an endpoint pointing at it."""

from __future__ import annotations

import io
import threading

import httpx
import pytest
from django.core.management import call_command

from connexportal import events
from connexportal.accounts.models import Merchant, Partner
from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_NAME, DEMO_WEBHOOK_SECRET
from connexportal.embed.demohost import DemoHost, DemoHostServer
from connexportal.webhooks.delivery import deliver
from connexportal.webhooks.models import DeliveryState, EventType, WebhookEndpoint
from tests.embed.webhooks import OTHER_SECRET, endpoint_for


@pytest.fixture
def demo_server():
    host = DemoHost(
        portal_url="http://127.0.0.1:8000", api_key="unused", merchants=(), webhook_secret=DEMO_WEBHOOK_SECRET
    )
    server = DemoHostServer(("127.0.0.1", 0), host, http=httpx.Client())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("secret", "state", "received"),
    [(DEMO_WEBHOOK_SECRET, DeliveryState.SUCCEEDED, 1), (OTHER_SECRET, DeliveryState.FAILED, 0)],
)
def test_the_demo_host_takes_only_events_that_verify(demo_server, settings, secret, state, received):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    partner = Partner.objects.create(name="Demo")
    endpoint_for(partner, f"http://localhost:{demo_server.server_address[1]}/webhooks", secret=secret)
    merchant = Merchant.objects.create(name="Shop", partner=partner, external_id="shop-1")
    event = events.emit(EventType.SYNC_STARTED, merchant=merchant, data={"run_id": 1})
    attempt = event.deliveries.get()
    deliver.call(attempt.pk)
    attempt.refresh_from_db()
    assert attempt.state == state
    assert attempt.status_code == (204 if received else 400)
    assert [received_event["id"] for received_event in demo_server.webhooks_received] == [str(event.pk)] * received


@pytest.mark.django_db
def test_seed_demo_points_the_demo_partners_endpoint_at_the_demo_host(settings):
    settings.DEBUG, settings.CONNEX_SANDBOX = True, False
    call_command("seed_demo", demo_host_port=8601, stdout=io.StringIO())
    assert not WebhookEndpoint.objects.exists()
    call_command("seed_demo", demo_host_port=8601, demo_host_webhooks=True, stdout=io.StringIO())
    call_command("seed_demo", demo_host_port=8601, demo_host_webhooks=True, stdout=io.StringIO())
    (endpoint,) = WebhookEndpoint.objects.filter(partner__name=DEMO_PARTNER_NAME)
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == ("http://localhost:8601/webhooks", [], True)
    assert endpoint.signing_secrets() == [DEMO_WEBHOOK_SECRET]
