"""Partner API: order imports (POST /merchants/{external_id}/order-imports, GET /order-imports/{id}).

The orders are checked with the same rules as the portal's import page; any invalid
order refuses the whole request (422, errors per order and field), so a partner never
gets a half import by surprise. The import then runs as the same job as the page's.
"""

from __future__ import annotations

import math
import uuid
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import translation
from pydantic import ValidationError

from connexportal.activity.services import Actor
from connexportal.imports import services, tasks
from connexportal.imports.models import ImportSource, ImportStatus, OrderImport
from connexportal.imports.orders import check_orders
from connexportal.partner_api import idempotency
from connexportal.partner_api import services as api_services
from connexportal.partner_api.http import endpoint, json_response, parse_body
from connexportal.partner_api.order_import_schemas import (
    OrderImportCreate,
    OrderImportFailure,
    OrderImportOut,
    OrderImportQuery,
)
from connexportal.partner_api.problems import CONNEX_UNAVAILABLE, NOT_FOUND, VALIDATION, ApiProblem, validation_problem
from connexportal.partner_api.schemas import PageLinks, Pagination

# 10,000 orders with addresses and a few lines each: well above DATA_UPLOAD_MAX_MEMORY_SIZE.
MAX_BODY_BYTES = 32 * 1024 * 1024


def order_import_create(request: HttpRequest, partner, external_id: str) -> HttpResponse:
    body, data = parse_body(request, OrderImportCreate, max_bytes=MAX_BODY_BYTES)

    def create() -> idempotency.Outcome:
        try:
            merchant = api_services.merchant_get(partner=partner, external_id=external_id)
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
        return 202, {"id": str(order_import.pk), "status": ImportStatus.QUEUED.value, "status_url": url}

    key = idempotency.idempotency_key(request)
    if key is None:
        (status, answer), replayed = create(), False
    else:
        (status, answer), replayed = idempotency.run_once(
            partner_id=partner.pk, key=key, request_fingerprint=idempotency.fingerprint(request, data), action=create
        )
    response = JsonResponse(answer, status=status)
    response["Location"] = answer["status_url"]
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


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


def order_import_get(request: HttpRequest, partner, import_id: str) -> HttpResponse:
    params = {name: request.GET[name] for name in OrderImportQuery.model_fields if name in request.GET}
    try:
        query = OrderImportQuery.model_validate(params)
    except ValidationError as exc:
        raise validation_problem(exc, OrderImportQuery, detail="The query string is invalid; see errors.") from None
    order_import = _partner_import(partner, import_id)
    if order_import.is_active:
        tasks.order_imports_resume_stale(merchant_id=order_import.merchant_id)
    failures = services.failures(order_import)
    total = failures.count()
    total_pages = max(1, math.ceil(total / query.page_size))
    start = (query.page - 1) * query.page_size
    rows = list(failures[start : start + query.page_size]) if query.page <= total_pages else []

    def link(page: int) -> str:
        return request.build_absolute_uri(f"{request.path}?{urlencode({'page': page, 'page_size': query.page_size})}")

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
            OrderImportFailure(row=row.row_number, order_number=row.order_number, reason=row.reason) for row in rows
        ],
        pagination=Pagination(page=query.page, page_size=query.page_size, total_items=total, total_pages=total_pages),
        links=PageLinks(
            self=link(query.page),
            first=link(1),
            last=link(total_pages),
            prev=link(min(query.page - 1, total_pages)) if query.page > 1 else None,
            next=link(query.page + 1) if query.page < total_pages else None,
        ),
    )
    return json_response(out)


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


merchant_order_imports = endpoint(post=order_import_create)
order_import = endpoint(get=order_import_get)
