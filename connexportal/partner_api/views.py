"""The partner API's merchant endpoints (merchants, activity, connections, products, embed sessions).

Thin: ninja has parsed and validated the request and checked the key; a view calls a
service and shapes the answer, and turns the services' errors into problems.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from ninja import Path, Query, Router, Status
from pydantic import MISSING, WithJsonSchema

from connexportal.accounts.models import Merchant
from connexportal.activity.models import ActivityAction, ActivityEntry
from connexportal.activity.services import Actor
from connexportal.partner_api import openapi, services
from connexportal.partner_api.http import JsonObjectBody
from connexportal.partner_api.idempotency import idempotent
from connexportal.partner_api.openapi import route
from connexportal.partner_api.paging import page_of
from connexportal.partner_api.problems import (
    CONNEX_FORBIDDEN,
    CONNEX_REFUSED,
    CONNEX_UNAVAILABLE,
    DUPLICATE_SKU,
    MERCHANT_EXISTS,
    MERCHANT_INACTIVE,
    NOT_FOUND,
    VALIDATION,
    ApiProblem,
    problem_response,
)
from connexportal.partner_api.schemas import (
    EXTERNAL_ID_PATTERN,
    ActivityActor,
    ActivityChange,
    ActivityEntryOut,
    ActivityListQuery,
    ActivityPage,
    ConnectionList,
    ConnectionOut,
    ConnexAccountOut,
    EmbedSessionCreate,
    EmbedSessionOut,
    MerchantCreate,
    MerchantListQuery,
    MerchantOut,
    MerchantPage,
    MerchantUpdate,
    ProductCreate,
    ProductOut,
)
from connexportal.portal import services as portal_services

router = Router()

# Not checked against the pattern: an id that cannot exist is simply not found.
ExternalIdPath = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": EXTERNAL_ID_PATTERN, "not": {"enum": [".", ".."]}}),
    Path(
        description="The partner's own id for the merchant: 1 to 100 letters, digits and . _ : @ -.",
        example="acme-001",
    ),
]


@contextmanager
def service_errors() -> Iterator[None]:
    try:
        yield
    except services.MerchantNotFound as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from None
    except services.MerchantExists as exc:
        raise ApiProblem(MERCHANT_EXISTS, f"{exc} Change it with PATCH instead.") from None
    except services.MerchantInactive as exc:
        raise ApiProblem(MERCHANT_INACTIVE, str(exc)) from None
    except services.CredentialsIncomplete as exc:
        errors = {f"connex.{name}": ["Required: the merchant has no Connex account yet."] for name in exc.missing}
        raise ApiProblem(VALIDATION, str(exc), errors=errors) from None
    except services.CredentialsRefused:
        refused = ["Connex refused this username and password."]
        raise ApiProblem(
            VALIDATION,
            "Connex refused the login with these credentials, so nothing was saved.",
            errors={"connex.username": refused, "connex.password": refused},
        ) from None


def merchant_out(merchant: Merchant) -> MerchantOut:
    account = getattr(merchant, "connex_account", None)
    return MerchantOut(
        external_id=merchant.external_id,
        name=merchant.name,
        timezone=merchant.timezone,
        currency=merchant.currency,
        is_active=merchant.is_active,
        connex=ConnexAccountOut(
            environment=account.environment, username=account.username, verified=account.is_verified
        )
        if account
        else None,
        created_at=merchant.created_at,
        updated_at=merchant.updated_at,
    )


@router.api_operation(**route("listMerchants"), url_name="merchants")
def merchant_list(request: HttpRequest, query: Query[MerchantListQuery]) -> MerchantPage:
    merchants = services.merchant_list(partner=request.auth.partner)
    page = page_of(request, merchants, page=query.page, page_size=query.page_size)
    return MerchantPage(
        items=[merchant_out(merchant) for merchant in page.items], pagination=page.pagination, links=page.links
    )


@router.api_operation(**route("createMerchant"), url_name="merchants")
@idempotent
def merchant_create(
    request: HttpRequest, body: Annotated[MerchantCreate, JsonObjectBody(...)], response: HttpResponse
) -> Status:
    credentials = None
    if body.connex is not MISSING:
        credentials = services.Credentials(
            environment=body.connex.environment,
            username=body.connex.username,
            password=body.connex.password.get_secret_value(),
        )
    with service_errors():
        merchant = services.merchant_create(
            partner=request.auth.partner,
            external_id=body.external_id,
            name=body.name,
            timezone_name=body.timezone,
            currency=body.currency,
            credentials=credentials,
            actor=Actor.from_request(request),
        )
    response["Location"] = request.build_absolute_uri(reverse("api:merchant", args=[body.external_id]))
    return Status(201, merchant_out(merchant))


@router.api_operation(**route("getMerchant"), url_name="merchant")
def merchant_get(request: HttpRequest, external_id: ExternalIdPath) -> MerchantOut:
    with service_errors():
        merchant = services.merchant_get(partner=request.auth.partner, external_id=external_id)
    return merchant_out(merchant)


@router.api_operation(**route("updateMerchant"), url_name="merchant")
def merchant_update(
    request: HttpRequest, external_id: ExternalIdPath, body: Annotated[MerchantUpdate, JsonObjectBody(...)]
) -> MerchantOut:
    changes = body.model_dump(exclude={"connex"})
    credential_changes = None
    if body.connex is not MISSING:
        credential_changes = {
            name: value.get_secret_value() if name == "password" else value
            for name, value in body.connex.model_dump().items()
        }
    with service_errors():
        merchant = services.merchant_update(
            partner=request.auth.partner,
            external_id=external_id,
            changes=changes,
            credential_changes=credential_changes,
            actor=Actor.from_request(request),
        )
    return merchant_out(merchant)


@router.api_operation(**route("deactivateMerchant"), url_name="merchant-deactivate")
def merchant_deactivate(request: HttpRequest, external_id: ExternalIdPath) -> MerchantOut:
    with service_errors():
        merchant = services.merchant_deactivate(
            partner=request.auth.partner, external_id=external_id, actor=Actor.from_request(request)
        )
    return merchant_out(merchant)


@router.api_operation(**route("createEmbedSession"), url_name="embed-sessions")
@idempotent
def embed_session_create(
    request: HttpRequest, body: Annotated[EmbedSessionCreate, JsonObjectBody(...)], response: HttpResponse
) -> Status:
    options = body.model_dump(exclude={"merchant_external_id"})
    with service_errors():
        path, expires_at = services.embed_launch_create(
            partner=request.auth.partner,
            external_id=body.merchant_external_id,
            user_email=options.get("user_email", ""),
            language=options.get("language", ""),
            ttl_seconds=options.get("ttl_seconds"),
        )
    return Status(201, EmbedSessionOut(url=request.build_absolute_uri(path), expires_at=expires_at))


@router.api_operation(**route("listMerchantActivity"), url_name="merchant-activity")
def merchant_activity_list(
    request: HttpRequest, external_id: ExternalIdPath, query: Query[ActivityListQuery]
) -> ActivityPage:
    with service_errors():
        entries = services.merchant_activity_list(partner=request.auth.partner, external_id=external_id)
    page = page_of(request, entries, page=query.page, page_size=query.page_size)
    return ActivityPage(
        items=[activity_entry_out(entry) for entry in page.items], pagination=page.pagination, links=page.links
    )


def activity_entry_out(entry: ActivityEntry) -> ActivityEntryOut:
    return ActivityEntryOut(
        id=entry.pk,
        created_at=entry.created_at,
        action=entry.action,
        action_label=_in_english(ActivityAction(entry.action).label),
        actor=ActivityActor(kind=entry.actor_kind, label=entry.actor_label),
        channel=entry.channel,
        target=entry.target,
        changes={field: ActivityChange(old=old, new=new) for field, old, new in entry.change_rows},
    )


def _in_english(label) -> str:
    # The API speaks English whatever Accept-Language asks for (see http.finish).
    with translation.override("en"):
        return str(label)


# How long a partner should wait before retrying a call Connex did not answer.
CONNEX_RETRY_AFTER_SECONDS = 30


def upstream_problem(exc: portal_services.UpstreamError) -> ApiProblem:
    """What Connex did, as a problem: field errors are the caller's to fix, 503s are worth a retry."""
    if isinstance(exc, portal_services.UpstreamForbidden):
        return ApiProblem(CONNEX_FORBIDDEN, exc.message)
    if exc.field_errors:
        return ApiProblem(VALIDATION, f"Connex refused some fields: {exc.message}", errors=exc.field_errors)
    if exc.retryable:
        return ApiProblem(CONNEX_UNAVAILABLE, exc.message, headers={"Retry-After": str(CONNEX_RETRY_AFTER_SECONDS)})
    return ApiProblem(CONNEX_REFUSED, exc.message)


