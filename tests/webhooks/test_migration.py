"""The data migration: each partner's webhook URL and secret become one endpoint for every event."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks import Webhook

from connexportal.accounts import crypto

BEFORE = [("webhooks", "0003_webhook_endpoints")]
AFTER = [("webhooks", "0004_partner_webhook_to_endpoint")]


@pytest.mark.django_db(transaction=True)
def test_each_partner_webhook_becomes_an_endpoint_with_its_secret_as_whsec():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Partner = apps.get_model("accounts", "Partner")
    Merchant = apps.get_model("accounts", "Merchant")
    WebhookEvent = apps.get_model("webhooks", "WebhookEvent")
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")
    with_secret = Partner.objects.create(
        name="Acme", webhook_url="https://hooks.acme.example/connex", webhook_secret_encrypted=crypto.encrypt("s3cret")
    )
    without_secret = Partner.objects.create(name="Beta", webhook_url="https://hooks.beta.example/")
    Partner.objects.create(name="Gamma")
    merchant = Merchant.objects.create(name="Shop", partner=with_secret)
    event = WebhookEvent.objects.create(
        type="sync_started", partner=with_secret, merchant=merchant, payload={}, created_at="2026-01-01T00:00:00Z"
    )
    old_attempt = WebhookDelivery.objects.create(
        event=event, partner=with_secret, attempt=1, scheduled_at="2026-01-01T00:00:00Z"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")

    acme = WebhookEndpoint.objects.get(partner_id=with_secret.pk)
    secret = crypto.decrypt(acme.secret_encrypted)
    assert secret == "whsec_" + base64.b64encode(b"s3cret").decode()
    assert (acme.url, acme.event_types, acme.is_active) == ("https://hooks.acme.example/connex", [], True)
    # The same key bytes as before: Standard Webhooks decodes whsec_ back to b"s3cret".
    assert Webhook(secret)._whsecret == b"s3cret"
    beta = WebhookEndpoint.objects.get(partner_id=without_secret.pk)
    assert beta.is_active is False
    assert crypto.decrypt(beta.secret_encrypted).startswith("whsec_")
    assert WebhookEndpoint.objects.count() == 2
    assert WebhookDelivery.objects.get(pk=old_attempt.pk).endpoint_id == acme.pk
    # Later tests get the whole schema back.
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
