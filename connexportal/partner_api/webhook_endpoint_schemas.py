"""The webhook endpoint bodies (see webhook_endpoints.py), as pydantic models for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from connexportal.partner_api.schemas import RequestModel
from connexportal.webhooks.models import EventType

EventTypeName = Literal[tuple(EventType.values)]  # type: ignore[valid-type]
MAX_URL_LENGTH = 2000


def _no_control_characters(value: str) -> str:
    found = [char for char in value if unicodedata.category(char) == "Cc"]
    if found:
        raise ValueError(f"Must not contain control characters such as line breaks; found {found[0]!r}.")
    return value.strip()


class WebhookEndpointCreate(RequestModel):
    """Where to send your events (signed with Standard Webhooks), and which of them."""

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"format": "uri"},
        description=(
            "A public https URL. Its host must resolve to public addresses only; that is checked now and "
            "again before every delivery."
        ),
    )
    description: Annotated[str, AfterValidator(_no_control_characters)] = Field(
        default="", max_length=200, description="For you: what this endpoint is."
    )
    event_types: list[EventTypeName] = Field(
        default_factory=list,
        max_length=50,
        description="The event types to send here; empty (the default) for all of them. ping is always sent.",
    )


class WebhookEndpointOut(BaseModel):
    """One of your webhook endpoints. Its secret is never shown again after it is created or rotated."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    url: str
    description: str
    event_types: list[EventTypeName] = Field(description="The event types sent here; empty for all of them.")
    is_active: bool = Field(description="Nothing is sent to an endpoint that is not active.")
    previous_secret_expires_at: dt.datetime | None = Field(
        description="After a rotation: until when events are also signed with the previous secret; null otherwise."
    )
    created_at: dt.datetime


class WebhookEndpointWithSecret(WebhookEndpointOut):
    """An endpoint with its new signing secret: the only answer that ever holds it."""

    secret: str = Field(
        pattern=r"^whsec_[A-Za-z0-9+/]+=*$",
        description="The signing secret, whsec_ and base64, for a Standard Webhooks library. Shown this once.",
    )


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointOut]


class WebhookTestAccepted(BaseModel):
    """A ping event is queued for this endpoint; its delivery shows in the delivery log."""

    event_id: str = Field(json_schema_extra={"format": "uuid"}, description="The webhook-id the ping is sent with.")
    delivery_id: int = Field(description="The first delivery attempt's id.")