def connection_out(connection: portal_services.ConnectionView) -> ConnectionOut:
    level, label = connection.health
    return ConnectionOut(
        id=connection.id,
        name=connection.name,
        channel=connection.channel,
        health=level,
        health_label=label,
        last_sync_at=connection.last_sync_at,
        next_sync_at=connection.next_run_at,
    )


def product_out(product: portal_services.ProductRow) -> ProductOut:
    def number(value) -> float | None:
        return float(value) if value is not None else None

    return ProductOut(
        id=product.id,
        connection_id=product.connection_id,
        connection_name=product.connection_name,
        name=product.name,
        sku=product.sku,
        description=product.description,
        product_type=product.product_type,
        sales_price=number(product.sales_price),
        unit_cost=number(product.unit_cost),
        average_cost=number(product.average_cost),
        quantity_on_hand=number(product.quantity_on_hand),
        is_manual=product.is_manual,
        created_at=product.created_at,
    )


@router.api_operation(**route("listMerchantConnections"), url_name="merchant-connections")
def merchant_connections_list(request: HttpRequest, external_id: ExternalIdPath) -> ConnectionList:
    with service_errors():
        merchant = services.merchant_get(partner=request.auth.partner, external_id=external_id)
    with translation.override("en"):
        result = portal_services.connections_list(merchant=merchant)
        # The portal may show a last known list; a partner gets Connex's answer or a reason to retry.
        if result.stale:
            raise upstream_problem(portal_services.UpstreamError(result.error or "", retryable=result.retryable))
        return ConnectionList(items=[connection_out(connection) for connection in result.connections])


