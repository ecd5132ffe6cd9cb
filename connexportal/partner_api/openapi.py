"""What each partner API operation documents beyond its code, for ninja's OpenAPI document and the human docs.

ninja generates the OpenAPI 3.1 document (api.py) from the routes and the pydantic
models the endpoints validate and answer with. The table below gives each route its
method, path, status, response models and, through ``openapi_extra``, what models
cannot say (the problems behind each status, headers, examples); the human docs at
/api/v1/docs are rendered from the same table. A test checks every example against
its model and runs schemathesis against the generated document.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from pydantic import BaseModel

from connexportal.partner_api import idempotency, ratelimit
from connexportal.partner_api.order_import_schemas import (
    OrderImportAccepted,
    OrderImportCreate,
    OrderImportOut,
    OrderImportQuery,
)
from connexportal.partner_api.problems import (
    CONNEX_FORBIDDEN,
    CONNEX_REFUSED,
    CONNEX_UNAVAILABLE,
    DUPLICATE_SKU,
    IDEMPOTENCY_KEY_IN_USE,
    IDEMPOTENCY_KEY_REUSED,
    MALFORMED_REQUEST,
    MERCHANT_EXISTS,
    MERCHANT_INACTIVE,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    PROBLEM_KINDS,
    RATE_LIMITED,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    WEBHOOK_ENDPOINT_DISABLED,
    WEBHOOK_ENDPOINT_LIMIT,
    ProblemKind,
)
from connexportal.partner_api.schemas import (
    ActivityListQuery,
    ActivityPage,
    ConnectionList,
    EmbedSessionCreate,
    EmbedSessionOut,
    MerchantCreate,
    MerchantListQuery,
    MerchantOut,
    MerchantPage,
    MerchantUpdate,
    Problem,
    ProductCreate,
    ProductOut,
)
from connexportal.partner_api.webhook_endpoint_schemas import (
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointWithSecret,
    WebhookTestAccepted,
)

API_VERSION = "1.0.0"
SECURITY_SCHEME = "partnerApiKey"

AUTHENTICATED_PROBLEMS = (UNAUTHORIZED, RATE_LIMITED)
BODY_PROBLEMS = (MALFORMED_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, VALIDATION)
IDEMPOTENCY_PROBLEMS = (MALFORMED_REQUEST, IDEMPOTENCY_KEY_IN_USE, IDEMPOTENCY_KEY_REUSED)

EXAMPLE_MERCHANT = {
    "external_id": "acme-001",
    "name": "Acme Outdoor",
    "timezone": "America/New_York",
    "currency": "USD",
    "is_active": True,
    "connex": {"environment": "sandbox", "username": "books@acme.example", "verified": True},
    "created_at": "2026-03-02T14:05:09.120000Z",
    "updated_at": "2026-03-02T14:05:09.120000Z",
}
EXAMPLE_IMPORT_ID = "4f1c7a52-8a3e-4d55-9d0c-51c1e2f0b7aa"
EXAMPLE_IMPORT_URL = f"https://portal.example.com/api/v1/order-imports/{EXAMPLE_IMPORT_ID}"
EXAMPLE_ENDPOINT_ID = "0b9d6c1e-5f7a-4e0b-a3c2-7d41e8f6a915"
EXAMPLE_ENDPOINT = {
    "id": EXAMPLE_ENDPOINT_ID,
    "url": "https://hooks.partner.example/connex",
    "description": "Production receiver",
    "event_types": ["sync_finished", "sync_failed"],
    "is_active": True,
    "previous_secret_expires_at": None,
    "created_at": "2026-03-02T14:05:09.120000Z",
}
# The base64 of "an-example-secret-not-a-real-one".
EXAMPLE_SECRET = "whsec_YW4tZXhhbXBsZS1zZWNyZXQtbm90LWEtcmVhbC1vbmU="


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    status: int
    # None for an answer with no body (204).
    response: type[BaseModel] | None
    example_response: dict[str, Any] | None
    problems: tuple[ProblemKind, ...]
    body: type[BaseModel] | None = None
    example_body: dict[str, Any] | None = None
    query: type[BaseModel] | None = None
    example_query: str = ""
    takes_external_id: bool = False
    takes_import_id: bool = False
    takes_endpoint_id: bool = False
    idempotent: bool = False
    tag: str = "Merchants"

    @property
    def anchor(self) -> str:
        return self.operation_id

    @property
    def all_problems(self) -> tuple[ProblemKind, ...]:
        kinds = [*AUTHENTICATED_PROBLEMS, *self.problems]
        if self.body is not None:
            kinds.extend(BODY_PROBLEMS)
        if self.idempotent:
            kinds.extend(IDEMPOTENCY_PROBLEMS)
        return tuple(sorted(set(kinds), key=lambda kind: (kind.status, kind.slug)))


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="post",
        path="/merchants",
        operation_id="createMerchant",
        summary="Create a merchant",
        description=(
            "Creates a merchant under your partner, addressed from then on by your own external id. "
            "Connex credentials can be attached now or later; the password is write-only. "
            "Send an Idempotency-Key to make retries safe."
        ),
        status=201,
        response=MerchantOut,
        example_response=EXAMPLE_MERCHANT,
        problems=(MERCHANT_EXISTS,),
        body=MerchantCreate,
        example_body={
            "external_id": "acme-001",
            "name": "Acme Outdoor",
            "timezone": "America/New_York",
            "currency": "USD",
            "connex": {"environment": "sandbox", "username": "books@acme.example", "password": "their-connex-password"},
        },
        idempotent=True,
    ),
    Operation(
        method="get",
        path="/merchants",
        operation_id="listMerchants",
        summary="List merchants",
        description=(
            "Your merchants, oldest first, a page at a time: new merchants are added at the end, so pages "
            "already read do not shift. Follow links.next until it is null."
        ),
        status=200,
        response=MerchantPage,
        example_response={
            "items": [EXAMPLE_MERCHANT],
            "pagination": {"page": 1, "page_size": 50, "total_items": 1, "total_pages": 1},
            "links": {
                "self": "https://portal.example.com/api/v1/merchants?page=1&page_size=50",
                "first": "https://portal.example.com/api/v1/merchants?page=1&page_size=50",
                "last": "https://portal.example.com/api/v1/merchants?page=1&page_size=50",
                "prev": None,
                "next": None,
            },
        },
        problems=(VALIDATION,),
        query=MerchantListQuery,
        example_query="?page=1&page_size=50",
    ),
    Operation(
        method="get",
        path="/merchants/{external_id}",
        operation_id="getMerchant",
        summary="Get a merchant",
        description="One of your merchants, by your external id.",
        status=200,
        response=MerchantOut,
        example_response=EXAMPLE_MERCHANT,
        problems=(NOT_FOUND,),
        takes_external_id=True,
    ),
    Operation(
        method="patch",
        path="/merchants/{external_id}",
        operation_id="updateMerchant",
        summary="Update a merchant",
        description=(
            "Changes only the fields sent. Inside connex, too, only what is sent changes (for example a new "
            "password alone); a merchant without a Connex account needs all three. is_active true reactivates "
            "a deactivated merchant. The external id cannot change."
        ),
        status=200,
        response=MerchantOut,
        example_response={**EXAMPLE_MERCHANT, "name": "Acme Outdoor Co.", "updated_at": "2026-03-05T09:30:00Z"},
        problems=(NOT_FOUND,),
        body=MerchantUpdate,
        example_body={"name": "Acme Outdoor Co.", "connex": {"password": "the-new-connex-password"}},
        takes_external_id=True,
    ),
    Operation(
        method="post",
        path="/merchants/{external_id}/deactivate",
        operation_id="deactivateMerchant",
        summary="Deactivate a merchant",
        description=(
            "The merchant can no longer be embedded or used, and its open embed sessions end. Its data stays; "
            "PATCH is_active true brings it back. Deactivating an inactive merchant changes nothing. No body."
        ),
        status=200,
        response=MerchantOut,
        example_response={**EXAMPLE_MERCHANT, "is_active": False, "updated_at": "2026-03-09T17:45:00Z"},
        problems=(NOT_FOUND,),
        takes_external_id=True,
    ),
    Operation(
        method="get",
        path="/merchants/{external_id}/activity",
        operation_id="listMerchantActivity",
        summary="List a merchant's activity",
        description=(
            "What was done to or for one of your merchants, newest first: settings saved (old and new values), "
            "syncs started, Connex credentials changed or checked, the merchant created, changed or deactivated. "
            "Each entry says who did it (a merchant user, your user in the embedded portal, an API key, staff or "
            "the system) and through which channel. Secrets are recorded masked. Entries are kept for the "
            "retention period the portal is configured with (a year by default), then deleted."
        ),
        status=200,
        response=ActivityPage,
        example_response={
            "items": [
                {
                    "id": 4182,
                    "created_at": "2026-03-05T09:31:12.004000Z",
                    "action": "settings.saved",
                    "action_label": "Settings saved",
                    "actor": {"kind": "embedded", "label": "ana@acme.example"},
                    "channel": "embedded",
                    "target": "Shopify - Acme Outdoor",
                    "changes": {
                        "SummaryTransactionGroupBy": {"old": "0", "new": "2"},
                    },
                }
            ],
            "pagination": {"page": 1, "page_size": 50, "total_items": 1, "total_pages": 1},
            "links": {
                "self": "https://portal.example.com/api/v1/merchants/acme-001/activity?page=1&page_size=50",
                "first": "https://portal.example.com/api/v1/merchants/acme-001/activity?page=1&page_size=50",
                "last": "https://portal.example.com/api/v1/merchants/acme-001/activity?page=1&page_size=50",
                "prev": None,
                "next": None,
            },
        },
        problems=(NOT_FOUND, VALIDATION),
        query=ActivityListQuery,
        example_query="?page=1&page_size=50",
        takes_external_id=True,
    ),
    Operation(
        method="get",
        path="/merchants/{external_id}/connections",
        operation_id="listMerchantConnections",
        summary="List a merchant's connections",
        description=(
            "The merchant's connections (sales channels, QuickBooks, custom integrations) as Connex lists them "
            "now, with their health and last and next sync. A product is added to one of these, by id. "
            "When Connex cannot be reached the answer is a connex-unavailable problem with Retry-After, "
            "never an old list."
        ),
        status=200,
        response=ConnectionList,
        example_response={
            "items": [
                {
                    "id": 5,
                    "name": "Shopify - Acme Outdoor",
                    "channel": "Shopify",
                    "health": "ok",
                    "health_label": "Healthy",
                    "last_sync_at": "2026-03-05T05:46:02Z",
                    "next_sync_at": "2026-03-06T05:45:00Z",
                }
            ]
        },
        problems=(NOT_FOUND, CONNEX_REFUSED, CONNEX_UNAVAILABLE),
        takes_external_id=True,
        tag="Connections and products",
    ),
    Operation(
        method="post",
        path="/merchants/{external_id}/products",
        operation_id="createProduct",
        summary="Add a product",
        description=(
            "Adds a product to one of the merchant's connections (connection_id, from the connections list), "
            "with Connex's api/products/add fields in snake_case; amounts and quantities left out are 0. "
            "The SKU must be new to the merchant's Connex account, compared without regard to case or "
            "surrounding spaces: otherwise the answer is a duplicate-sku problem whose existing_product_id "
            "names the product that has it. Another merchant's connection is not found. Connex's demo "
            "account cannot add products (connex-forbidden). Send an Idempotency-Key: if a call ends in "
            "connex-unavailable the product may still have been added, and a retry then answers duplicate-sku."
        ),
        status=201,
        response=ProductOut,
        example_response={
            "id": 133421,
            "connection_id": 5,
            "connection_name": "Shopify - Acme Outdoor",
            "name": "Trail Mug",
            "sku": "MUG-TRAIL-01",
            "description": "Enamel mug, 350 ml",
            "product_type": 0,
            "sales_price": 14.5,
            "unit_cost": 4.25,
            "average_cost": 0.0,
            "quantity_on_hand": 12.0,
            "is_manual": True,
            "created_at": "2026-03-05T09:40:11Z",
        },
        problems=(NOT_FOUND, MERCHANT_INACTIVE, DUPLICATE_SKU, CONNEX_FORBIDDEN, CONNEX_REFUSED, CONNEX_UNAVAILABLE),
        body=ProductCreate,
        example_body={
            "connection_id": 5,
            "name": "Trail Mug",
            "sku": "MUG-TRAIL-01",
            "description": "Enamel mug, 350 ml",
            "product_type": 0,
            "sales_price": 14.5,
            "unit_cost": 4.25,
            "quantity_on_hand": 12,
            "time_until_restock": 5,
            "image_urls": ["https://images.example.com/mug.jpg"],
        },
        takes_external_id=True,
        idempotent=True,
        tag="Connections and products",
    ),
    Operation(
        method="post",
        path="/merchants/{external_id}/order-imports",
        operation_id="createOrderImport",
        summary="Import orders",
        description=(
            "Sends up to 10,000 orders to Connex on one of the merchant's connections, as a background job. "
            "Every order is checked first with Connex's createorders rules: if any is invalid, nothing is "
            "imported and the 422 lists the problems per order and field (orders.<index>.<Field>). Keys may "
            "be in any casing; ReportingUserId and UserConnectionId are filled in by the portal. Orders Connex "
            "already has (same order number) are skipped, and retries never duplicate an order. Follow "
            "status_url; an order_import.finished webhook is sent at the end. Send an Idempotency-Key."
        ),
        status=202,
        response=OrderImportAccepted,
        example_response={
            "id": EXAMPLE_IMPORT_ID,
            "status": "queued",
            "status_url": EXAMPLE_IMPORT_URL,
        },
        problems=(NOT_FOUND, CONNEX_UNAVAILABLE),
        body=OrderImportCreate,
        example_body={
            "connection_id": 5,
            "orders": [
                {
                    "OrderNumber": "WEB-1001",
                    "OrderDate": "2026-03-02T14:05:00Z",
                    "CustomerName": "Joe Example",
                    "OrderTotal": 24.5,
                    "TotalTax": 1.5,
                    "OrderType": 0,
                    "OrderDetails": [{"Name": "My Product", "Sku": "Product123", "Quantity": 2, "PriceExclTax": 11.5}],
                }
            ],
        },
        takes_external_id=True,
        idempotent=True,
        tag="Order imports",
    ),
    Operation(
        method="get",
        path="/order-imports/{id}",
        operation_id="getOrderImport",
        summary="Get an order import's progress",
        description=(
            "Counts so far (created, already_existed, failed, cancelled, remaining) and one page of the "
            "failed orders with the reason. Poll until status is finished, failed or cancelled; the "
            "order_import.finished webhook also says when it ends."
        ),
        status=200,
        response=OrderImportOut,
        example_response={
            "id": EXAMPLE_IMPORT_ID,
            "status": "finished",
            "connection_id": 5,
            "total": 3,
            "created": 1,
            "already_existed": 1,
            "failed": 1,
            "cancelled": 0,
            "remaining": 0,
            "error": "",
            "created_at": "2026-03-02T14:05:09.120000Z",
            "started_at": "2026-03-02T14:05:10.004000Z",
            "finished_at": "2026-03-02T14:05:12.310000Z",
            "failures": [{"row": 3, "order_number": "WEB-1003", "reason": "OrderTotal: The value is not a number."}],
            "pagination": {"page": 1, "page_size": 50, "total_items": 1, "total_pages": 1},
            "links": {
                "self": EXAMPLE_IMPORT_URL + "?page=1&page_size=50",
                "first": EXAMPLE_IMPORT_URL + "?page=1&page_size=50",
                "last": EXAMPLE_IMPORT_URL + "?page=1&page_size=50",
                "prev": None,
                "next": None,
            },
        },
        problems=(NOT_FOUND, VALIDATION),
        query=OrderImportQuery,
        example_query="?page=1&page_size=50",
        takes_import_id=True,
        tag="Order imports",
    ),
    Operation(
        method="post",
        path="/embed-sessions",
        operation_id="createEmbedSession",
        summary="Create an embed session",
        description=(
            "A launch URL for one of your active merchants: open it in the iframe. It works once, is bound "
            "to your partner and that merchant, and expires after ttl_seconds (at most 600, the default). "
            "Mint one each time a user opens the page, and never share it."
        ),
        status=201,
        response=EmbedSessionOut,
        example_response={
            "url": "https://portal.example.com/embed/launch/Zk3v0c1x9R2u7YyA6m8QqH4tJbW5nLdE-pGs0aKfT2o",
            "expires_at": "2026-03-02T14:15:09.120000Z",
        },
        problems=(NOT_FOUND, MERCHANT_INACTIVE),
        body=EmbedSessionCreate,
        example_body={
            "merchant_external_id": "acme-001",
            "user_email": "ana@acme.example",
            "language": "es",
            "ttl_seconds": 300,
        },
        idempotent=True,
        tag="Embed sessions",
    ),
)


WEBHOOK_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="post",
        path="/webhook-endpoints",
        operation_id="createWebhookEndpoint",
        summary="Add a webhook endpoint",
        description=(
            "Events are POSTed to this URL, signed as Standard Webhooks says (webhook-id, webhook-timestamp, "
            "webhook-signature), with the secret in this answer: it is shown this once, so store it now. "
            "The URL must be https and resolve to public addresses only (422 otherwise). "
            "Not idempotent, because the answer holds a secret that is never stored to replay: "
            "list your endpoints before retrying."
        ),
        status=201,
        response=WebhookEndpointWithSecret,
        example_response={**EXAMPLE_ENDPOINT, "secret": EXAMPLE_SECRET},
        problems=(WEBHOOK_ENDPOINT_LIMIT,),
        body=WebhookEndpointCreate,
        example_body={
            "url": "https://hooks.partner.example/connex",
            "description": "Production receiver",
            "event_types": ["sync_finished", "sync_failed"],
        },
        tag="Webhooks",
    ),
    Operation(
        method="get",
        path="/webhook-endpoints",
        operation_id="listWebhookEndpoints",
        summary="List webhook endpoints",
        description="Your webhook endpoints, oldest first. Secrets are never listed.",
        status=200,
        response=WebhookEndpointList,
        example_response={"items": [EXAMPLE_ENDPOINT]},
        problems=(),
        tag="Webhooks",
    ),
    Operation(
        method="get",
        path="/webhook-endpoints/{id}",
        operation_id="getWebhookEndpoint",
        summary="Get a webhook endpoint",
        description="One of your webhook endpoints, without its secret.",
        status=200,
        response=WebhookEndpointOut,
        example_response=EXAMPLE_ENDPOINT,
        problems=(NOT_FOUND,),
        takes_endpoint_id=True,
        tag="Webhooks",
    ),
    Operation(
        method="delete",
        path="/webhook-endpoints/{id}",
        operation_id="deleteWebhookEndpoint",
        summary="Delete a webhook endpoint",
        description="Nothing more is sent to it, retries of earlier events included.",
        status=204,
        response=None,
        example_response=None,
        problems=(NOT_FOUND,),
        takes_endpoint_id=True,
        tag="Webhooks",
    ),
    Operation(
        method="post",
        path="/webhook-endpoints/{id}/test",
        operation_id="testWebhookEndpoint",
        summary="Send a test event",
        description=(
            "Queues a ping event for this endpoint alone, whatever types it subscribes to, signed and retried "
            'like any other event. Its data is {"endpoint_id": ...}; merchant is null.'
        ),
        status=202,
        response=WebhookTestAccepted,
        example_response={"event_id": "7c0f4a9e-2b61-4d8a-9f15-3e6b2c8d1a47", "delivery_id": 1042},
        problems=(NOT_FOUND, WEBHOOK_ENDPOINT_DISABLED),
        takes_endpoint_id=True,
        tag="Webhooks",
    ),
    Operation(
        method="post",
        path="/webhook-endpoints/{id}/rotate-secret",
        operation_id="rotateWebhookEndpointSecret",
        summary="Rotate the signing secret",
        description=(
            "A new secret, in this answer only. For the next 24 hours every event is signed with both the new "
            "and the previous secret (two signatures in webhook-signature), so switch your receiver to the new "
            "one within that time; after previous_secret_expires_at only the new one signs."
        ),
        status=200,
        response=WebhookEndpointWithSecret,
        example_response={
            **EXAMPLE_ENDPOINT,
            "previous_secret_expires_at": "2026-03-03T14:05:09.120000Z",
            "secret": EXAMPLE_SECRET,
        },
        problems=(NOT_FOUND,),
        takes_endpoint_id=True,
        tag="Webhooks",
    ),
)
OPERATIONS = OPERATIONS + WEBHOOK_OPERATIONS


def _rate_limit_headers() -> dict[str, Any]:
    return {
        "RateLimit-Limit": {"description": "Requests allowed per window.", "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "Requests left in this window.", "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "Seconds until the window resets.", "schema": {"type": "integer"}},
    }


def _problem_response_extra(kinds: list[ProblemKind]) -> dict[str, Any]:
    """What ninja cannot read from ``response={status: Problem}``: which problems a status means, and their headers."""
    extra: dict[str, Any] = {"description": " / ".join(f"{kind.title}: {kind.explanation}" for kind in kinds)}
    headers = {}
    if UNAUTHORIZED in kinds:
        headers["WWW-Authenticate"] = {
            "description": "The Bearer challenge.",
            "schema": {"type": "string"},
            "required": True,
        }
    if RATE_LIMITED in kinds or CONNEX_UNAVAILABLE in kinds:
        headers["Retry-After"] = {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
            "required": True,
        }
    if headers:
        extra["headers"] = headers
    return extra


IDEMPOTENCY_KEY_PARAMETER = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Any unique string (a UUID is ideal). A retry with the same key and the same body gets the "
        "first answer (with Idempotent-Replayed: true) instead of creating a second one; "
        "the same key with another body is refused. Kept for 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
}
LOCATION_HEADERS = {
    "createMerchant": "The new merchant's URL.",
    "createWebhookEndpoint": "The new endpoint's URL.",
    "createOrderImport": "The import's status URL (status_url).",
}


def route(operation_id: str) -> dict[str, Any]:
    """The ninja route arguments of one operation: method, path, response models and what ninja adds to them.

    ninja generates the document from these and from the view's signature (body, query and path
    parameters from the pydantic models); ``openapi_extra`` adds the examples, the problem kinds
    behind each status and the headers, which no model states.
    """
    operation = next(found for found in OPERATIONS if found.operation_id == operation_id)
    by_status: dict[int, list[ProblemKind]] = {}
    for kind in operation.all_problems:
        by_status.setdefault(kind.status, []).append(kind)
    success: dict[str, Any] = {"headers": _rate_limit_headers()}
    if operation.response is not None:
        success["content"] = {"application/json": {"example": operation.example_response}}
    if operation.operation_id in LOCATION_HEADERS:
        success["headers"]["Location"] = {
            "description": LOCATION_HEADERS[operation.operation_id],
            "schema": {"type": "string"},
        }
    extra: dict[str, Any] = {
        "responses": {
            operation.status: success,
            **{status: _problem_response_extra(kinds) for status, kinds in by_status.items()},
        }
    }
    if operation.body is not None:
        extra["requestBody"] = {"content": {"application/json": {"example": operation.example_body}}}
    if operation.idempotent:
        extra["parameters"] = [IDEMPOTENCY_KEY_PARAMETER]
    return {
        "methods": [operation.method.upper()],
        "path": operation.path,
        "response": {operation.status: operation.response, **dict.fromkeys(sorted(by_status), Problem)},
        "operation_id": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "openapi_extra": extra,
    }


TAGS = [
    {"name": "Merchants", "description": "Your merchants, addressed by your own external id."},
    {"name": "Embed sessions", "description": "Single-use launch URLs for the embedded portal."},
    {"name": "Order imports", "description": "Orders sent to Connex in bulk, as a background job."},
    {"name": "Connections and products", "description": "Merchants' connections, and their products."},
    {"name": "Webhooks", "description": "Where your merchants' events are sent, signed (Standard Webhooks)."},
    {"name": "Documentation", "description": "This API, described."},
]


def api_description() -> str:
    return (
        "Server-to-server API for partners: provision merchants, mint embed sessions, list merchants' "
        "connections and add products to them, and choose where their events are sent as webhooks. "
        "Authenticate with your API key as a Bearer token. Errors are RFC 9457 problem details. "
        f"Each key may make {settings.PARTNER_API_RATE_LIMIT} requests per "
        f"{ratelimit.WINDOW_SECONDS} seconds. Human docs: /api/v1/docs."
    )


# --- The human docs -------------------------------------------------------------------------


def _curl(operation: Operation, base_url: str) -> str:
    path = operation.path.replace("{external_id}", "acme-001")
    path = path.replace("{id}", EXAMPLE_ENDPOINT_ID if operation.takes_endpoint_id else EXAMPLE_IMPORT_ID)
    lines = [f"curl -sS -X {operation.method.upper()} {shlex.quote(base_url + path + operation.example_query)}"]
    lines.append('-H "Authorization: Bearer $CONNEX_PORTAL_API_KEY"')
    if operation.idempotent:
        # A fixed UUID keeps the example copyable anywhere; the docs say to send a new one per request.
        lines.append("-H 'Idempotency-Key: 5b0e7f3c-9d2a-4c61-8f47-2e1a6c9b0d35'")
    if operation.example_body is not None:
        lines.append("-H 'Content-Type: application/json'")
        lines.append("-d " + shlex.quote(json.dumps(operation.example_body)))
    return " \\\n  ".join(lines)


def _fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The body's fields as rows (nested objects as dotted names), for the docs' tables."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})

    def rows(node: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
        found = []
        required = set(node.get("required", []))
        for name, field in node.get("properties", {}).items():
            target = definitions[field["$ref"].rsplit("/", 1)[1]] if "$ref" in field else field
            constraints = [
                f"{label} {', '.join(field[key]) if isinstance(field[key], list) else field[key]}"
                for key, label in (
                    ("minLength", "min length"),
                    ("maxLength", "max length"),
                    ("minimum", "min"),
                    ("maximum", "max"),
                    ("enum", "one of"),
                    ("default", "default"),
                )
                if key in field
            ]
            found.append(
                {
                    "name": prefix + name,
                    "type": "object" if "$ref" in field else field.get("type", ""),
                    "required": name in required,
                    "description": field.get("description") or target.get("description", ""),
                    "constraints": "; ".join(constraints),
                }
            )
            if "$ref" in field:
                found.extend(rows(target, f"{prefix}{name}."))
        return found

    return rows(schema, "")


def docs_context(request: HttpRequest) -> dict[str, Any]:
    base_url = request.build_absolute_uri("/api/v1").rstrip("/")
    operations = [
        {
            "anchor": operation.anchor,
            "method": operation.method.upper(),
            "path": "/api/v1" + operation.path,
            "summary": operation.summary,
            "description": operation.description,
            "fields": _fields(operation.body) if operation.body is not None else [],
            "query": _fields(operation.query) if operation.query is not None else [],
            "idempotent": operation.idempotent,
            "curl": _curl(operation, base_url),
            "status": operation.status,
            "example_response": json.dumps(operation.example_response, indent=2)
            if operation.example_response is not None
            else "",
            "problems": operation.all_problems,
        }
        for operation in OPERATIONS
    ]
    return {
        "operations": operations,
        "problem_kinds": sorted(PROBLEM_KINDS, key=lambda kind: (kind.status, kind.slug)),
        "base_url": base_url,
        "openapi_url": reverse("api:openapi"),
        "rate_limit": settings.PARTNER_API_RATE_LIMIT,
        "rate_window": ratelimit.WINDOW_SECONDS,
        "idempotency_hours": int(idempotency.KEPT_FOR.total_seconds() // 3600),
        "example_problem": json.dumps(
            {
                "type": request.build_absolute_uri(reverse("api:docs")) + "#problem-validation-error",
                "title": VALIDATION.title,
                "status": VALIDATION.status,
                "detail": "2 fields are invalid; see errors.",
                "errors": {
                    "timezone": [
                        "'Mars/Olympus' is not an IANA time zone name; write it like America/New_York or UTC."
                    ],
                    "connex.environment": [
                        "Name the Connex environment (production, staging, sandbox), not a URL: "
                        "each environment's address is configured on the server."
                    ],
                },
            },
            indent=2,
        ),
        "nav": "api",
    }
