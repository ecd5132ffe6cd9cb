"""Lifecycle events of a merchant's connections: recorded, and sent to the partner's webhook.

The portal's services call ``emit`` once Connex has accepted an action, and the run
watcher (portal/tasks.py) calls it when a run ends. Browser events (htmx triggers) are
separate: these are server-side and do not depend on anyone having the page open.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from connexportal.accounts.models import Merchant
from connexportal.webhooks.delivery import delivery_schedule
from connexportal.webhooks.models import EventType, WebhookEvent

__all__ = ["EventType", "emit", "webhooks_enabled"]


def webhooks_enabled(merchant: Merchant) -> bool:
    """Whether the merchant's events reach a webhook (an active partner with a webhook URL)."""
    partner = merchant.partner
    return partner is not None and partner.is_active and bool(partner.webhook_url)


def emit(
    event_type: EventType, *, merchant: Merchant, data: dict[str, Any], dedupe_key: str | None = None
) -> WebhookEvent | None:
    """Record an event and queue its webhook delivery; None when ``dedupe_key`` was emitted before.

    ``data`` must be JSON-ready and never hold a secret's value: it is stored and sent as is.
    """
    now = timezone.now()
    event_id = uuid.uuid4()
    partner = merchant.partner
    payload = {
        "id": str(event_id),
        "type": EventType(event_type).value,
        "created_at": now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "partner": partner.name if partner else None,
        "merchant": {"external_id": merchant.external_id or None, "name": merchant.name},
        "data": data,
    }
    fields = {"id": event_id, "type": payload["type"], "partner": partner, "merchant": merchant, "payload": payload}
    with transaction.atomic():
        if dedupe_key is None:
            event = WebhookEvent.objects.create(created_at=now, **fields)
        else:
            event, created = WebhookEvent.objects.get_or_create(
                dedupe_key=dedupe_key, defaults={"created_at": now, **fields}
            )
            if not created:
                return None
        if webhooks_enabled(merchant):
            delivery_schedule(event=event, attempt=1, at=now)
    return event
