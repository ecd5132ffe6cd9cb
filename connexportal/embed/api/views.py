"""The partner API's endpoints: thin — parse, call a service, shape the answer."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from pydantic import MISSING, ValidationError

from connexportal.accounts.models import Merchant, Partner
from connexportal.activity.models import ActivityAction, ActivityEntry
from connexportal.activity.services import Actor
from connexportal.embed.api import idempotency, openapi, services
from connexportal.embed.api.http import endpoint, finish, json_response, parse_body, public
from connexportal.embed.api.problems import (
    MERCHANT_EXISTS,
    MERCHANT_INACTIVE,
    NOT_FOUND,
    VALIDATION,
    ApiProblem,
    problem_response,
    validation_problem,
)
from connexportal.embed.api.schemas import (
    ActivityActor,
    ActivityChange,
    ActivityEntryOut,
    ActivityListQuery,
    ActivityPage,
    ConnexAccountOut,
    EmbedSessionCreate,
    EmbedSessionOut,
    MerchantCreate,
    MerchantListQuery,
    MerchantOut,
    MerchantPage,
    MerchantUpdate,
    PageLinks,
    Pagination,
)


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


def _idempotent(
    request: HttpRequest, partner: Partner, data: dict[str, Any], action: Callable[[], idempotency.Outcome]
) -> JsonResponse:
    key = idempotency.idempotency_key(request)
    if key is None:
        (status, body), replayed = action(), False
    else:
        (status, body), replayed = idempotency.run_once(
            partner_id=partner.pk,
            key=key,
            request_fingerprint=idempotency.fingerprint(request, data),
            action=action,
        )
    response = JsonResponse(body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def merchant_list(request: HttpRequest, partner: Partner) -> HttpResponse:
    params = {name: request.GET[name] for name in MerchantListQuery.model_fields if name in request.GET}
    try:
        query = MerchantListQuery.model_validate(params)
    except ValidationError as exc:
        raise validation_problem(exc, MerchantListQuery, detail="The query string is invalid; see errors.") from None
    merchants = services.merchant_list(partner=partner)
    total = merchants.count()
    total_pages = max(1, math.ceil(total / query.page_size))
    start = (query.page - 1) * query.page_size
    # Past the last page there is nothing to fetch (and a huge page would overflow the database's OFFSET).
    items = list(merchants[start : start + query.page_size]) if query.page <= total_pages else []

    def link(page: int) -> str:
        return request.build_absolute_uri(f"{request.path}?{urlencode({'page': page, 'page_size': query.page_size})}")

    page = MerchantPage(
        items=[merchant_out(merchant) for merchant in items],
        pagination=Pagination(page=query.page, page_size=query.page_size, total_items=total, total_pages=total_pages),
        links=PageLinks(
            self=link(query.page),
            first=link(1),
            last=link(total_pages),
            prev=link(min(query.page - 1, total_pages)) if query.page > 1 else None,
            next=link(query.page + 1) if query.page < total_pages else None,
        ),
    )
    return json_response(page)


def merchant_create(request: HttpRequest, partner: Partner) -> HttpResponse:
    body, data = parse_body(request, MerchantCreate)

    def create() -> idempotency.Outcome:
        credentials = None
        if body.connex is not MISSING:
            credentials = services.Credentials(
                environment=body.connex.environment,
                username=body.connex.username,
                password=body.connex.password.get_secret_value(),
            )
        with service_errors():
            merchant = services.merchant_create(
                partner=partner,
                external_id=body.external_id,
                name=body.name,
                timezone_name=body.timezone,
                currency=body.currency,
                credentials=credentials,
                actor=Actor.from_request(request),
            )
        return 201, merchant_out(merchant).model_dump(mode="json")

    response = _idempotent(request, partner, data, create)
    response["Location"] = request.build_absolute_uri(reverse("api:merchant", args=[body.external_id]))
    return response


def merchant_get(request: HttpRequest, partner: Partner, external_id: str) -> HttpResponse:
    with service_errors():
        merchant = services.merchant_get(partner=partner, external_id=external_id)
    return json_response(merchant_out(merchant))


def merchant_update(request: HttpRequest, partner: Partner, external_id: str) -> HttpResponse:
    body, _data = parse_body(request, MerchantUpdate)
    changes = body.model_dump(exclude={"connex"})
    credential_changes = None
    if body.connex is not MISSING:
        credential_changes = {
            name: value.get_secret_value() if name == "password" else value
            for name, value in body.connex.model_dump().items()
        }
    with service_errors():
        merchant = services.merchant_update(
            partner=partner,
            external_id=external_id,
            changes=changes,
            credential_changes=credential_changes,
            actor=Actor.from_request(request),
        )
    return json_response(merchant_out(merchant))


def merchant_deactivate(request: HttpRequest, partner: Partner, external_id: str) -> HttpResponse:
    with service_errors():
        merchant = services.merchant_deactivate(
            partner=partner, external_id=external_id, actor=Actor.from_request(request)
        )
    return json_response(merchant_out(merchant))


def embed_session_create(request: HttpRequest, partner: Partner) -> HttpResponse:
    body, data = parse_body(request, EmbedSessionCreate)
    options = body.model_dump(exclude={"merchant_external_id"})

    def create() -> idempotency.Outcome:
        with service_errors():
            path, expires_at = services.embed_launch_create(
                partner=partner,
                external_id=body.merchant_external_id,
                user_email=options.get("user_email", ""),
                language=options.get("language", ""),
                ttl_seconds=options.get("ttl_seconds"),
            )
        session = EmbedSessionOut(url=request.build_absolute_uri(path), expires_at=expires_at)
        return 201, session.model_dump(mode="json")

    return _idempotent(request, partner, data, create)


def merchant_activity_list(request: HttpRequest, partner: Partner, external_id: str) -> HttpResponse:
    params = {name: request.GET[name] for name in ActivityListQuery.model_fields if name in request.GET}
    try:
        query = ActivityListQuery.model_validate(params)
    except ValidationError as exc:
        raise validation_problem(exc, ActivityListQuery, detail="The query string is invalid; see errors.") from None
    with service_errors():
        entries = services.merchant_activity_list(partner=partner, external_id=external_id)
    total = entries.count()
    total_pages = max(1, math.ceil(total / query.page_size))
    start = (query.page - 1) * query.page_size
    items = list(entries[start : start + query.page_size]) if query.page <= total_pages else []

    def link(page: int) -> str:
        return request.build_absolute_uri(f"{request.path}?{urlencode({'page': page, 'page_size': query.page_size})}")

    page = ActivityPage(
        items=[activity_entry_out(entry) for entry in items],
        pagination=Pagination(page=query.page, page_size=query.page_size, total_items=total, total_pages=total_pages),
        links=PageLinks(
            self=link(query.page),
            first=link(1),
            last=link(total_pages),
            prev=link(min(query.page - 1, total_pages)) if query.page > 1 else None,
            next=link(query.page + 1) if query.page < total_pages else None,
        ),
    )
    return json_response(page)


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


merchants = endpoint(get=merchant_list, post=merchant_create)
merchant = endpoint(get=merchant_get, patch=merchant_update)
merchant_deactivation = endpoint(post=merchant_deactivate)
merchant_activity = endpoint(get=merchant_activity_list)
embed_sessions = endpoint(post=embed_session_create)


@csrf_exempt
@public
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi.document(), json_dumps_params={"indent": 2})


@csrf_exempt
@public
def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "embed/api_docs.html", openapi.docs_context(request))


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> HttpResponse:
    detail = f"There is no {request.path} in the partner API; the endpoints are listed at {reverse('api:docs')}."
    return finish(problem_response(request, ApiProblem(NOT_FOUND, detail)), None)