@router.api_operation(**route("createProduct"), url_name="merchant-products")
@idempotent
def merchant_product_create(
    request: HttpRequest,
    external_id: ExternalIdPath,
    body: Annotated[ProductCreate, JsonObjectBody(...)],
    response: HttpResponse,
) -> Status:
    with service_errors():
        merchant = services.merchant_get(partner=request.auth.partner, external_id=external_id)
        if not merchant.is_active:
            raise services.MerchantInactive(external_id)
    with translation.override("en"):
        try:
            product = portal_services.product_create(
                merchant=merchant,
                connection_id=body.connection_id,
                values=body.product_values(),
                actor=Actor.from_request(request),
            )
        except portal_services.NotFound:
            raise ApiProblem(
                NOT_FOUND,
                f"The merchant {external_id!r} has no connection {body.connection_id}; "
                "list its connections to find their ids.",
            ) from None
        except portal_services.DuplicateSku as exc:
            existing = exc.existing
            raise ApiProblem(
                DUPLICATE_SKU,
                f"The merchant already has a product with SKU {existing.sku!r} (id {existing.id}); "
                "SKUs are compared without regard to case or surrounding spaces.",
                errors={"sku": [f"Already used by product {existing.id} ({existing.name or existing.sku})."]},
                extensions={"existing_product_id": existing.id},
            ) from None
        except portal_services.UpstreamError as exc:
            raise upstream_problem(exc) from None
    return Status(201, product_out(product))


def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "partner_api/docs.html", openapi.docs_context(request))


def not_found(request: HttpRequest, path: str) -> HttpResponse:
    """Anything else under /api/v1/ answers in JSON too, never with the site's HTML 404 page."""
    detail = f"There is no {request.path} in the partner API; the endpoints are listed at {reverse('api:docs')}."
    return problem_response(request, ApiProblem(NOT_FOUND, detail))
