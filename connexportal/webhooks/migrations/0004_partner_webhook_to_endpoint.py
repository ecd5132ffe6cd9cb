"""Each partner's single webhook URL and secret become one endpoint for every event type.

The old secret (any text) becomes a Standard Webhooks secret as ``whsec_`` and the base64 of its
UTF-8 bytes, so the key stays the same bytes. A URL without a secret (or with one the
configured keys cannot decrypt) was never sent to: its endpoint is created disabled, with a
new secret, until the partner rotates it. The partner's
webhook_url and webhook_secret_encrypted columns are left as they were, unused from now on.
"""

import base64
import secrets

from django.db import migrations

from connexportal.accounts import crypto

DESCRIPTION = "Moved from the partner's webhook URL"


def forwards(apps, schema_editor):
    Partner = apps.get_model("accounts", "Partner")
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")
    for partner in Partner.objects.exclude(webhook_url=""):
        try:
            legacy = crypto.decrypt(partner.webhook_secret_encrypted) if partner.webhook_secret_encrypted else ""
        except crypto.SecretUnreadable:
            legacy = ""
        key = legacy.encode("utf-8") if legacy else secrets.token_bytes(32)
        endpoint = WebhookEndpoint.objects.create(
            partner=partner,
            url=partner.webhook_url,
            description=DESCRIPTION,
            event_types=[],
            secret_encrypted=crypto.encrypt("whsec_" + base64.b64encode(key).decode("ascii")),
            is_active=bool(legacy),
        )
        WebhookDelivery.objects.filter(partner=partner, endpoint=None).update(endpoint=endpoint)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_webhook_endpoints"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
