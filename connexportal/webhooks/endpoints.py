"""A partner's webhook endpoints: add, remove, rotate the secret, send a test event.

Every change is recorded in the activity trail. A secret is returned by the call that made it
and is unreadable afterwards except to the delivery worker (encrypted at rest).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import QuerySet

from connexportal import events
from connexportal.accounts.models import Partner
from connexportal.activity.models import ActivityAction
from connexportal.activity.services import Actor, activity_record
from connexportal.webhooks.models import WebhookDelivery, WebhookEndpoint, secret_generate

# Each endpoint multiplies every event's deliveries: a partner needs a few, not hundreds.
MAX_ENDPOINTS_PER_PARTNER = 10


class EndpointNotFound(Exception):
    """No endpoint with that id belongs to the partner."""


class EndpointDisabled(Exception):
    """The endpoint is disabled, so nothing is sent to it."""


class EndpointLimit(Exception):
    """The partner already has MAX_ENDPOINTS_PER_PARTNER endpoints."""


def endpoint_list(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=partner).order_by("created_at", "pk")


def endpoint_get(*, partner: Partner, endpoint_id: str) -> WebhookEndpoint:
    try:
        pk = uuid.UUID(endpoint_id)
    except ValueError:
        raise EndpointNotFound(endpoint_id) from None
    found = WebhookEndpoint.objects.filter(partner=partner, pk=pk).first()
    if found is None:
        raise EndpointNotFound(endpoint_id)
    return found


def endpoint_create(
    *, partner: Partner, url: str, description: str, event_types: list[str], actor: Actor
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with a new secret (returned beside it). The URL is checked against the
    address policy like any other webhook URL: django.core.exceptions.ValidationError by field."""
    if WebhookEndpoint.objects.filter(partner=partner).count() >= MAX_ENDPOINTS_PER_PARTNER:
        raise EndpointLimit(MAX_ENDPOINTS_PER_PARTNER)
    endpoint = WebhookEndpoint(
        partner=partner, url=url, description=description, event_types=list(dict.fromkeys(event_types))
    )
    secret = secret_generate()
    endpoint.set_secret(secret)
    endpoint.full_clean(exclude=["partner"])
    with transaction.atomic():
        endpoint.save()
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_CREATED,
            actor=actor,
            partner=partner,
            target=endpoint.url,
            detail={"endpoint_id": str(endpoint.pk), "event_types": endpoint.event_types or ["*"]},
        )
    return endpoint, secret


def endpoint_delete(*, partner: Partner, endpoint_id: str, actor: Actor) -> None:
    """Remove the endpoint: nothing more is sent to it; its delivery log stays (without the link)."""
    with transaction.atomic():
        endpoint = endpoint_get(partner=partner, endpoint_id=endpoint_id)
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_DELETED,
            actor=actor,
            partner=partner,
            target=endpoint.url,
            detail={"endpoint_id": str(endpoint.pk)},
        )
        endpoint.delete()


def endpoint_rotate_secret(*, partner: Partner, endpoint_id: str, actor: Actor) -> tuple[WebhookEndpoint, str]:
    """A new secret for the endpoint (returned); the old one keeps signing for SECRET_ROTATION_GRACE."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(
            pk=endpoint_get(partner=partner, endpoint_id=endpoint_id).pk
        )
        secret = endpoint.rotate_secret()
        endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at"])
        activity_record(
            action=ActivityAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
            actor=actor,
            partner=partner,
            target=endpoint.url,
            detail={
                "endpoint_id": str(endpoint.pk),
                "previous_valid_until": endpoint.previous_secret_expires_at.isoformat(),
            },
        )
    return endpoint, secret


def endpoint_ping(*, partner: Partner, endpoint_id: str) -> WebhookDelivery:
    """Queue a ``ping`` event to this endpoint alone; returns its first attempt."""
    endpoint = endpoint_get(partner=partner, endpoint_id=endpoint_id)
    if not endpoint.is_active:
        raise EndpointDisabled(endpoint_id)
    return events.ping(endpoint=endpoint)
