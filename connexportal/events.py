"""Lifecycle events of a merchant's connections: recorded, and sent to the partner's webhook endpoints.

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

from connexportal.accounts.models import Merchant, Partner
from connexportal.webhooks.delivery import delivery_schedule
from connexportal.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = ["EventType", "emit", "ping", "webhooks_enabled"]


def webhooks_enabled(merchant: Merchant) -> bool:
    """Whether the merchant's events reach a webhook (an active partner with an active endpoint)."""
    partner = merchant.partner
    return partner is not None and partner.is_active and partner.webhook_endpoints.filter(is_active=True).exists()


def _payload(
    event_id: uuid.UUID,
    event_type: str,
    now: dt.datetime,
    partner: Partner | None,
    merchant: Merchant | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    created_at = now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": str(event_id),
        "type": EventType(event_type).value,
        "created_at": created_at,
        # Standard Webhooks' recommended envelope is type, timestamp and data.
        "timestamp": created_at,
        "partner": partner.name if partner else None,
        "merchant": {"external_id": merchant.external_id or None, "name": merchant.name} if merchant else None,
        "data": data,
    }


def emit(
    event_type: EventType, *, merchant: Merchant, data: dict[str, Any], dedupe_key: str | None = None
) -> WebhookEvent | None:
    """Record an event and queue its webhook delivery; None when ``dedupe_key`` was emitted before.

    ``data`` must be JSON-ready and never hold a secret's value: it is stored and sent as is.
    """
    now = timezone.now()
    event_id = uuid.uuid4()
    partner = merchant.partner
    payload = _payload(event_id, event_type, now, partner, merchant, data)
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
        if partner is not None and partner.is_active:
            for endpoint in partner.webhook_endpoints.filter(is_active=True):
                if endpoint.subscribes_to(event.type):
                    delivery_schedule(event=event, endpoint=endpoint, attempt=1, at=now)
    return event


def ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Record a ``ping`` event and queue its delivery to ``endpoint`` alone; returns the first attempt."""
    now = timezone.now()
    event_id = uuid.uuid4()
    partner = endpoint.partner
    payload = _payload(event_id, EventType.PING, now, partner, None, {"endpoint_id": str(endpoint.pk)})
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            id=event_id, type=EventType.PING, partner=partner, merchant=None, payload=payload, created_at=now
        )
        return delivery_schedule(event=event, endpoint=endpoint, attempt=1, at=now)
