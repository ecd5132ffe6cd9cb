"""Partner API: order imports (POST /merchants/{external_id}/order-imports, GET /order-imports/{id}).

The orders are checked with the same rules as the portal's import page; any invalid
order refuses the whole request (422, errors per order and field), so a partner never
gets a half import by surprise. The import then runs as the same job as the page's.
"""

import uuid
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from ninja import Path, Query, Router, Status
from pydantic import WithJsonSchema

from connexportal.activity.services import Actor
from connexportal.imports import services, tasks
from connexportal.imports.models import ImportSource, ImportStatus, OrderImport
from connexportal.imports.orders import check_orders
from connexportal.partner_api import services as api_services
from connexportal.partner_api.http import JsonObjectBody, bulk_body
from connexportal.partner_api.idempotency import idempotent
from connexportal.partner_api.openapi import route
from connexportal.partner_api.order_import_schemas import (
    OrderImportAccepted,
    OrderImportCreate,
    OrderImportFailure,
    OrderImportOut,
    OrderImportQuery,
)
from connexportal.partner_api.paging import page_of
from connexportal.partner_api.problems import CONNEX_UNAVAILABLE, NOT_FOUND, VALIDATION, ApiProblem
from connexportal.partner_api.views import ExternalIdPath

# 10,000 orders with addresses and a few lines each: well above DATA_UPLOAD_MAX_MEMORY_SIZE.
MAX_BODY_BYTES = 32 * 1024 * 1024

router = Router()
router.add_decorator(bulk_body(MAX_BODY_BYTES), mode="view")

ImportIdPath = Annotated[
    str,
    WithJsonSchema({"type": "string", "format": "uuid"}),
    Path(
        alias="id",
        description="The import's id, from the 202 answer that created it.",
        example="4f1c7a52-8a3e-4d55-9d0c-51c1e2f0b7aa",
    ),
]


@router.api_operation(**route("createOrderImport"), url_name="merchant-order-imports")
@idempotent
def order_import_create(
    request: HttpRequest,
    external_id: ExternalIdPath,
    body: Annotated[OrderImportCreate, JsonObjectBody(...)],
    response: HttpResponse,
) -> Status:
    try:
        merchant = api_services.merchant_get(partner=request.auth.partner, external_id=external_id)
    except api_services.MerchantNotFound as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from None
    try:
        services.connection_require(merchant=merchant, connection_id=body.connection_id)
        with translation.override("en"):
            checked = check_orders(body.orders, connection_id=body.connection_id)
            if checked.invalid:
                raise _invalid(checked)
            order_import = services.order_import_create(
                merchant=merchant,
                connection_id=body.connection_id,
                checked=checked,
                source=ImportSource.API,
                actor=Actor.from_request(request),
                start=True,
            )
    except services.NotFound:
        raise ApiProblem(
            NOT_FOUND, f"Merchant {external_id!r} has no Connex connection {body.connection_id}."
        ) from None
    except services.UpstreamError as exc:
        raise ApiProblem(CONNEX_UNAVAILABLE, exc.message, headers={"Retry-After": "30"}) from None
    url = request.build_absolute_uri(reverse("api:order-import", args=[order_import.pk]))
    response["Location"] = url
    return Status(202, OrderImportAccepted(id=str(order_import.pk), status=ImportStatus.QUEUED.value, status_url=url))


def _invalid(checked) -> ApiProblem:
    errors: dict[str, list[str]] = {}
    for order in checked.invalid:
        for column, message in order.errors:
            errors.setdefault(f"orders.{order.row - 1}.{column}", []).append(message)
    count, total = len(checked.invalid), len(checked.orders)
    return ApiProblem(
        VALIDATION,
        f"{count} of {total} orders {'is' if count == 1 else 'are'} invalid, so none was imported; see errors "
        "(orders.<index from 0>.<field>).",
        errors=errors,
    )


@router.api_operation(**route("getOrderImport"), url_name="order-import")
def order_import_get(request: HttpRequest, import_id: ImportIdPath, query: Query[OrderImportQuery]) -> OrderImportOut:
    order_import = _partner_import(request.auth.partner, import_id)
    if order_import.is_active:
        tasks.order_imports_resume_stale(merchant_id=order_import.merchant_id)
    page = page_of(request, services.failures(order_import), page=query.page, page_size=query.page_size)
    out = OrderImportOut(
        id=str(order_import.pk),
        status=order_import.status,
        connection_id=order_import.connection_id,
        total=order_import.total,
        created=order_import.created,
        already_existed=order_import.already_existed,
        failed=order_import.failed + order_import.skipped_invalid,
        cancelled=order_import.cancelled,
        remaining=order_import.remaining,
        error=order_import.error,
        created_at=order_import.created_at,
        started_at=order_import.started_at,
        finished_at=order_import.finished_at,
        failures=[
            OrderImportFailure(row=row.row_number, order_number=row.order_number, reason=row.reason)
            for row in page.items
        ],
        pagination=page.pagination,
        links=page.links,
    )
    return out


def _partner_import(partner, import_id: str) -> OrderImport:
    missing = ApiProblem(NOT_FOUND, f"You have no order import {import_id!r}.")
    try:
        pk = uuid.UUID(import_id)
    except ValueError:
        raise missing from None
    found = OrderImport.objects.filter(merchant__partner=partner, pk=pk).exclude(status=ImportStatus.DRAFT).first()
    if found is None:
        raise missing
    return found
