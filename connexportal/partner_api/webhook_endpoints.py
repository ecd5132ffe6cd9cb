"""Partner API: webhook endpoints (GET/POST /webhook-endpoints, GET/DELETE /webhook-endpoints/{id},
POST /webhook-endpoints/{id}/test and /rotate-secret).

A signing secret is in the answer that made it (creation, rotation) and nowhere else: not in
any later answer, and not in the idempotency store, so these calls take no Idempotency-Key.
"""

from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from ninja import Path, Router, Status
from pydantic import WithJsonSchema

from connexportal.activity.services import Actor
from connexportal.partner_api.http import JsonObjectBody
from connexportal.partner_api.openapi import route
from connexportal.partner_api.problems import (
    NOT_FOUND,
    VALIDATION,
    WEBHOOK_ENDPOINT_DISABLED,
    WEBHOOK_ENDPOINT_LIMIT,
    ApiProblem,
)
from connexportal.partner_api.webhook_endpoint_schemas import (
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointWithSecret,
    WebhookTestAccepted,
)
from connexportal.webhooks import endpoints as services
from connexportal.webhooks.models import WebhookEndpoint

router = Router()

EndpointIdPath = Annotated[
    str,
    WithJsonSchema({"type": "string", "format": "uuid"}),
    Path(
        alias="id",
        description="The endpoint's id, from the answer that created it or from the list.",
        example="0b9d6c1e-5f7a-4e0b-a3c2-7d41e8f6a915",
    ),
]


def endpoint_out(webhook_endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=str(webhook_endpoint.pk),
        url=webhook_endpoint.url,
        description=webhook_endpoint.description,
        event_types=webhook_endpoint.event_types,
        is_active=webhook_endpoint.is_active,
        previous_secret_expires_at=webhook_endpoint.previous_secret_expires_at,
        created_at=webhook_endpoint.created_at,
    )


def with_secret(webhook_endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**endpoint_out(webhook_endpoint).model_dump(), secret=secret)


def _get(partner, endpoint_id: str) -> WebhookEndpoint:
    try:
        return services.endpoint_get(partner=partner, endpoint_id=endpoint_id)
    except services.EndpointNotFound:
        raise _not_found(endpoint_id) from None


def _not_found(endpoint_id: str) -> ApiProblem:
    return ApiProblem(NOT_FOUND, f"You have no webhook endpoint {endpoint_id!r}; list them at /webhook-endpoints.")


@router.api_operation(**route("listWebhookEndpoints"), url_name="webhook-endpoints")
def endpoint_list(request: HttpRequest) -> WebhookEndpointList:
    return WebhookEndpointList(
        items=[endpoint_out(found) for found in services.endpoint_list(partner=request.auth.partner)]
    )


@router.api_operation(**route("createWebhookEndpoint"), url_name="webhook-endpoints")
def endpoint_create(
    request: HttpRequest, body: Annotated[WebhookEndpointCreate, JsonObjectBody(...)], response: HttpResponse
) -> Status:
    try:
        # Field messages from the model's validators (the URL policy among them), in the API's English.
        with translation.override("en"):
            created, secret = services.endpoint_create(
                partner=request.auth.partner,
                url=body.url,
                description=body.description,
                event_types=list(body.event_types),
                actor=Actor.from_request(request),
            )
    except services.EndpointLimit as exc:
        raise ApiProblem(
            WEBHOOK_ENDPOINT_LIMIT, f"A partner may have {exc.args[0]} webhook endpoints; delete one first."
        ) from None
    except ValidationError as exc:
        with translation.override("en"):
            errors = {field: [str(message) for message in messages] for field, messages in exc.message_dict.items()}
        count = len(errors)
        raise ApiProblem(
            VALIDATION,
            f"{count} field{'s' if count != 1 else ''} {'are' if count != 1 else 'is'} invalid; see errors.",
            errors=errors,
        ) from None
    response["Location"] = request.build_absolute_uri(reverse("api:webhook-endpoint", args=[created.pk]))
    return Status(201, with_secret(created, secret))


@router.api_operation(**route("getWebhookEndpoint"), url_name="webhook-endpoint")
def endpoint_get(request: HttpRequest, endpoint_id: EndpointIdPath) -> WebhookEndpointOut:
    return endpoint_out(_get(request.auth.partner, endpoint_id))


@router.api_operation(**route("deleteWebhookEndpoint"), url_name="webhook-endpoint")
def endpoint_delete(request: HttpRequest, endpoint_id: EndpointIdPath) -> Status:
    try:
        services.endpoint_delete(
            partner=request.auth.partner, endpoint_id=endpoint_id, actor=Actor.from_request(request)
        )
    except services.EndpointNotFound:
        raise _not_found(endpoint_id) from None
    return Status(204, None)


@router.api_operation(**route("testWebhookEndpoint"), url_name="webhook-endpoint-test")
def endpoint_test(request: HttpRequest, endpoint_id: EndpointIdPath) -> Status:
    try:
        delivery = services.endpoint_ping(partner=request.auth.partner, endpoint_id=endpoint_id)
    except services.EndpointNotFound:
        raise _not_found(endpoint_id) from None
    except services.EndpointDisabled:
        raise ApiProblem(
            WEBHOOK_ENDPOINT_DISABLED, f"The webhook endpoint {endpoint_id} is disabled, so nothing is sent to it."
        ) from None
    return Status(202, WebhookTestAccepted(event_id=str(delivery.event_id), delivery_id=delivery.pk))


@router.api_operation(**route("rotateWebhookEndpointSecret"), url_name="webhook-endpoint-rotate-secret")
def endpoint_secret_rotate(request: HttpRequest, endpoint_id: EndpointIdPath) -> WebhookEndpointWithSecret:
    try:
        rotated, secret = services.endpoint_rotate_secret(
            partner=request.auth.partner, endpoint_id=endpoint_id, actor=Actor.from_request(request)
        )
    except services.EndpointNotFound:
        raise _not_found(endpoint_id) from None
    return with_secret(rotated, secret)
